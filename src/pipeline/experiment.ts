/**
 * The whole experiment as one Effect: check every input → load the model (scoped) → align →
 * fine-tune per method → repair → evaluate every model → metrics and report. Each finished phase leaves
 * a `metrics.json`, so `--resume` skips what is done and continues a stage from its last
 * checkpoint. Every tensor (the base model, the aligned model, adapters, optimizer state,
 * anchors) belongs to a scope, so a failure or an interruption anywhere frees them all.
 *
 * @module
 */
import { Effect, type Scope } from "effect";
import type { Backend } from "../../backends/mod.ts";
import type { ExperimentConfig } from "../config/mod.ts";
import type { Judge, JudgeError } from "../eval/mod.ts";
import { attemptIO, type IOFailed, makeDir, writeJsonFile } from "../io/mod.ts";
import type { Params } from "../model/mod.ts";
import type { RepairFailed } from "../repair/mod.ts";
import { type ReportWriteFailed, writeReport } from "../report/mod.ts";
import { methodSpec, type TrainError } from "../train/mod.ts";
import { type AssetInvalid, modelDir } from "./assets.ts";
import type { ModelUnderTest } from "./evaluate.ts";
import { alignPhase, finetunePhase } from "./phases.ts";
import { type Prepared, type PrepareError, prepareExperiment } from "./prepare.ts";
import { experimentReport } from "./report.ts";
import { evalDir, evaluatePhase, type ModelRow, NO_TRAIN, type TrainSummary } from "./rows.ts";
import { inputFingerprint } from "./fingerprint.ts";
import type { Datasets } from "./datasets.ts";
import { runPhasesOf } from "./phase_plan.ts";
import {
  createRunDir,
  recordOrCheckInputs,
  type RunDirInvalid,
  type RunDirPlan,
} from "./rundir.ts";

/** What `run` produces. */
export interface ExperimentResult {
  /** The run folder. */
  readonly runDir: string;
  /** One row per evaluated model, in table order. */
  readonly rows: readonly ModelRow[];
  /** Dataset sizes (and skipped rows per file). */
  readonly data: Readonly<Record<string, unknown>>;
}

/** The commands that drive the pipeline. */
export type PipelineCommand = "run" | "align" | "finetune" | "eval";

/** Every way the pipeline can fail. */
export type PipelineError =
  | PrepareError
  | TrainError
  | JudgeError
  | AssetInvalid
  | RunDirInvalid
  | ReportWriteFailed
  | RepairFailed
  | IOFailed;

/**
 * Run the pipeline in `runDir` for `command`:
 * - `run`: evaluate base, align (unless every method is na-sft or alignment is off), evaluate
 *   aligned, then fine-tune each method of `method.compare` (or `method.name`), apply
 *   `repair.method` to it, and evaluate the result;
 * - `align`: the alignment stage only (saves `aligned/`);
 * - `finetune`: the fine-tuning stage on `model.path` taken as the aligned model;
 * - `eval`: evaluate `model.path` (with `eval.adapterPath` if set).
 *
 * Every input is checked first ({@link prepareExperiment}): a bad data file, method option,
 * model or judge fails before anything trains. Given a {@link RunDirPlan} (from
 * {@link planRunDir}), the run folder is made (or an old run replaced) only after those checks
 * pass, so a run refused for its inputs leaves nothing behind. The checksums of the data and
 * model are recorded in the folder's first run and checked when it continues. Requires a
 * {@link Backend}; progress goes to a `Progress` layer when one is provided.
 *
 * @example
 * ```ts
 * const config = yield* resolveConfig({ values: { method: { compare: ["sft", "lisa"] } } });
 * const result = yield* runPipeline(config, "runs/mine", "run").pipe(Effect.provide(Backend.auto));
 * ```
 */
export function runPipeline(
  cfg: ExperimentConfig,
  target: string | RunDirPlan,
  command: PipelineCommand,
): Effect.Effect<ExperimentResult, PipelineError, Backend> {
  return Effect.gen(function* () {
    const rows: ModelRow[] = [];
    const { dataSummary, judgeCard, runDir } = yield* Effect.scoped(Effect.gen(function* () {
      const prep = yield* prepareExperiment(cfg, command);
      const runDir = yield* enterRunDir(cfg, target, prep.ds, command);
      yield* runPhases(cfg, prep, runDir, command, rows);
      return { dataSummary: prep.dataSummary, judgeCard: prep.judge?.card, runDir };
    }));
    const result: ExperimentResult = { runDir, rows, data: dataSummary };
    const out = evalDir(cfg, runDir);
    yield* makeDir(out);
    yield* writeJsonFile(`${out}/metrics.json`, result);
    if (rows.length) {
      const input = yield* attemptIO(
        runDir,
        "read the training logs of",
        () => experimentReport(cfg, runDir, rows, judgeCard),
      );
      yield* writeReport(out, input);
    }
    return result;
  });
}

