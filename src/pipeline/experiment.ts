/**
 * The whole experiment as one Effect: data → alignment stage → fine-tuning stage per method
 * → evaluation of every model → metrics. Each finished phase leaves a `metrics.json`, so
 * `--resume` skips what is done and continues a stage from its last checkpoint.
 *
 * @module
 */
import { Effect } from "effect";
import type { ExperimentConfig } from "../config/mod.ts";
import { countByKind } from "../data/mod.ts";
import type { Interval, Judge } from "../eval/mod.ts";
import { disposeParams, type Params } from "../model/mod.ts";
import { type FinetuneMethodName, latestCheckpoint, methodSpec } from "../train/mod.ts";
import { datasetNeeds, type Datasets, loadDatasets, userData } from "./datasets.ts";
import { evaluate, type ModelMetrics, type ModelUnderTest } from "./evaluate.ts";
import { alignStage, finetuneStage, type LoadedLm } from "./stages.ts";
import { readJsonOrNull, writeJson } from "./rundir.ts";
import { loadAdapterFor, loadAlignedModel, loadLm, modelDir } from "./assets.ts";
import { loadJudge } from "./judges.ts";
import { experimentReport } from "./report.ts";
import { writeReport } from "../report/mod.ts";
import { writeFileAtomic } from "../io/atomic.ts";

/** One evaluated model in the comparison table. */
export interface ModelRow {
  /** `base`, `aligned`, or the fine-tuning method. */
  readonly label: string;
  readonly method: string | null;
  readonly harmfulScore: number;
  readonly harmfulScorePlus: number;
  readonly refusalRate: number;
  readonly byCategory: Readonly<Record<string, number>>;
  readonly finetuneAccuracy: number | null;
  /** Harmful prompts judged and task prompts answered. */
  readonly harmfulN: number;
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
  readonly evalSeconds: number;
  readonly steps: number;
  readonly meanLoss: Readonly<Record<string, number>>;
  readonly drift: ReadonlyArray<{ step: number; finished: string; drift: number }>;
}

/** What `run` produces. */
export interface ExperimentResult {
  readonly runDir: string;
  readonly rows: readonly ModelRow[];
  readonly data: Readonly<Record<string, unknown>>;
}

/** The commands that drive the pipeline. */
export type PipelineCommand = "run" | "align" | "finetune" | "eval";

function row(
  label: string,
  method: string | null,
  m: ModelMetrics,
  train: TrainSummary,
): ModelRow {
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
    trainSeconds: train.seconds,
    evalSeconds: m.seconds,
    steps: train.steps,
    meanLoss: train.meanLoss,
    drift: train.drift as ModelRow["drift"],
  };
}

/** Training summary of the stage that produced a model. */
interface TrainSummary {
  readonly seconds: number;
  readonly steps: number;
  readonly meanLoss: Readonly<Record<string, number>>;
  readonly drift: readonly unknown[];
}

const NO_TRAIN: TrainSummary = { seconds: 0, steps: 0, meanLoss: {}, drift: [] };

/** Evaluate a model and save its answers and metrics under `dir`, or reuse saved metrics. */
function evaluatePhase(
  cfg: ExperimentConfig,
  lm: LoadedLm,
  m: ModelUnderTest,
  ds: Parameters<typeof evaluate>[3],
  judge: Judge,
  dir: string,
  method: string | null,
  train: TrainSummary,
) {
  return Effect.gen(function* () {
    const saved = yield* Effect.promise(() => readJsonOrNull<ModelRow>(`${dir}/metrics.json`));
    if (saved) return saved;
    const metrics = yield* evaluate(cfg, lm, m, ds, judge);
    const r = row(m.label, method, metrics, train);
    yield* Effect.promise(async () => {
      await Deno.mkdir(dir, { recursive: true });
      const lines = metrics.answers.map((a) => JSON.stringify(a)).join("\n") + "\n";
      await writeFileAtomic(`${dir}/answers.jsonl`, lines);
      await writeJson(`${dir}/metrics.json`, r);
    });
    return r;
  });
}

/**
 * The alignment stage in `dir` (`align/` for training, `aligned/` for the merged model), or
 * the saved aligned model when the stage already finished there.
 */
export function alignPhase(cfg: ExperimentConfig, lm: LoadedLm, ds: Datasets, dir: string) {
  return Effect.gen(function* () {
    const alignedDir = `${dir}/aligned`;
    const stageDir = `${dir}/align`;
    const done = yield* Effect.promise(() => readJsonOrNull<TrainSummary>(`${stageDir}/done.json`));
    if (done) {
      const loaded = yield* loadAlignedModel(alignedDir);
      return { aligned: loaded, train: done };
    }
    const r = yield* alignStage(
      cfg,
      lm,
      ds.alignment,
      stageDir,
      alignedDir,
      hasCheckpoint(stageDir),
    );
    const train: TrainSummary = {
      seconds: r.stage.seconds,
      steps: r.stage.steps,
      meanLoss: r.stage.result.meanLoss,
      drift: [],
    };
    yield* Effect.promise(() => writeJson(`${stageDir}/done.json`, train));
    return { aligned: r.aligned, train };
  });
}

