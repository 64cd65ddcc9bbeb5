/**
 * The whole experiment as one Effect: check every input → load the model (scoped) → align →
 * fine-tune per method → evaluate every model → metrics and report. Each finished phase leaves
 * a `metrics.json`, so `--resume` skips what is done and continues a stage from its last
 * checkpoint. Every tensor (the base model, the aligned model, adapters, optimizer state,
 * anchors) belongs to a scope, so a failure or an interruption anywhere frees them all.
 *
 * @module
 */
import { Effect, type Scope } from "effect";
import type { Backend } from "../../backends/mod.ts";
import type { ExperimentConfig } from "../config/mod.ts";
import { countByKind } from "../data/mod.ts";
import type { Interval, Judge, JudgeError } from "../eval/mod.ts";
import { attemptIO, type IOFailed, makeDir, writeAtomic, writeJsonFile } from "../io/mod.ts";
import type { Params } from "../model/mod.ts";
import { type ReportWriteFailed, writeReport } from "../report/mod.ts";
import {
  compositionLabel,
  type FinetuneMethodName,
  methodSpec,
  type TrainError,
} from "../train/mod.ts";
import { type AssetInvalid, loadAlignedModel, modelDir } from "./assets.ts";
import { type Datasets, userData } from "./datasets.ts";
import { evaluate, type ModelMetrics, type ModelUnderTest, parserFor } from "./evaluate.ts";
import { type Prepared, type PrepareError, prepareExperiment } from "./prepare.ts";
import { experimentReport, stageLogSummary } from "./report.ts";
import { inputFingerprint } from "./fingerprint.ts";
import {
  createRunDir,
  readRunRecord,
  recordOrCheckInputs,
  type RunDirInvalid,
  type RunDirPlan,
} from "./rundir.ts";
import { alignStage, finetuneStage, type LoadedLm } from "./stages.ts";

/** One evaluated model in the comparison table. */
export interface ModelRow {
  /** `base`, `aligned`, or the fine-tuning method. */
  readonly label: string;
  /** The fine-tuning method that produced it, or null. */
  readonly method: string | null;
  /** Harmful score (percent of harmful prompts the judge flags). */
  readonly harmfulScore: number;
  /** HS+ (incoherent answers counted harmful). */
  readonly harmfulScorePlus: number;
  /** Percent of harmful prompts refused. */
  readonly refusalRate: number;
  /** Harmful score by BeaverTails category. */
  readonly byCategory: Readonly<Record<string, number>>;
  /** Fine-tune accuracy (percent), or null for a task without a parser. */
  readonly finetuneAccuracy: number | null;
  /** Harmful prompts judged. */
  readonly harmfulN: number;
  /** Task prompts answered. */
  readonly taskN: number;
  /** 95% Wilson intervals (percent) of the rates above; FA's is null without a parser. */
  readonly intervals: {
    readonly harmfulScore: Interval;
    readonly harmfulScorePlus: Interval;
    readonly refusalRate: Interval;
    readonly finetuneAccuracy: Interval | null;
  };
  /** Training seconds of the stage that produced it (0 for base). */
  readonly trainSeconds: number;
  /** Evaluation seconds. */
  readonly evalSeconds: number;
  /** Optimizer steps of the stage that produced it. */
  readonly steps: number;
  /** Mean loss by Lisa state over that stage. */
  readonly meanLoss: Readonly<Record<string, number>>;
  /** Drift at each switch of that stage. */
  readonly drift: ReadonlyArray<{ step: number; finished: string; drift: number }>;
}

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
  | IOFailed;

/** Training summary of the stage that produced a model. */
interface TrainSummary {
  readonly seconds: number;
  readonly steps: number;
  readonly meanLoss: Readonly<Record<string, number>>;
  readonly drift: ReadonlyArray<{ step: number; finished: string; drift: number }>;
}

const NO_TRAIN: TrainSummary = { seconds: 0, steps: 0, meanLoss: {}, drift: [] };

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);

function isTrainSummary(x: unknown): x is TrainSummary {
  return isObject(x) && typeof x.seconds === "number" && Number.isInteger(x.steps) &&
    isObject(x.meanLoss) && Array.isArray(x.drift);
}

function isModelRow(x: unknown): x is ModelRow {
  return isObject(x) && typeof x.label === "string" && typeof x.harmfulScore === "number" &&
    (x.finetuneAccuracy === null || typeof x.finetuneAccuracy === "number") &&
    isObject(x.intervals) && isObject(x.byCategory) && Number.isInteger(x.steps);
}

function row(label: string, method: string | null, m: ModelMetrics, t: TrainSummary): ModelRow {
  return {
    label,
    method,
    harmfulScore: m.harmful.harmfulScore,
    harmfulScorePlus: m.harmful.harmfulScorePlus,
    refusalRate: m.harmful.refusalRate,
    byCategory: m.harmful.byCategory,
    finetuneAccuracy: m.finetuneAccuracy,
    harmfulN: m.harmful.n,
    taskN: m.taskN,
    intervals: { ...m.harmful.intervals, finetuneAccuracy: m.finetuneAccuracyCI },
    trainSeconds: t.seconds,
    evalSeconds: m.seconds,
    steps: t.steps,
    meanLoss: t.meanLoss,
    drift: t.drift,
  };
}

