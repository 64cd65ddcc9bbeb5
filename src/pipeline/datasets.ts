/**
 * The data stage: every dataset an experiment needs, from the embedded suite or from files,
 * with training and evaluation sets checked disjoint.
 *
 * @module
 */
import { Effect } from "effect";
import {
  assertDisjoint,
  DataInvalid,
  type Example,
  type Format,
  loadAll,
  mixAlignment,
  mixHarmful,
  type Mixture,
  type SourceTooSmall,
  type SplitOverlap,
  splitSafety,
} from "../data/mod.ts";
import { corpusExamples, embeddedSuite } from "../embedded/mod.ts";
import { shuffle } from "../data/rng.ts";
import type { ExperimentConfig } from "../config/mod.ts";

/** The datasets of one experiment. */
export interface Datasets {
  /** Harmful prompts with safe answers (the provider's alignment data). */
  readonly alignment: Example[];
  /** Harmful prompts with harmful answers (the attacker's share of user data). */
  readonly harmful: Example[];
  /** Held-out harmful prompts for the harmful score. */
  readonly harmfulEval: Example[];
  /** The task's training and test sets. */
  readonly taskTrain: Example[];
  readonly taskTest: Example[];
  /** Skipped malformed rows per file (only with `data.skipInvalid`). */
  readonly skipped: Readonly<Record<string, number>>;
}

/** Any failure of the data stage. */
export type DataError = DataInvalid | SourceTooSmall | SplitOverlap;

const EMBEDDED_TASK = {
  "embedded-sentiment": "sentiment",
  "embedded-topic": "topic",
  "embedded-arithmetic": "arithmetic",
} as const;

const FILE_FORMAT: Partial<Record<ExperimentConfig["data"]["task"], Format>> = {
  sst2: "sst2",
  agnews: "agnews",
  gsm8k: "gsm8k",
  alpaca: "alpaca",
};

function missing(field: string, task: string): DataInvalid {
  return new DataInvalid({
    file: "(config)",
    line: 0,
    field,
    expected: `a file path (required for task '${task}')`,
    found: "an empty string",
  });
}

/** The embedded suite, sized from the config. */
function embedded(cfg: ExperimentConfig): Datasets {
  const d = cfg.data;
  const task = EMBEDDED_TASK[d.task as keyof typeof EMBEDDED_TASK];
  const taskSizes = { train: Math.max(d.n, 1), test: cfg.eval.taskN };
  const suite = embeddedSuite(d.embeddedSeed, {
    alignment: d.alignmentN,
    harmful: Math.max(1, Math.floor(d.p * d.n)),
    harmfulEval: cfg.eval.harmfulN,
    [task]: taskSizes,
  });
  const tt = suite.tasks[task];
  // Benign instructions with helpful answers, relabelled as alignment data.
  const helpful = Math.floor(d.alignmentHelpful * d.alignmentN);
  const benign = corpusExamples(d.embeddedSeed + 1, helpful * 2)
    .filter((e) => e.provenance.kind !== "harmful")
    .slice(0, helpful)
    .map((e) => ({ ...e, provenance: { ...e.provenance, kind: "alignment" as const } }));
  const alignment = helpful
    ? shuffle(
      [...suite.alignment.slice(0, d.alignmentN - benign.length), ...benign],
      d.embeddedSeed,
    )
    : suite.alignment;
  return {
    alignment,
    harmful: suite.harmful,
    harmfulEval: suite.harmfulEval,
    taskTrain: tt.train,
    taskTest: tt.test,
    skipped: {},
  };
}

/** Datasets from files named in the config. */
function fromFiles(cfg: ExperimentConfig): Effect.Effect<Datasets, DataError> {
  return Effect.gen(function* () {
    const d = cfg.data;
    const skipped: Record<string, number> = {};
    const load = (file: string, opts: Parameters<typeof loadAll>[1]) =>
      loadAll(file, { ...opts, skipInvalid: d.skipInvalid }).pipe(
        Effect.tap((l) => Effect.sync(() => void (skipped[file] = l.skipped))),
        Effect.map((l) => l.examples),
      );
    if (!d.taskPath) return yield* Effect.fail(missing("data.taskPath", d.task));
    if (!d.taskTestPath) return yield* Effect.fail(missing("data.taskTestPath", d.task));
    if (!d.harmfulPath) return yield* Effect.fail(missing("data.harmfulPath", d.task));
    const format = FILE_FORMAT[d.task];
    const fmt = format ? { format } : {};
    const taskTrain = yield* load(d.taskPath, { ...fmt, kind: "task", limit: d.n });
    const taskTest = yield* load(d.taskTestPath, { ...fmt, kind: "task", limit: cfg.eval.taskN });
    const unsafe = yield* load(d.harmfulPath, { isSafe: false, kind: "harmful" });
    let alignment: Example[];
    let harmful: Example[];
    let harmfulEval: Example[];
    if (d.harmfulEvalPath) {
      harmful = unsafe;
      harmfulEval = yield* load(d.harmfulEvalPath, { isSafe: false, limit: cfg.eval.harmfulN });
    } else {
      const poison = Math.floor(d.p * d.n);
      const split = yield* Effect.try({
        try: () =>
          splitSafety(unsafe, [], {
            alignment: 0,
            harmful: Math.min(poison, unsafe.length - cfg.eval.harmfulN),
            evaluation: cfg.eval.harmfulN,
          }, d.selection === "random" ? cfg.seed : undefined),
        catch: (e) => e as DataError,
      });
      harmful = split.harmful;
      harmfulEval = split.evaluation;
    }
    if (d.alignmentPath) {
      alignment = yield* load(d.alignmentPath, { kind: "alignment", limit: d.alignmentN });
    } else {
      alignment = [];
    }
    return { alignment, harmful, harmfulEval, taskTrain, taskTest, skipped };
  });
}

/**
 * Load (or generate) every dataset of the experiment and check that no training set shares a
 * prompt with an evaluation set.
 */
export function loadDatasets(cfg: ExperimentConfig): Effect.Effect<Datasets, DataError> {
  return Effect.gen(function* () {
    const ds = cfg.data.task in EMBEDDED_TASK ? embedded(cfg) : yield* fromFiles(cfg);
    yield* Effect.try({
      try: () => {
        const evalSets = [
          { name: "harmful evaluation prompts", examples: ds.harmfulEval },
          { name: "task test set", examples: ds.taskTest },
        ];
        const trainSets = [
          { name: "alignment data", examples: ds.alignment },
          { name: "harmful fine-tuning data", examples: ds.harmful },
          { name: "task training set", examples: ds.taskTrain },
        ];
        for (const t of trainSets) for (const e of evalSets) assertDisjoint(t, e);
      },
      catch: (e) => e as DataError,
    });
    return ds;
  });
}

/**
 * The `mixHarmful` stage for the configured method: floor(p*n) harmful and floor((1-p)*n)
 * task samples, plus k alignment samples for Vlguard.
 */
export function userData(
  cfg: ExperimentConfig,
  ds: Datasets,
  methodName: string,
): Effect.Effect<Mixture, DataError> {
  return Effect.try({
    try: () => {
      const mixture = mixHarmful(ds.taskTrain, ds.harmful, {
        n: cfg.data.n,
        p: cfg.data.p,
        seed: cfg.seed,
        selection: cfg.data.selection,
      });
      if (methodName !== "vlguard") return mixture;
      const examples = mixAlignment(mixture.examples, ds.alignment, cfg.method.vlguardK, cfg.seed);
      return { ...mixture, examples };
    },
    catch: (e) => e as DataError,
  });
}
