/**
 * One evaluated model as a table row: its metrics with their intervals, the choices and costs
 * that made it, and the phase that evaluates a model and records the row (or reuses the
 * recorded one).
 *
 * @module
 */
import { Effect } from "effect";
import type { Backend } from "../../backends/mod.ts";
import type { ExperimentConfig } from "../config/mod.ts";
import type { Interval, Judge } from "../eval/mod.ts";
import { makeDir, writeAtomic, writeJsonFile } from "../io/mod.ts";
import type { Datasets } from "./datasets.ts";
import {
  evaluate,
  incoherenceRule,
  type ModelMetrics,
  type ModelUnderTest,
  parserFor,
} from "./evaluate.ts";
import type { PipelineError } from "./experiment.ts";
import { readRunRecord } from "./rundir.ts";
import type { LoadedLm } from "./stages.ts";

/** One evaluated model in the comparison table. */
export interface ModelRow {
  /**
   * `base`, `aligned`, or the composition that made it (see `compositionLabel`: the
   * fine-tuning method, with a non-SFT alignment method before it and a repair after it).
   */
  readonly label: string;
  /** The fine-tuning method that produced it, or null. */
  readonly method: string | null;
  /** The alignment-stage method of the aligned model it was tuned from, or null. */
  readonly alignment?: string | null;
  /** The repair applied after fine-tuning (`none` for none), or null for no fine-tuning. */
  readonly repair?: string | null;
  /** Seconds the repair took (0 without one). */
  readonly repairSeconds?: number;
  /** Harmful score (percent of harmful prompts the judge flags). */
  readonly harmfulScore: number;
  /** HS+ (incoherent answers counted harmful). */
  readonly harmfulScorePlus: number;
  /** Incoherent harmful-prompt answers, percent (rule named in `incoherenceRule`). */
  readonly incoherenceRate: number;
  /** The incoherence rule's name. */
  readonly incoherenceRule: string;
  /** Mean share of answer words outside the suite's vocabulary (embedded suite only). */
  readonly meanOovFraction?: number;
  /** Mean per-token loss (nats) of the harmful-prompt answers under the base model. */
  readonly baseNll?: number;
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
    readonly incoherenceRate: Interval;
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

/** Training summary of the stage that produced a model. */
export interface TrainSummary {
  /** Wall-clock seconds of the stage's training. */
  readonly seconds: number;
  /** Optimizer steps. */
  readonly steps: number;
  /** Mean loss by Lisa state. */
  readonly meanLoss: Readonly<Record<string, number>>;
  /** Drift at each switch. */
  readonly drift: ReadonlyArray<{ step: number; finished: string; drift: number }>;
}

/** The summary of a model no stage trained (the base model). */
export const NO_TRAIN: TrainSummary = { seconds: 0, steps: 0, meanLoss: {}, drift: [] };

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);

/** Whether a saved record is a {@link TrainSummary}. */
export function isTrainSummary(x: unknown): x is TrainSummary {
  return isObject(x) && typeof x.seconds === "number" && Number.isInteger(x.steps) &&
    isObject(x.meanLoss) && Array.isArray(x.drift);
}

/** Whether a saved record is a {@link ModelRow}. */
export function isModelRow(x: unknown): x is ModelRow {
  return isObject(x) && typeof x.label === "string" && typeof x.harmfulScore === "number" &&
    (x.finetuneAccuracy === null || typeof x.finetuneAccuracy === "number") &&
    isObject(x.intervals) && isObject(x.byCategory) && Number.isInteger(x.steps);
}

/** Where a row came from besides its metrics: the three method choices and the costs. */
export interface RowOrigin {
  /** The fine-tuning method, or null. */
  readonly method: string | null;
  /** The alignment-stage method, or null. */
  readonly alignment?: string | null;
  /** The repair method, or null. */
  readonly repair?: string | null;
  /** Seconds of the repair. */
  readonly repairSeconds?: number;
  /** The training summary of the stage that produced the model. */
  readonly train: TrainSummary;
}

function row(label: string, o: RowOrigin, m: ModelMetrics): ModelRow {
  const t = o.train;
  return {
    label,
    method: o.method,
    ...(o.alignment === undefined ? {} : { alignment: o.alignment }),
    ...(o.repair === undefined ? {} : { repair: o.repair }),
    ...(o.repairSeconds === undefined ? {} : { repairSeconds: o.repairSeconds }),
    harmfulScore: m.harmful.harmfulScore,
    harmfulScorePlus: m.harmful.harmfulScorePlus,
    incoherenceRate: m.harmful.incoherenceRate,
    incoherenceRule: m.harmful.incoherenceRule,
    ...(m.harmful.meanOovFraction !== undefined
      ? { meanOovFraction: m.harmful.meanOovFraction }
      : {}),
    refusalRate: m.harmful.refusalRate,
    baseNll: m.baseNll,
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
export interface EvalPhase extends RowOrigin {
  /** The experiment config. */
  readonly cfg: ExperimentConfig;
  /** The model to evaluate. */
  readonly model: ModelUnderTest;
  /** The evaluation sets. */
  readonly ds: Datasets;
  /** The harmfulness judge. */
  readonly judge: Judge;
  /** Where its answers and metrics go. */
  readonly dir: string;
  /** The base model, under which the answers' per-token loss is measured. */
  readonly reference: LoadedLm;
}

/**
 * Where a model's answers and metrics for the configured split go: `dir` itself for the test
 * split (the reported numbers), `dir/validation` for the validation split. A model trained
 * once can so be evaluated on both, validation first (choosing settings), test after.
 */
export function evalDir(cfg: ExperimentConfig, dir: string): string {
  return cfg.eval.split === "test" ? dir : `${dir}/validation`;
}

/**
 * Evaluate a model and save its answers and metrics under `evalDir(cfg, dir)`, or reuse saved
 * metrics.
 */
export function evaluatePhase(p: EvalPhase): Effect.Effect<ModelRow, PipelineError, Backend> {
  return Effect.gen(function* () {
    const out = evalDir(p.cfg, p.dir);
    const saved = yield* readRunRecord(`${out}/metrics.json`, "model metrics record", isModelRow);
    if (saved) return saved;
    const metrics = yield* evaluate({
      model: p.model,
      harmfulEval: p.ds.harmfulEval,
      taskTest: p.ds.taskTest,
      task: parserFor(p.cfg.data.task),
      judge: p.judge,
      maxNewTokens: p.cfg.eval.maxNewTokens,
      batchSize: p.cfg.eval.batchSize,
      incoherence: incoherenceRule(p.cfg),
      reference: p.reference,
    });
    const r = row(p.model.label, p, metrics);
    yield* makeDir(out);
    const lines = metrics.answers.map((a) => JSON.stringify(a)).join("\n") + "\n";
    yield* writeAtomic(`${out}/answers.jsonl`, lines);
    yield* writeJsonFile(`${out}/metrics.json`, r);
    return r;
  });
}