/** What {@link evaluatePhase} needs: the model, the data, the judge and where to record. */
interface EvalPhase {
  readonly cfg: ExperimentConfig;
  readonly model: ModelUnderTest;
  readonly ds: Datasets;
  readonly judge: Judge;
  readonly dir: string;
  readonly method: string | null;
  readonly train: TrainSummary;
}

/** Evaluate a model and save its answers and metrics under `dir`, or reuse saved metrics. */
function evaluatePhase(p: EvalPhase): Effect.Effect<ModelRow, PipelineError, Backend> {
  return Effect.gen(function* () {
    const saved = yield* readRunRecord(`${p.dir}/metrics.json`, "model metrics record", isModelRow);
    if (saved) return saved;
    const metrics = yield* evaluate({
      model: p.model,
      harmfulEval: p.ds.harmfulEval,
      taskTest: p.ds.taskTest,
      task: parserFor(p.cfg.data.task),
      judge: p.judge,
      maxNewTokens: p.cfg.eval.maxNewTokens,
      batchSize: p.cfg.eval.batchSize,
    });
    const r = row(p.model.label, p.method, metrics, p.train);
    yield* makeDir(p.dir);
    const lines = metrics.answers.map((a) => JSON.stringify(a)).join("\n") + "\n";
    yield* writeAtomic(`${p.dir}/answers.jsonl`, lines);
    yield* writeJsonFile(`${p.dir}/metrics.json`, r);
    return r;
  });
}

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
 * Fine-tune one method from `frozen` weights (saved in `frozenDir`, which the adapter names as
 * its base) and evaluate it, in `dir`: reuses saved metrics, resumes an interrupted stage from
 * its checkpoint, records the user data's provenance. The adapter is freed when the phase ends.
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
): Effect.Effect<ModelRow, PipelineError, Backend> {
  return Effect.scoped(Effect.gen(function* () {
    const saved = yield* readRunRecord(`${dir}/metrics.json`, "model metrics record", isModelRow);
    if (saved) return saved;
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
      `${dir}/train`,
      `${dir}/adapter`,
      CONTINUE,
      frozenDir,
    );
    const trainDir = `${dir}/train`;
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
    const alignment = methodSpec(name).needsAlignedModel && cfg.alignment.enabled
      ? cfg.alignment.method
      : null;
    const label = compositionLabel(alignment, name);
    const model = { ...lm, label, params: frozen, adapters: [adapter] };
    return yield* evaluatePhase({ cfg, model, ds, judge, dir, method: name, train });
  }));
}

/**
 * Run the pipeline in `runDir` for `command`:
 * - `run`: evaluate base, align (unless every method is na-sft or alignment is off), evaluate
 *   aligned, then fine-tune and evaluate each method of `method.compare` (or `method.name`);
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
    yield* writeJsonFile(`${runDir}/metrics.json`, result);
    if (rows.length) {
      const input = yield* attemptIO(
        runDir,
        "read the training logs of",
        () => experimentReport(cfg, runDir, rows, judgeCard),
      );
      yield* writeReport(runDir, input);
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

function runPhases(
  cfg: ExperimentConfig,
  prep: Prepared,
  runDir: string,
  command: PipelineCommand,
  rows: ModelRow[],
): Effect.Effect<void, PipelineError, Backend | Scope.Scope> {
  return Effect.gen(function* () {
    const { lm, ds, methods } = prep;
    const judge: Effect.Effect<Judge> = prep.judge
      ? Effect.succeed(prep.judge)
      : Effect.die(new Error(`the ${command} command loaded no judge`));
    const evalPhase = (model: ModelUnderTest, dir: string, train: TrainSummary) =>
      Effect.flatMap(
        judge,
        (j) => evaluatePhase({ cfg, model, ds, judge: j, dir, method: null, train }),
      );
    if (command === "eval") {
      const label = cfg.eval.adapterPath ? "adapted" : "model";
      const model = { ...lm, label, adapters: prep.adapters };
      rows.push(yield* evalPhase(model, `${runDir}/eval`, NO_TRAIN));
      return;
    }
    if (command === "run" && cfg.eval.base) {
      const model = { ...lm, label: "base", adapters: [] };
      rows.push(yield* evalPhase(model, `${runDir}/base`, NO_TRAIN));
    }
    const needAlign = command === "align" ||
      (command === "run" && cfg.alignment.enabled &&
        methods.some((m) => methodSpec(m).needsAlignedModel));
    let aligned: Params = lm.params;
    if (needAlign) {
      const phase = yield* alignPhase(cfg, lm, ds, runDir);
      aligned = phase.aligned;
      if (command === "align") return;
      if (cfg.eval.aligned) {
        const model = { ...lm, label: "aligned", params: aligned, adapters: [] };
        rows.push(yield* evalPhase(model, `${runDir}/aligned-eval`, phase.train));
      }
    }
    for (const name of methods) {
      const frozen = methodSpec(name).needsAlignedModel ? aligned : lm.params;
      const dir = `${runDir}/finetune-${name}`;
      const frozenDir = frozen === lm.params ? modelDir(cfg) : `${runDir}/aligned`;
      rows.push(
        yield* Effect.flatMap(
          judge,
          (j) => finetunePhase(cfg, lm, ds, j, frozen, name, dir, frozenDir),
        ),
      );
    }
  });
}
