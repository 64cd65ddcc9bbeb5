/**
 * Optional chat-template rendering from a model's `tokenizer_config.json` (Jinja, rendered by
 * `@huggingface/jinja`). The Alpaca template stays the default; this is for models that ship a
 * chat template.
 *
 * @module
 */
import { Template } from "@huggingface/jinja";
import { DataInvalid } from "./errors.ts";
import type { Example } from "./types.ts";

/** One chat message. */
export interface ChatMessage {
  /** Who speaks. */
  readonly role: "system" | "user" | "assistant";
  /** What is said. */
  readonly content: string;
}

/** The parts of a `tokenizer_config.json` a chat template needs. */
export interface ChatTemplate {
  /** The Jinja source. */
  readonly template: string;
  /** Text of the BOS token (empty when unknown). */
  readonly bosToken: string;
  /** Text of the EOS token (empty when unknown). */
  readonly eosToken: string;
}

function tokenText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value !== null && typeof value === "object" && "content" in value) {
    const c = (value as { content: unknown }).content;
    if (typeof c === "string") return c;
  }
  return "";
}

/**
 * Read the chat template out of a parsed `tokenizer_config.json` (a string, or a list of named
 * templates of which `default` is taken). `file` names the source in errors.
 */
export function chatTemplateFrom(config: unknown, file = "tokenizer_config.json"): ChatTemplate {
  const fail = (found: string) =>
    new DataInvalid({
      file,
      line: 0,
      field: "chat_template",
      expected: "a Jinja template string",
      found,
    });
  if (config === null || typeof config !== "object") throw fail(typeof config);
  const raw = (config as Record<string, unknown>).chat_template;
  let template: string | undefined;
  if (typeof raw === "string") template = raw;
  else if (Array.isArray(raw)) {
    const named = raw as { name?: unknown; template?: unknown }[];
    const pick = named.find((t) => t.name === "default") ?? named[0];
    if (pick && typeof pick.template === "string") template = pick.template;
  }
  if (template === undefined) {
    throw fail(raw === undefined ? "nothing (field missing)" : typeof raw);
  }
  const c = config as Record<string, unknown>;
  return { template, bosToken: tokenText(c.bos_token), eosToken: tokenText(c.eos_token) };
}

/** The chat messages of an example: the user turn (instruction, then input on a new line). */
export function exampleMessages(example: Pick<Example, "instruction" | "input">): ChatMessage[] {
  const content = example.input === ""
    ? example.instruction
    : `${example.instruction}\n${example.input}`;
  return [{ role: "user", content }];
}

/**
 * Render messages with a chat template; `addGenerationPrompt` appends the assistant header so
 * the model's answer follows.
 *
 * @example
 * ```ts
 * const t = chatTemplateFrom({ chat_template: "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}" });
 * renderChat(t, [{ role: "user", content: "hi" }]); // "<user>hi"
 * ```
 */
export function renderChat(
  template: ChatTemplate,
  messages: readonly ChatMessage[],
  addGenerationPrompt = true,
): string {
  return new Template(template.template).render({
    messages: messages.map((m) => ({ role: m.role, content: m.content })),
    bos_token: template.bosToken,
    eos_token: template.eosToken,
    add_generation_prompt: addGenerationPrompt,
  });
}

/** The chat-template prompt of an example (user turn plus the generation prompt). */
export function formatChatPrompt(
  template: ChatTemplate,
  example: Pick<Example, "instruction" | "input">,
): string {
  return renderChat(template, exampleMessages(example), true);
}
