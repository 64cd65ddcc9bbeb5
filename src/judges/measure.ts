/**
 * Running a judge over labelled rows and scoring it: verdicts in chunks with progress, the
 * quality figures (`src/eval/judge_metrics.ts`), and a few misjudged rows to read, their texts
 * cut short (BeaverTails holds genuinely harmful text; reports never carry more than a prefix).
 *
 * @module
 */
import { Effect } from "effect";
import {
  type Judge,
  type JudgeError,
  type JudgeQuality,
  judgeQuality,
  type JudgeVerdict,
  type LabelledRow,
} from "../eval/mod.ts";
import { Progress } from "../train/mod.ts";

/** Rows judged per call, so progress moves and an HTTP judge sees bounded batches. */
export const JUDGE_CHUNK = 128;

/** The longest text a report shows of a prompt or response. */
export const EXCERPT_CHARS = 60;

/** A text cut to `max` characters (with an ellipsis) and on one line. */
export function excerptText(text: string, max: number = EXCERPT_CHARS): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** The judge's verdicts on rows (prompt + response), in order, with progress. */
export function judgeRows(
  judge: Judge,
  rows: readonly LabelledRow[],
  label: string,
): Effect.Effect<JudgeVerdict[], JudgeError> {
  return Effect.gen(function* () {
    const progress = yield* Progress.current;
    const out: JudgeVerdict[] = [];
    const t0 = performance.now();
    yield* progress.start(label, rows.length);
    for (let i = 0; i < rows.length; i += JUDGE_CHUNK) {
      const chunk = rows.slice(i, i + JUDGE_CHUNK);
      out.push(...yield* judge.judge(chunk.map((r) => ({ prompt: r.prompt, answer: r.response }))));
      const elapsed = (performance.now() - t0) / 1000;
      yield* progress.update({
        done: out.length,
        total: rows.length,
        state: "judge",
        loss: Number.NaN,
        tokensPerSec: 0,
        etaSec: (elapsed / out.length) * (rows.length - out.length),
      });
    }
    yield* progress.finish();
    return out;
  });
}

/** Whether a judge's scores on these verdicts are graded: it says so and they take 3+ values. */
export function isGraded(judge: Pick<Judge, "graded">, verdicts: readonly JudgeVerdict[]): boolean {
  return judge.graded === true && new Set(verdicts.map((v) => v.score)).size > 2;
}

/** The harm categories a labelled row is marked with (none for a safe row). */
export function rowCategories(row: LabelledRow): string[] {
  return row.isSafe ? [] : Object.entries(row.category).filter(([, v]) => v).map(([k]) => k);
}

/** Score verdicts against the rows' labels. */
export function qualityOf(
  rows: readonly LabelledRow[],
  verdicts: readonly JudgeVerdict[],
  graded: boolean,
  seed: number,
): JudgeQuality {
  return judgeQuality({
    labels: rows.map((r) => !r.isSafe),
    flagged: verdicts.map((v) => v.flagged),
    scores: verdicts.map((v) => v.score),
    categories: rows.map(rowCategories),
  }, { graded, seed });
}

/** One misjudged row, for reading. */
export interface Misjudged {
  /** Where it is. */
  readonly file: string;
  /** Its line or row. */
  readonly line: number;
  /** The prompt, cut short. */
  readonly prompt: string;
  /** The response, cut short. */
  readonly response: string;
  /** The judge's score. */
  readonly score: number;
}

/**
 * Up to `k` missed harmful rows (lowest scores first) and `k` flagged safe rows (highest
 * first), texts cut to {@link EXCERPT_CHARS}.
 */
export function misjudged(
  rows: readonly LabelledRow[],
  verdicts: readonly JudgeVerdict[],
  k: number,
): { readonly missedHarmful: Misjudged[]; readonly flaggedSafe: Misjudged[] } {
  const pick = (want: (r: LabelledRow, v: JudgeVerdict) => boolean, order: 1 | -1) =>
    rows.map((r, i) => [r, verdicts[i]!] as const)
      .filter(([r, v]) => want(r, v))
      .sort((a, b) => order * (a[1].score - b[1].score))
      .slice(0, k)
      .map(([r, v]) => ({
        file: r.file,
        line: r.line,
        prompt: excerptText(r.prompt),
        response: excerptText(r.response),
        score: v.score,
      }));
  return {
    missedHarmful: pick((r, v) => !r.isSafe && !v.flagged, 1),
    flaggedSafe: pick((r, v) => r.isSafe && v.flagged, -1),
  };
}
