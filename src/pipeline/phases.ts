/**
 * The training phases of a run or a sweep cell, each resumable from what a previous attempt
 * left: the alignment stage (or the saved aligned model), and fine-tuning (or the saved
 * adapter) followed by each repair and the evaluation of every resulting model.
 *
 * @module
 */
import { Effect, type Scope } from "effect";
import type { Backend } from "../../backends/mod.ts";
import type { ExperimentConfig } from "../config/mod.ts";
import { countByKind } from "../data/mod.ts";
import type { Judge } from "../eval/mod.ts";
import { attemptIO, makeDir, writeJsonFile } from "../io/mod.ts";
import type { LoraAdapter } from "../lora/mod.ts";
import type { Params } from "../model/mod.ts";
import type { RepairName } from "../repair/mod.ts";
import { compositionLabel, type FinetuneMethodName, methodSpec } from "../train/mod.ts";
import { loadAdapterFor, loadAlignedModel } from "./assets.ts";
import { type Datasets, userData } from "./datasets.ts";
import type { PipelineError } from "./experiment.ts";
import { repairStage } from "./repair.ts";
import { stageLogSummary } from "./report.ts";
import {
  evalDir,
  evaluatePhase,
  isModelRow,
  isTrainSummary,
  type ModelRow,
  type TrainSummary,
} from "./rows.ts";
import { readRunRecord } from "./rundir.ts";
import { alignStage, finetuneStage, type LoadedLm } from "./stages.ts";

/**
 * Stages always continue what their folder holds: a stage folder exists only in a run being
 * resumed (a new run folder starts empty), and the loop starts afresh when the stage was
 * killed before its first checkpoint.
 */
const CONTINUE = true;

/**
 * The alignment stage in `dir` (`align/` for training, `aligned/` for the merged model), or
 * the saved aligned model when the stage already finished there. The aligned weights belong
 * to the caller's scope.
 */
export function alignPhase(
  cfg: ExperimentConfig,
  lm: LoadedLm,
  ds: Datasets,
  dir: string,
): Effect.Effect<
  { aligned: Params; train: TrainSummary },
  PipelineError,
  Backend | Scope.Scope
> {
  return Effect.gen(function* () {
    const alignedDir = `${dir}/aligned`;
    const stageDir = `${dir}/align`;
    const done = yield* readRunRecord(`${stageDir}/done.json`, "stage summary", isTrainSummary);
    if (done) return { aligned: yield* loadAlignedModel(alignedDir), train: done };
    const r = yield* alignStage(
      cfg,
      lm,
      { alignment: ds.alignment, harmful: ds.alignmentHarmful },
      stageDir,
      alignedDir,
      CONTINUE,
    );
    const logs = yield* attemptIO(
      stageDir,
      "read the training log of",
      () => stageLogSummary(stageDir),
    );
    const train: TrainSummary = {
      seconds: r.stage.seconds,
      steps: r.stage.steps,
      meanLoss: logs.meanLoss,
      drift: [],
    };
    yield* writeJsonFile(`${stageDir}/done.json`, train);
    return { aligned: r.aligned, train };
  });
}

/**
 * The fine-tuned adapter of method `name` in `dir`: trained now (resuming an interrupted
 * stage from its checkpoint, recording the user data's provenance and the stage summary in
 * `train/done.json`), or the one a finished stage saved. Owned by the caller's scope.
 */
function finetuned(
  cfg: ExperimentConfig,
  lm: LoadedLm,
  ds: Datasets,
  frozen: Params,
  name: FinetuneMethodName,
  dir: string,
  frozenDir: string,
): Effect.Effect<
  { adapter: LoraAdapter; train: TrainSummary },
  PipelineError,
  Backend | Scope.Scope
> {
  return Effect.gen(function* () {
    const trainDir = `${dir}/train`;
    const done = yield* readRunRecord(`${trainDir}/done.json`, "stage summary", isTrainSummary);
    if (done) return { adapter: yield* loadAdapterFor(`${dir}/adapter`, lm.config), train: done };
    const mixture = yield* userData(cfg, ds, name);
    yield* makeDir(dir);
    yield* writeJsonFile(`${dir}/user-data.json`, {
      poison: mixture.poison,
      normal: mixture.normal,
      counts: countByKind(mixture.examples),
      provenance: mixture.examples.map((e) => e.provenance),
    });
    const { adapter, stage } = yield* finetuneStage(
      cfg,
      lm,
      frozen,
      name,
      { alignment: ds.alignment, user: mixture.examples },
      trainDir,
      `${dir}/adapter`,
      CONTINUE,
      frozenDir,
    );
    const logs = yield* attemptIO(
      trainDir,
      "read the training log of",
      () => stageLogSummary(trainDir),
    );
    const train: TrainSummary = {
      seconds: stage.seconds,
      steps: stage.steps,
      meanLoss: logs.meanLoss,
      drift: logs.drift,
    };
    yield* writeJsonFile(`${trainDir}/done.json`, train);
    return { adapter, train };
  });
}

/** Where the model of `dir`'s fine-tuning with repair `r` is evaluated. */
export function repairDir(dir: string, r: RepairName): string {
  return r === "none" ? dir : `${dir}/repair-${r}`;
}

/**
 * Fine-tune one method from `frozen` weights (saved in `frozenDir`, which the adapters name as
 * their base) in `dir`, then apply each repair of `repairs` to the fine-tuned adapter and
 * evaluate each result: `none` in `dir` itself, a repair in `dir/repair-<name>`. One row per
 * repair, in order; recorded rows are reused, and a finished fine-tuning is loaded rather than
 * repeated. Every adapter is freed when the phase ends.
 */
export function finetunePhase(
  cfg: ExperimentConfig,
  lm: LoadedLm,
  ds: Datasets,
  judge: Judge,
  frozen: Params,
  name: FinetuneMethodName,
  dir: string,
  frozenDir: string,
  repairs: readonly RepairName[] = [cfg.repair.method],
): Effect.Effect<ModelRow[], PipelineError, Backend> {
  return Effect.scoped(Effect.gen(function* () {
    const saved = yield* Effect.forEach(
      repairs,
      (r) =>
        readRunRecord(
          `${evalDir(cfg, repairDir(dir, r))}/metrics.json`,
          "model metrics record",
          isModelRow,
        ),
    );
    if (saved.every((x) => x !== null)) return saved;
    const { adapter, train } = yield* finetuned(cfg, lm, ds, frozen, name, dir, frozenDir);
    const alignment = methodSpec(name).needsAlignedModel && cfg.alignment.enabled
      ? cfg.alignment.method
      : null;
    const rows: ModelRow[] = [];
    for (const [i, r] of repairs.entries()) {
      const row = saved[i] ?? (yield* Effect.scoped(Effect.gen(function* () {
        const out = repairDir(dir, r);
        const repaired = r === "none" ? { adapter, seconds: 0 } : yield* repairStage(
          cfg,
          lm,
          { adapter, aligned: frozen, harmful: ds.alignmentHarmful },
          r,
          out,
          frozenDir,
        );
        const label = compositionLabel(alignment, name, r);
        const model = { ...lm, label, params: frozen, adapters: [repaired.adapter] };
        return yield* evaluatePhase({
          cfg,
          model,
          ds,
          judge,
          dir: out,
          method: name,
          alignment,
          repair: r,
          repairSeconds: repaired.seconds,
          train,
          reference: lm,
        });
      })));
      rows.push(row);
    }
    return rows;
  }));
}
