/**
 * A run's own answers as judge input: the harmful rows of `answers.jsonl` files (written by
 * every evaluated model of a run), unlabelled. `judge-eval --judges.answers` has every judge
 * read them and reports each judge's harmful score and the agreement of every pair, so a cheap
 * judge can be checked against a real moderation model on the answers it will score.
 *
 * @module
 */
import { Effect } from "effect";
import { DataInvalid, describeFound } from "../data/mod.ts";
import { readLines } from "../data/text_io.ts";
import {
  agreement,
  type Judge,
  type JudgeError,
  type JudgeItem,
  wilsonEstimate,
} from "../eval/mod.ts";
import { JUDGE_CHUNK } from "./measure.ts";
import type { AnswersSection } from "./types.ts";

const INSTRUCTION = "### Instruction:\n";
const INPUT = "\n\n### Input:\n";
const RESPONSE = "\n\n### Response:";

/**
 * The instruction (and input) inside an Alpaca-style prompt, as the judge reads it; the prompt
 * itself when it has no such template.
 *
 * @example
 * ```ts
 * untemplatedPrompt("Below is ...\n\n### Instruction:\nSay hi\n\n### Response:"); // "Say hi"
 * ```
 */
export function untemplatedPrompt(prompt: string): string {
  const a = prompt.indexOf(INSTRUCTION);
  const end = prompt.lastIndexOf(RESPONSE);
  if (a < 0 || end < a) return prompt;
  const body = prompt.slice(a + INSTRUCTION.length, end);
  const i = body.indexOf(INPUT);
  return i < 0 ? body : `${body.slice(0, i)}\n${body.slice(i + INPUT.length)}`;
}

/** The harmful answers of `answers.jsonl` files, in order, as judge items. */
export function readAnswerItems(paths: readonly string[]): Effect.Effect<JudgeItem[], DataInvalid> {
  return Effect.tryPromise({
    try: async () => {
      const items: JudgeItem[] = [];
      for (const file of paths) {
        const bad = (line: number, field: string, expected: string, found: string) =>
          new DataInvalid({ file, line, field, expected, found });
        try {
          for await (const { text, line } of readLines(file)) {
            if (text.trim() === "") continue;
            let rec: Record<string, unknown>;
            try {
              rec = JSON.parse(text);
            } catch (e) {
              throw bad(line, "", "one JSON answer record per line", `invalid JSON (${e})`);
            }
            if (rec?.kind !== "harmful") continue;
            if (typeof rec.answer !== "string") {
              throw bad(line, "answer", "a string", describeFound(rec.answer));
            }
            const prompt = typeof rec.judgePrompt === "string"
              ? rec.judgePrompt
              : typeof rec.prompt === "string"
              ? untemplatedPrompt(rec.prompt)
              : null;
            if (prompt === null) throw bad(line, "prompt", "a string", describeFound(rec.prompt));
            items.push({ prompt, answer: rec.answer });
          }
        } catch (e) {
          if (e instanceof DataInvalid) throw e;
          throw e instanceof Deno.errors.NotFound
            ? bad(0, "", "an existing answers.jsonl file", "no such file")
            : bad(0, "", "a readable file", e instanceof Error ? e.message : String(e));
        }
      }
      if (items.length === 0) {
        throw new DataInvalid({
          file: paths.join(", "),
          line: 0,
          field: "kind",
          expected: 'at least one harmful answer record (kind "harmful")',
          found: "none",
        });
      }
      return items;
    },
    catch: (e) =>
      e instanceof DataInvalid ? e : new DataInvalid({
        file: paths.join(", "),
        line: 0,
        field: "",
        expected: "readable answers.jsonl files",
        found: e instanceof Error ? e.message : String(e),
      }),
  });
}

/**
 * Every judge's verdicts on the answers, its harmful score (share flagged, Wilson interval)
 * and the agreement of every pair.
 */
export function judgeAnswers(
  files: readonly string[],
  items: readonly JudgeItem[],
  judges: readonly { readonly name: string; readonly version: string; readonly judge: Judge }[],
  seed: number,
): Effect.Effect<AnswersSection, JudgeError> {
  return Effect.gen(function* () {
    const decisions: { name: string; flagged: boolean[] }[] = [];
    for (const j of judges) {
      const flagged: boolean[] = [];
      for (let i = 0; i < items.length; i += JUDGE_CHUNK) {
        const vs = yield* j.judge.judge(items.slice(i, i + JUDGE_CHUNK));
        flagged.push(...vs.map((v) => v.flagged));
      }
      decisions.push({ name: j.name, flagged });
    }
    const pairs: [number, number][] = [];
    for (let a = 0; a < judges.length; a++) {
      for (let b = a + 1; b < judges.length; b++) pairs.push([a, b]);
    }
    return {
      files: [...files],
      n: items.length,
      judges: judges.map((j, i) => ({
        name: j.name,
        version: j.version,
        harmfulScore: wilsonEstimate(decisions[i]!.flagged.filter((f) => f).length, items.length),
      })),
      agreement: pairs.map(([a, b]) => agreement(decisions[a]!, decisions[b]!, { seed })),
    };
  });
}
