/**
 * The Alpaca prompt templates and the task instructions and targets of the Lisa reference,
 * byte for byte. The target follows `### Response:` directly; EOS is appended by the
 * tokenizer layer, not here.
 *
 * @module
 */
import { AGNEWS_CLASSES, type Example, type Provenance, SST2_LABELS } from "./types.ts";

/** Preamble of the template with an input. */
export const PREAMBLE_WITH_INPUT =
  "Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.";

/** Preamble of the template without an input. */
export const PREAMBLE_NO_INPUT =
  "Below is an instruction that describes a task. Write a response that appropriately completes the request.";

/** The response marker; the answer is the text after it. */
export const RESPONSE_MARKER = "### Response:";

/** SST-2 task instruction. */
export const SST2_INSTRUCTION =
  "Analyze the sentiment of the input, and respond only positive or negative";

/** AG News task instruction (the four class names on their own lines). */
export const AGNEWS_INSTRUCTION =
  `Categorize the news article given in the input into one of the 4 categories:\n\n${
    AGNEWS_CLASSES.join("\n")
  }\n`;

/** What GSM8K's `####` becomes in the target. */
export const GSM8K_ANSWER_PREFIX = "The final answer is: ";

/**
 * The prompt for an instruction and an optional input (empty input → the no-input template).
 *
 * @example
 * ```ts
 * renderPrompt("Say hi", "");
 * // "Below is an instruction that describes a task. ...\n\n### Instruction:\nSay hi\n\n### Response:"
 * ```
 */
export function renderPrompt(instruction: string, input: string): string {
  if (input === "") {
    return `${PREAMBLE_NO_INPUT}\n\n### Instruction:\n${instruction}\n\n${RESPONSE_MARKER}`;
  }
  return `${PREAMBLE_WITH_INPUT}\n\n### Instruction:\n${instruction}\n\n### Input:\n${input}\n\n${RESPONSE_MARKER}`;
}

/** The prompt of an example (Alpaca template, with or without input). */
export function formatPrompt(example: Pick<Example, "instruction" | "input">): string {
  return renderPrompt(example.instruction, example.input);
}

/** The target text of an example: its output, directly after the response marker (no EOS). */
export function formatTarget(example: Pick<Example, "output">): string {
  return example.output;
}

/** Normalised prompt text for overlap checks: lower case, whitespace collapsed, trimmed. */
export function normalisePrompt(example: Pick<Example, "instruction" | "input">): string {
  return `${example.instruction}\n${example.input}`.toLowerCase().replace(/\s+/g, " ").trim();
}

/** An SST-2 example from a sentence and a 0/1 label. */
export function sst2Example(sentence: string, label: 0 | 1, provenance: Provenance): Example {
  const name = SST2_LABELS[label];
  return { instruction: SST2_INSTRUCTION, input: sentence, output: name, label: name, provenance };
}

/** An AG News example from its text and a 0-based class (World, Sports, Business, Sci/Tech). */
export function agNewsExample(text: string, cls: 0 | 1 | 2 | 3, provenance: Provenance): Example {
  const name = AGNEWS_CLASSES[cls];
  return { instruction: AGNEWS_INSTRUCTION, input: text, output: name, label: name, provenance };
}

/** The gold number of a GSM8K answer: the text after `####`, commas removed, trimmed. */
export function gsm8kGold(answer: string): string | null {
  const at = answer.lastIndexOf("####");
  if (at < 0) return null;
  const gold = answer.slice(at + 4).replaceAll(",", "").trim();
  return gold === "" ? null : gold;
}

/** A GSM8K example: the question as instruction, no input, `####` → `The final answer is: `. */
export function gsm8kExample(question: string, answer: string, provenance: Provenance): Example {
  const gold = gsm8kGold(answer);
  const base = {
    instruction: question,
    input: "",
    output: answer.replaceAll("####", GSM8K_ANSWER_PREFIX),
    provenance,
  };
  return gold === null ? base : { ...base, label: gold };
}