/**
 * Fine-tune one method from `frozen` weights (saved in `frozenDir`, which the adapter names as
 * its base) and evaluate it, in `dir`: reuses saved metrics, resumes an interrupted stage from
 * its checkpoint, records the user data's provenance.
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
) {
  return Effect.gen(function* () {
    const saved = yield* Effect.promise(() => readJsonOrNull<ModelRow>(`${dir}/metrics.json`));
    if (saved) return saved;
    const mixture = yield* userData(cfg, ds, name);
    yield* Effect.promise(async () => {
      await Deno.mkdir(dir, { recursive: true });
      await writeJson(`${dir}/user-data.json`, {
        poison: mixture.poison,
        normal: mixture.normal,
        counts: countByKind(mixture.examples),
        provenance: mixture.examples.map((e) => e.provenance),
      });
    });
    const { adapter, stage } = yield* finetuneStage(
      cfg,
      lm,
      frozen,
      name,
      { alignment: ds.alignment, user: mixture.examples },
      `${dir}/train`,
      `${dir}/adapter`,
      hasCheckpoint(`${dir}/train`),
      frozenDir,
    );
    const train = {
      seconds: stage.seconds,
      steps: stage.steps,
      meanLoss: stage.result.meanLoss,
      drift: [...stage.result.drift],
    };
    const m = { label: name, params: frozen, adapters: [adapter] };
    const evalData = { harmfulEval: ds.harmfulEval, taskTest: ds.taskTest };
    return yield* evaluatePhase(cfg, lm, m, evalData, judge, dir, name, train).pipe(
      Effect.ensuring(Effect.sync(() => adapter.dispose())),
    );
  });
}

const hasCheckpoint = (dir: string): boolean => {
  try {
    return latestCheckpoint(dir) !== null;
  } catch {
    return false;
  }
};

/**
 * Run the pipeline in `runDir` for `command`:
 * - `run`: evaluate base, align (unless every method is na-sft or alignment is off), evaluate
 *   aligned, then fine-tune and evaluate each method of `method.compare` (or `method.name`);
 * - `align`: the alignment stage only (saves `aligned/`);
 * - `finetune`: the fine-tuning stage on `model.path` taken as the aligned model;
 * - `eval`: evaluate `model.path` (with `eval.adapterPath` if set).
 */
export function runPipeline(cfg: ExperimentConfig, runDir: string, command: PipelineCommand) {
  return Effect.gen(function* () {
    const lm = yield* loadLm(modelDir(cfg));
    const ds = yield* loadDatasets(cfg, datasetNeeds(command)).pipe(
      Effect.tapError(() => Effect.sync(() => disposeParams(lm.params))),
    );
    const judge = command === "align" ? null : yield* loadJudge(cfg);
    const methods = cfg.method.compare.length ? [...cfg.method.compare] : [cfg.method.name];
    const rows: ModelRow[] = [];
    const evalData = { harmfulEval: ds.harmfulEval, taskTest: ds.taskTest };
    const owned: Params[] = [];
    const dataSummary: Record<string, unknown> = {
      alignment: ds.alignment.length,
      harmful: ds.harmful.length,
      harmfulEval: ds.harmfulEval.length,
      taskTrain: ds.taskTrain.length,
      taskTest: ds.taskTest.length,
      skipped: ds.skipped,
    };

    const program = Effect.gen(function* () {
      if (command === "eval") {
        const adapters = cfg.eval.adapterPath
          ? [yield* loadAdapterFor(cfg.eval.adapterPath, lm.config)]
          : [];
        const m = {
          label: cfg.eval.adapterPath ? "adapted" : "model",
          params: lm.params,
          adapters,
        };
        yield* evaluatePhase(cfg, lm, m, evalData, judge!, `${runDir}/eval`, null, NO_TRAIN).pipe(
          Effect.tap((r) => Effect.sync(() => rows.push(r))),
          Effect.ensuring(Effect.sync(() => adapters.forEach((a) => a.dispose()))),
        );
        return;
      }
      if (command === "run" && cfg.eval.base) {
        const m = { label: "base", params: lm.params, adapters: [] };
        rows.push(
          yield* evaluatePhase(cfg, lm, m, evalData, judge!, `${runDir}/base`, null, NO_TRAIN),
        );
      }
      const needAlign = command === "align" ||
        (command === "run" && cfg.alignment.enabled &&
          methods.some((m) => methodSpec(m).needsAlignedModel));
      let aligned: Params = lm.params;
      let alignTrain: TrainSummary = NO_TRAIN;
      if (needAlign) {
        const phase = yield* alignPhase(cfg, lm, ds, runDir);
        aligned = phase.aligned;
        alignTrain = phase.train;
        owned.push(aligned);
        if (command === "align") return;
        if (cfg.eval.aligned) {
          const m = { label: "aligned", params: aligned, adapters: [] };
          rows.push(
            yield* evaluatePhase(
              cfg,
              lm,
              m,
              evalData,
              judge!,
              `${runDir}/aligned-eval`,
              null,
              alignTrain,
            ),
          );
        }
      }
      for (const name of methods) {
        const frozen = methodSpec(name).needsAlignedModel ? aligned : lm.params;
        rows.push(
          yield* finetunePhase(
            cfg,
            lm,
            ds,
            judge!,
            frozen,
            name,
            `${runDir}/finetune-${name}`,
            frozen === lm.params ? modelDir(cfg) : `${runDir}/aligned`,
          ),
        );
      }
    });
    yield* program.pipe(
      Effect.ensuring(Effect.sync(() => {
        for (const p of owned) if (p !== lm.params) disposeParams(p);
        disposeParams(lm.params);
      })),
    );
    const result: ExperimentResult = { runDir, rows, data: dataSummary };
    yield* Effect.promise(() => writeJson(`${runDir}/metrics.json`, result));
    if (rows.length) {
      const input = yield* Effect.promise(() => experimentReport(cfg, runDir, rows, judge?.card));
      yield* writeReport(runDir, input);
    }
    return result;
  });
}