/**
 * After the inputs passed their checks: make the planned run folder (or take the one given)
 * and record, or check, the checksums of what the run trains on (see
 * {@link inputFingerprint}: `ds` null for a sweep).
 */
export function enterRunDir(
  cfg: ExperimentConfig,
  target: string | RunDirPlan,
  ds: Datasets | null,
  command: string,
): Effect.Effect<string, RunDirInvalid | IOFailed> {
  return Effect.gen(function* () {
    const runDir = typeof target === "string" ? target : yield* createRunDir(cfg, target);
    yield* recordOrCheckInputs(runDir, yield* inputFingerprint(cfg, ds, command));
    return runDir;
  });
}

/**
 * One phase of `run` (see `runPhasesOf`) in `runDir` (already made), on its own: every input
 * checked as for the whole run, the aligned model read from `aligned/` when the phase needs it,
 * the phase's records written where a serial run writes them. A later {@link runPipeline} in
 * the same folder reuses them.
 */
export function runPhase(
  cfg: ExperimentConfig,
  runDir: string,
  phase: string,
): Effect.Effect<void, PipelineError, Backend> {
  return Effect.scoped(Effect.gen(function* () {
    const prep = yield* prepareExperiment(cfg, "run");
    yield* runPhases(cfg, prep, runDir, "run", [], phase);
  }));
}

function runPhases(
  cfg: ExperimentConfig,
  prep: Prepared,
  runDir: string,
  command: PipelineCommand,
  rows: ModelRow[],
  only?: string,
): Effect.Effect<void, PipelineError, Backend | Scope.Scope> {
  return Effect.gen(function* () {
    const { lm, ds, methods } = prep;
    const wanted = (name: string) => only === undefined || only === name;
    const judge: Effect.Effect<Judge> = prep.judge
      ? Effect.succeed(prep.judge)
      : Effect.die(new Error(`the ${command} command loaded no judge`));
    const evalPhase = (model: ModelUnderTest, dir: string, train: TrainSummary) =>
      Effect.flatMap(
        judge,
        (j) => evaluatePhase({ cfg, model, ds, judge: j, dir, method: null, train, reference: lm }),
      );
    if (command === "eval") {
      const label = cfg.eval.adapterPath ? "adapted" : "model";
      const model = { ...lm, label, adapters: prep.adapters };
      rows.push(yield* evalPhase(model, `${runDir}/eval`, NO_TRAIN));
      return;
    }
    if (command === "run" && cfg.eval.base && wanted("base")) {
      const model = { ...lm, label: "base", adapters: [] };
      rows.push(yield* evalPhase(model, `${runDir}/base`, NO_TRAIN));
    }
    const needAlign = command === "align" ||
      (command === "run" && cfg.alignment.enabled &&
        methods.some((m) => methodSpec(m).needsAlignedModel));
    // One phase on its own aligns (or reads the aligned model) only when it needs to.
    const onePhase = runPhasesOf(cfg).find((p) => p.name === only);
    const alignHere = only === undefined || only === "align" ||
      (onePhase?.after.includes("align") ?? false);
    let aligned: Params = lm.params;
    if (needAlign && alignHere) {
      const phase = yield* alignPhase(cfg, lm, ds, runDir);
      aligned = phase.aligned;
      if (command === "align" || only === "align") return;
      if (cfg.eval.aligned && wanted("aligned-eval")) {
        const model = { ...lm, label: "aligned", params: aligned, adapters: [] };
        rows.push(yield* evalPhase(model, `${runDir}/aligned-eval`, phase.train));
      }
    }
    for (const name of methods) {
      if (!wanted(`finetune-${name}`)) continue;
      const frozen = methodSpec(name).needsAlignedModel ? aligned : lm.params;
      const dir = `${runDir}/finetune-${name}`;
      const frozenDir = frozen === lm.params ? modelDir(cfg) : `${runDir}/aligned`;
      rows.push(
        ...(yield* Effect.flatMap(
          judge,
          (j) => finetunePhase(cfg, lm, ds, j, frozen, name, dir, frozenDir),
        )),
      );
    }
  });
}
