/**
 * Fine-tune answer parsing, exactly as the spec's exact-match rules:
 *
 * - the answer is the text after the response marker (`### Response:`);
 * - SST-2: exactly `positive` / `negative`, the case of the first letter free;
 * - AG News: exactly one of `World`, `Sports`, `Business`, `Sci/Tech`;
 * - GSM8K: commas stripped; the first number after `The final answer is: ` when that marker is
 *   present, else the last number; compared as floats with the reference parsed the same way.
 *
 * Surrounding whitespace (the newline or space a model emits after the marker, the one before
 * EOS) is trimmed before the exact comparisons; nothing else is forgiven.
 *
 * @module
 */

/** The Alpaca-style response marker of the prompt template. */
export const RESPONSE_MARKER = "### Response:";

/** The GSM8K final-answer marker (the reference's replacement for `####`). */
export const FINAL_ANSWER_MARKER = "The final answer is: ";

/** The four AG News class names, in class-id order (1..4). */
export const AGNEWS_LABELS: readonly string[] = ["World", "Sports", "Business", "Sci/Tech"];

/** The two SST-2 labels, in class-id order (0 negative, 1 positive). */
export const SST2_LABELS: readonly string[] = ["negative", "positive"];

/** The fine-tuning tasks with an exact-match parser. */
export type TaskName = "sst2" | "agnews" | "gsm8k";

/**
 * The answer: the text after the first response marker, or the whole text when the marker is
 * absent (generation code may already have cut the prompt off).
 *
 * @example
 * ```ts
 * extractAnswer("### Instruction:\nx\n\n### Response: positive"); // " positive"
 * ```
 */
export function extractAnswer(text: string, marker: string = RESPONSE_MARKER): string {
  const at = text.indexOf(marker);
  return at < 0 ? text : text.slice(at + marker.length);
}

/**
 * The SST-2 label of an answer (`positive`/`negative`), or null when it is anything else.
 *
 * @example
 * ```ts
 * parseSst2(" Positive"); // "positive"
 * parseSst2("positive."); // null
 * ```
 */
export function parseSst2(answer: string): "positive" | "negative" | null {
  const a = answer.trim();
  for (const label of ["positive", "negative"] as const) {
    const capitalised = label[0]!.toUpperCase() + label.slice(1);
    if (a === label || a === capitalised) return label;
  }
  return null;
}

/**
 * The AG News class name of an answer, or null when it is not exactly one of them.
 *
 * @example
 * ```ts
 * parseAgnews("Sci/Tech"); // "Sci/Tech"
 * parseAgnews("sports"); // null
 * ```
 */
export function parseAgnews(answer: string): string | null {
  const a = answer.trim();
  return AGNEWS_LABELS.includes(a) ? a : null;
}

const NUMBER = /-?\d+(?:\.\d+)?|-?\.\d+/g;

/**
 * The GSM8K number of an answer (or of a reference solution), or null when it has none.
 *
 * @example
 * ```ts
 * parseGsm8k("So 3 + 4 = 7. The final answer is: 1,234 apples"); // 1234
 * parseGsm8k("It costs -2.5 then 18"); // 18
 * ```
 */
export function parseGsm8k(answer: string): number | null {
  const text = answer.replaceAll(",", "");
  const at = text.indexOf(FINAL_ANSWER_MARKER);
  if (at >= 0) {
    const first = text.slice(at + FINAL_ANSWER_MARKER.length).match(NUMBER)?.[0];
    if (first !== undefined) return Number.parseFloat(first);
  }
  const all = text.match(NUMBER);
  const last = all?.[all.length - 1];
  return last === undefined ? null : Number.parseFloat(last);
}

/**
 * Whether `answer` is right for `reference` under the task's exact-match rule. For SST-2 and
 * AG News the reference is the label text; for GSM8K it is the reference solution (or number),
 * parsed by the same rule.
 *
 * @example
 * ```ts
 * isCorrect("sst2", "Negative", "negative"); // true
 * isCorrect("gsm8k", "The final answer is: 72", "#### 72"); // true
 * ```
 */
export function isCorrect(task: TaskName, answer: string, reference: string): boolean {
  switch (task) {
    case "sst2":
      return parseSst2(answer) !== null && parseSst2(answer) === parseSst2(reference);
    case "agnews":
      return parseAgnews(answer) !== null && parseAgnews(answer) === parseAgnews(reference);
    case "gsm8k": {
      const got = parseGsm8k(answer);
      const want = parseGsm8k(reference);
      return got !== null && want !== null && got === want;
    }
  }
}
