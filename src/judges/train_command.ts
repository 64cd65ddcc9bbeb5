/**
 * `judge-train`: train a classifier (or the TF-IDF baseline) on labelled rows, hold out a
 * prompt-grouped, label-stratified share of them, report on it, and save the judge
 * (`model.safetensors`, `vocabulary.json`, `config.json` with the held-out measurement) into
 * `<run>/judge`, ready for `--eval.judge classifier --eval.judgePath <run>/judge`.
 *
 * @module
 */
import { Effect } from "effect";
import type { ExperimentConfig } from "../config/mod.ts";
import {
  BEAVERTAILS_CATEGORIES,
  groupedHoldout,
  linearJudge,
  type LinearKind,
  saveLinearJudge,
  summariseLabelled,
  trainLinearJudge,
} from "../eval/mod.ts";
import { openJudge } from "../pipeline/mod.ts";
import { Progress } from "../train/mod.ts";
import { specFor } from "./cross_validate.ts";
import { describeData, judgeEntry, labelledRows, writeJudgeReport } from "./eval_command.ts";
import { isGraded, judgeRows } from "./measure.ts";
import { summaryLines } from "./report.ts";
import type { JudgeReport } from "./types.ts";

/** The folder inside the run where the trained judge goes. */
export const JUDGE_SUBDIR = "judge";

/**
 * Run `judge-train` with a resolved config into `runDir`; returns the summary lines printed.
 *
 * @example
 * ```ts
 * await Effect.runPromise(judgeTrain(cfg, "runs/judge-train-1").pipe(Effect.provide(Progress.silent)));
 * ```
 */
export function judgeTrain(cfg: ExperimentConfig, runDir: string) {
  return Effect.gen(function* () {
    const kind: LinearKind = cfg.judges.kind;
    const rows = yield* labelledRows(cfg);
    const labels = rows.map((r) => !r.isSafe);
    const split = groupedHoldout(rows.map((r) => r.prompt), labels, cfg.judges.holdout, cfg.seed);
    const train = split.train.map((i) => rows[i]!);
    const held = split.holdout.map((i) => rows[i]!);
    const spec = specFor(kind, cfg.judges.threshold, kind === "classifier");
    const progress = yield* Progress.current;
    yield* progress.start(`judge-train ${kind}`, 1);
    const t0 = performance.now();
    const model = trainLinearJudge(train, spec, {
      seed: cfg.seed,
      categories: BEAVERTAILS_CATEGORIES,
      onProgress: (p) => {
        const elapsed = (performance.now() - t0) / 1000;
        Effect.runSync(progress.start(`judge-train ${kind}: ${p.stage}`, p.total));
        Effect.runSync(progress.update({
          done: p.done,
          total: p.total,
          state: "fit",
          loss: Number.NaN,
          tokensPerSec: 0,
          etaSec: p.done > 0 ? (elapsed / p.done) * (p.total - p.done) : Number.NaN,
        }));
      },
    });
    yield* progress.finish();
    const dir = `${runDir}/${JUDGE_SUBDIR}`;
    const trainedOn = {
      files: summariseLabelled(rows).files,
      rows: train.length,
      harmful: train.filter((r) => !r.isSafe).length,
      seed: cfg.seed,
    };
    let report: JudgeReport | null = null;
    if (held.length > 0) {
      const verdicts = yield* judgeRows(linearJudge(model, kind), held, `judge-train held-out`);
      const data = `the held-out ${Math.round(100 * cfg.judges.holdout)}% of ` + describeData(rows);
      // Save first without a measurement to learn the card (version), then with it.
      yield* saveLinearJudge(dir, model, kind, { trainedOn });
      const judge = yield* openJudge({ kind, path: dir }, cfg);
      const entry = judgeEntry(
        judge.card!,
        isGraded(judge, verdicts),
        held,
        verdicts,
        data,
        "held-out split",
        cfg.seed,
        cfg.judges.examples,
      );
      yield* saveLinearJudge(dir, model, kind, { trainedOn, measured: entry.measurement });
      report = {
        schema: "lisa-judge-report/1",
        command: "judge-train",
        createdAt: new Date().toISOString(),
        data: summariseLabelled(held),
        protocol: `trained on ${train.length} rows; measured on ${held.length} held-out rows ` +
          `(${Math.round(100 * cfg.judges.holdout)}%, grouped by prompt, stratified by label, ` +
          `seed ${cfg.seed}) that training never saw`,
        folds: 0,
        seed: cfg.seed,
        judges: [entry],
        agreement: [],
        paired: [],
        notes: [
          "Harmful is the positive class. Intervals are 95%: Wilson for proportions, a seeded " +
          "percentile bootstrap (1000 resamples) for F1 and AUROC.",
        ],
      };
      yield* writeJudgeReport(runDir, report);
    } else {
      yield* saveLinearJudge(dir, model, kind, { trainedOn });
    }
    const sizes = `${kind}: trained on ${train.length} rows ` +
      `(${train.filter((r) => !r.isSafe).length} harmful), ${held.length} held out`;
    return [
      sizes,
      ...(report ? summaryLines(report) : ["no held-out rows (judges.holdout = 0): unmeasured"]),
      `judge: ${dir} (use --eval.judge ${kind} --eval.judgePath ${dir})`,
    ];
  });
}
