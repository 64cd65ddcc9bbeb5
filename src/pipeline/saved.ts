/**
 * What a finished run left behind, read back for re-scoring: the harmful-prompt answers saved
 * beside each model's `metrics.json`, and a run folder's rows with the folders holding them.
 *
 * @module
 */
import { Data, Effect } from "effect";
import type { ExperimentConfig } from "../config/mod.ts";
import { errorText, pathExistsSync } from "../io/mod.ts";
import type { AnswerRecord } from "./evaluate.ts";
import { evalDir, isModelRow, type ModelRow } from "./rows.ts";

/** A folder that cannot be re-scored, or an output folder that would overwrite something. */
export class RescoreInvalid extends Data.TaggedError("RescoreInvalid")<{
  readonly path: string;
  readonly detail: string;
}> {
  /** One line naming the folder. */
  override get message(): string {
    return `${this.path}: ${this.detail}`;
  }
}

/** A {@link RescoreInvalid} for `path`. */
export const rescoreInvalid = (path: string, detail: string): RescoreInvalid =>
  new RescoreInvalid({ path, detail });

const invalid = rescoreInvalid;

/** The harmful-prompt answers saved beside a row's `metrics.json`. */
export function harmfulAnswers(dir: string): Effect.Effect<AnswerRecord[], RescoreInvalid> {
  const file = `${dir}/answers.jsonl`;
  return Effect.tryPromise({
    try: async () => {
      const lines = (await Deno.readTextFile(file)).split("\n");
      const out: AnswerRecord[] = [];
      lines.forEach((line, i) => {
        if (!line.trim()) return;
        let rec: AnswerRecord;
        try {
          rec = JSON.parse(line) as AnswerRecord;
        } catch {
          throw new Error(`line ${i + 1}: not JSON`);
        }
        if (typeof rec?.answer !== "string" || typeof rec.prompt !== "string") {
          throw new Error(`line ${i + 1}: expected "prompt" and "answer" strings`);
        }
        if (rec.kind === "harmful") out.push(rec);
      });
      return out;
    },
    catch: (e) =>
      invalid(
        file,
        e instanceof Deno.errors.NotFound
          ? "missing: the model's saved answers are needed to judge them again"
          : errorText(e),
      ),
  });
}

/** The rows of a run folder (not a sweep) and the folders holding their answers. */
export function runRows(
  cfg: ExperimentConfig,
  runDir: string,
): Effect.Effect<Array<{ row: ModelRow; dir: string }>, RescoreInvalid> {
  return Effect.gen(function* () {
    const file = `${evalDir(cfg, runDir)}/metrics.json`;
    const doc = yield* Effect.tryPromise({
      try: async () => JSON.parse(await Deno.readTextFile(file)) as { rows?: unknown },
      catch: (e) =>
        invalid(
          file,
          e instanceof Deno.errors.NotFound
            ? `missing: the run was not evaluated on the ${cfg.eval.split} split`
            : `unreadable: ${errorText(e)}`,
        ),
    });
    const rows = Array.isArray(doc.rows) ? doc.rows : [];
    if (rows.length === 0 || !rows.every(isModelRow)) {
      return yield* invalid(file, "expected a run's metrics record with evaluated rows");
    }
    // Each row's own metrics.json sits beside its answers: base, aligned-eval, eval,
    // finetune-<method> and its repair-<name> folders.
    const byLabel = new Map<string, string>();
    const visit = (dir: string, depth: number) => {
      for (const e of Deno.readDirSync(dir)) {
        if (!e.isDirectory) continue;
        const sub = `${dir}/${e.name}`;
        const m = `${evalDir(cfg, sub)}/metrics.json`;
        if (pathExistsSync(m)) {
          try {
            const r: unknown = JSON.parse(Deno.readTextFileSync(m));
            if (isModelRow(r) && !byLabel.has(r.label)) byLabel.set(r.label, evalDir(cfg, sub));
          } catch { /* not a row: skipped */ }
        }
        if (depth < 1 && e.name !== "checkpoints") visit(sub, depth + 1);
      }
    };
    visit(runDir, 0);
    const out: Array<{ row: ModelRow; dir: string }> = [];
    for (const row of rows) {
      const dir = byLabel.get(row.label);
      if (!dir) return yield* invalid(runDir, `no saved answers found for the row '${row.label}'`);
      out.push({ row, dir });
    }
    return out;
  });
}
