/**
 * The data stage: every dataset an experiment needs, from the embedded suite or from files,
 * with training and evaluation sets checked disjoint.
 *
 * @module
 */
import { Effect } from "effect";
import {
  checkDisjoint,
  DataInvalid,
  type Example,
  type Format,
  loadAll,
  mixAlignment,
  mixHarmful,
  type Mixture,
  SourceTooSmall,
  SplitOverlap,
  splitSafety,
  type Utf8Tally,
} from "../data/mod.ts";
import {
  alignmentHarmfulSet,
  alignmentSet,
  arithmeticTask,
  corpusExamples,
  harmfulEvalPrompts,
  harmfulEvalSet,
  harmfulSet,
  harmfulTrainPrompts,
  harmfulValidationSet,
  sentimentTask,
  topicTask,
} from "../embedded/mod.ts";
import { shuffle } from "../data/rng.ts";
import type { ExperimentConfig } from "../config/mod.ts";
import { repairSpec } from "../repair/mod.ts";
import { type FinetuneMethodName, methodSpec } from "../train/mod.ts";

/**
 * Whether a method `cfg` runs (or sweeps) uses the provider's harmful data: an alignment
 * method that draws harmful batches, or a repair that scores on harmful data.
 */
export function usesProviderHarmful(cfg: ExperimentConfig): boolean {
  const aligners = cfg.sweep.alignment.length ? cfg.sweep.alignment : [cfg.alignment.method];
  const repairs = cfg.sweep.repair.length ? cfg.sweep.repair : [cfg.repair.method];
  return (cfg.alignment.enabled && aligners.some((a) => methodSpec(a).needsHarmfulData)) ||
    repairs.some((r) => repairSpec(r).needsHarmfulData);
}

/** The datasets of one experiment. */
export interface Datasets {
  /** Harmful prompts with safe answers (the provider's alignment data). */
  readonly alignment: Example[];
  /** Harmful prompts with harmful answers (the attacker's share of user data). */
  readonly harmful: Example[];
  /**
   * The provider's own harmful data (harmful prompt + harmful answer), for Booster, RepNoise,
   * T-Vaccine and Antidote; empty unless a configured method uses it. Never the user's
   * harmful samples.
   */
  readonly alignmentHarmful: Example[];
  /** Held-out harmful prompts for the harmful score. */
  readonly harmfulEval: Example[];
  /** The task's training and test sets. */
  readonly taskTrain: Example[];
  /** The task's test set (for the fine-tune accuracy). */
  readonly taskTest: Example[];
  /** Skipped malformed rows per file (only with `data.skipInvalid`). */
  readonly skipped: Readonly<Record<string, number>>;
  /** Files that held invalid UTF-8 (replaced by U+FFFD): how much and the first line. */
  readonly invalidUtf8?: Readonly<Record<string, Utf8Tally>>;
}

/** Any failure of the data stage. */
export type DataError = DataInvalid | SourceTooSmall | SplitOverlap;

/**
 * Which datasets a command builds: `eval` needs only the evaluation sets, `align` only the
 * alignment data; nothing else is generated or read.
 */
export interface DatasetNeeds {
  /** Alignment data (the alignment stage; Lisa, BSO, EWC, Vlguard, KL in fine-tuning). */
  readonly alignment: boolean;
  /** Harmful fine-tuning data and the task training set (the user's data). */
  readonly user: boolean;
  /** Harmful evaluation prompts and the task test set. */
  readonly evaluation: boolean;
}

/** Every dataset (the `run` and `finetune` commands, sweeps). */
export const ALL_DATASETS: DatasetNeeds = { alignment: true, user: true, evaluation: true };

/** The datasets a pipeline command uses. */
export function datasetNeeds(command: "run" | "align" | "finetune" | "eval"): DatasetNeeds {
  switch (command) {
    case "eval":
      return { alignment: false, user: false, evaluation: true };
    case "align":
      return { alignment: true, user: false, evaluation: false };
    default:
      return ALL_DATASETS;
  }
}

const EMBEDDED_TASK = {
  "embedded-sentiment": sentimentTask,
  "embedded-topic": topicTask,
  "embedded-arithmetic": arithmeticTask,
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

/** Refuse a size larger than the embedded generator's pool, naming the setting. */
function fitsPool(what: string, field: string, needed: number, pool: number): void {
  if (needed > pool) {
    throw new SourceTooSmall({
      source: `the embedded ${what} (${field})`,
      needed,
      available: pool,
    });
  }
}

/**
 * The embedded suite's sets that `needs` asks for, sized from the config. Each set comes from
 * its own seeded generator, so a set is the same whichever others are built (an `eval` sees
 * the test prompts a `run` saw). With `eval.split = validation` the held-out sets are the
 * validation prompts and sentences (disjoint from training and test), for choosing settings.
 */
function embedded(cfg: ExperimentConfig, needs: DatasetNeeds): Datasets {
  const d = cfg.data;
  const seed = d.embeddedSeed;
  const task = EMBEDDED_TASK[d.task as keyof typeof EMBEDDED_TASK];
  let alignment: Example[] = [];
  if (needs.alignment) {
    fitsPool("alignment prompts", "data.alignmentN", d.alignmentN, harmfulTrainPrompts().length);
    const refusals = alignmentSet(seed, d.alignmentN);
    // Benign instructions with helpful answers, relabelled as alignment data.
    const helpful = Math.floor(d.alignmentHelpful * d.alignmentN);
    const benign = corpusExamples(seed + 1, helpful * 2)
      .filter((e) => e.provenance.kind !== "harmful")
      .slice(0, helpful)
      .map((e) => ({ ...e, provenance: { ...e.provenance, kind: "alignment" as const } }));
    alignment = helpful
      ? shuffle([...refusals.slice(0, d.alignmentN - benign.length), ...benign], seed)
      : refusals;
  }
  const poison = Math.max(1, Math.floor(d.p * d.n));
  if (needs.user) {
    fitsPool("harmful prompts", "data.p x data.n", poison, harmfulTrainPrompts().length);
  }
  const validation = cfg.eval.split === "validation";
  if (needs.evaluation && !validation) {
    fitsPool(
      "harmful evaluation prompts",
      "eval.harmfulN",
      cfg.eval.harmfulN,
      harmfulEvalPrompts().length,
    );
  }
  // A task example's split is a property of its text, so the test (or validation) set is
  // the same whatever the training size.
  const tt = needs.user || needs.evaluation
    ? task(seed, {
      train: Math.max(d.n, 1),
      test: validation ? 0 : cfg.eval.taskN,
      validation: validation ? cfg.eval.taskN : 0,
    })
    : { train: [], test: [], validation: [] };
  const provider = needs.alignment && usesProviderHarmful(cfg);
  if (provider) {
    fitsPool(
      "harmful prompts",
      "data.alignmentHarmfulN",
      d.alignmentHarmfulN,
      harmfulTrainPrompts().length,
    );
  }
  const harmfulHeldOut = validation ? harmfulValidationSet : harmfulEvalSet;
  return {
    alignment,
    harmful: needs.user ? harmfulSet(seed, poison) : [],
    alignmentHarmful: provider ? alignmentHarmfulSet(seed, d.alignmentHarmfulN) : [],
    // The validation pool holds 252 prompts; a larger eval.harmfulN takes them all.
    harmfulEval: needs.evaluation ? harmfulHeldOut(seed, cfg.eval.harmfulN) : [],
    taskTrain: needs.user ? tt.train : [],
    taskTest: needs.evaluation ? (validation ? tt.validation : tt.test) : [],
    skipped: {},
  };
}

/** The datasets `needs` asks for, from files named in the config; other files are not read. */
function fromFiles(cfg: ExperimentConfig, needs: DatasetNeeds): Effect.Effect<Datasets, DataError> {
  return Effect.gen(function* () {
    const d = cfg.data;
    const skipped: Record<string, number> = {};
    const invalidUtf8: Record<string, Utf8Tally> = {};
    const load = (file: string, opts: Parameters<typeof loadAll>[1]) =>
      loadAll(file, { ...opts, skipInvalid: d.skipInvalid, strictUtf8: d.strictUtf8 }).pipe(
        Effect.tap((l) =>
          Effect.sync(() => {
            skipped[file] = l.skipped;
            const u = l.invalidUtf8;
            if (u.sequences === 0) return;
            invalidUtf8[file] = u;
            console.error(
              `warning: ${file}: ${u.sequences} invalid UTF-8 sequence(s) on ${u.lines} ` +
                `line(s), first at line ${u.firstLine}, read as U+FFFD ` +
                "(--data.strictUtf8=true makes this an error)",
            );
          })
        ),
        Effect.map((l) => l.examples),
      );
    if (needs.evaluation && cfg.eval.split === "validation") {
      return yield* Effect.fail(
        new DataInvalid({
          file: "(config)",
          line: 0,
          field: "eval.split",
          expected: "'test' with data files (point data.taskTestPath and data.harmfulEvalPath " +
            "at validation files to validate)",
          found: "'validation'",
        }),
      );
    }
    // The provider's harmful data: its own file, or the rows of the harmful file after the
    // user's harmful samples (never the same rows, never an evaluation prompt).
    const provider = needs.alignment && usesProviderHarmful(cfg);
    const carved = provider && !d.alignmentHarmfulPath ? d.alignmentHarmfulN : 0;
    const needHarmful = needs.user || (needs.evaluation && !d.harmfulEvalPath) || carved > 0;
    if (needs.user && !d.taskPath) return yield* Effect.fail(missing("data.taskPath", d.task));
    if (needs.evaluation && !d.taskTestPath) {
      return yield* Effect.fail(missing("data.taskTestPath", d.task));
    }
    if (needHarmful && !d.harmfulPath) {
      return yield* Effect.fail(missing("data.harmfulPath", d.task));
    }
    const format = FILE_FORMAT[d.task];
    const fmt = format ? { format } : {};
    const taskTrain = needs.user
      ? yield* load(d.taskPath, { ...fmt, kind: "task", limit: d.n })
      : [];
    const taskTest = needs.evaluation
      ? yield* load(d.taskTestPath, { ...fmt, kind: "task", limit: cfg.eval.taskN })
      : [];
    const unsafe = needHarmful
      ? yield* load(d.harmfulPath, { isSafe: false, kind: "harmful" })
      : [];
    let alignment: Example[];
    let harmful: Example[];
    let harmfulEval: Example[];
    const poison = Math.floor(d.p * d.n);
    let alignmentHarmful: Example[] = [];
    if (d.harmfulEvalPath) {
      harmful = unsafe;
      harmfulEval = needs.evaluation
        ? yield* load(d.harmfulEvalPath, { isSafe: false, limit: cfg.eval.harmfulN })
        : [];
    } else if (!needHarmful) {
      harmful = [];
      harmfulEval = [];
    } else {
      const split = yield* splitSafety(unsafe, [], {
        alignment: 0,
        harmful: carved ? poison + carved : Math.min(poison, unsafe.length - cfg.eval.harmfulN),
        evaluation: cfg.eval.harmfulN,
      }, d.selection === "random" ? cfg.seed : undefined);
      harmful = split.harmful;
      harmfulEval = split.evaluation;
    }
    if (carved) {
      if (harmful.length < poison + carved) {
        return yield* Effect.fail(
          new SourceTooSmall({
            source: `${d.harmfulPath} (user harmful samples + data.alignmentHarmfulN)`,
            needed: poison + carved,
            available: harmful.length,
          }),
        );
      }
      alignmentHarmful = harmful.slice(harmful.length - carved);
      harmful = harmful.slice(0, harmful.length - carved);
    } else if (provider) {
      alignmentHarmful = yield* load(d.alignmentHarmfulPath, {
        isSafe: false,
        kind: "harmful",
        limit: d.alignmentHarmfulN,
      });
    }
    if (needs.alignment && d.alignmentPath) {
      alignment = yield* load(d.alignmentPath, { kind: "alignment", limit: d.alignmentN });
    } else {
      alignment = [];
    }
    if (!needs.user) harmful = [];
    if (!needs.evaluation) harmfulEval = [];
    return {
      alignment,
      harmful,
      alignmentHarmful,
      harmfulEval,
      taskTrain,
      taskTest,
      skipped,
      invalidUtf8,
    };
  });
}

/**
 * Load (or generate) the datasets `needs` asks for (default: all) and check that no training
 * set shares a prompt with an evaluation set.
 */
export function loadDatasets(
  cfg: ExperimentConfig,
  needs: DatasetNeeds = ALL_DATASETS,
): Effect.Effect<Datasets, DataError> {
  return Effect.gen(function* () {
    const ds = cfg.data.task in EMBEDDED_TASK
      ? yield* Effect.try({
        try: () => embedded(cfg, needs),
        catch: (e): DataError =>
          e instanceof SourceTooSmall || e instanceof SplitOverlap ? e : new DataInvalid({
            file: "(embedded suite)",
            line: 0,
            field: "data.n / eval.taskN",
            expected: `sizes the ${cfg.data.task} generator can produce`,
            found: e instanceof Error ? e.message : String(e),
          }),
      })
      : yield* fromFiles(cfg, needs);
    const evalSets = [
      { name: "harmful evaluation prompts", examples: ds.harmfulEval },
      { name: "task test set", examples: ds.taskTest },
    ];
    const trainSets = [
      { name: "alignment data", examples: ds.alignment },
      { name: "harmful fine-tuning data", examples: ds.harmful },
      { name: "the provider's harmful data", examples: ds.alignmentHarmful },
      { name: "task training set", examples: ds.taskTrain },
    ];
    for (const t of trainSets) for (const e of evalSets) yield* checkDisjoint(t, e);
    return ds;
  });
}

/**
 * Say which file (or embedded set) and which settings a too-small source is about: the mixing
 * stage only knows it as `task`, `harmful` or `alignment`.
 */
function nameSource(cfg: ExperimentConfig, e: SourceTooSmall): SourceTooSmall {
  const d = cfg.data;
  const from = (path: string, what: string) => path ? `${what} ${path}` : `the embedded ${what}`;
  const source = e.source === "task"
    ? `${from(d.taskPath, "task training file")} (data.n = ${d.n} x (1 - data.p = ${d.p}))`
    : e.source === "harmful"
    ? `${from(d.harmfulPath, "harmful data file")} (data.p = ${d.p} x data.n = ${d.n}` +
      (d.harmfulEvalPath ? ")" : `, after eval.harmfulN = ${cfg.eval.harmfulN} held out)`)
    : e.source === "alignment"
    ? `${from(d.alignmentPath, "alignment data file")} (method.vlguardK = ${cfg.method.vlguardK})`
    : e.source;
  return new SourceTooSmall({ source, needed: e.needed, available: e.available });
}

/**
 * The `mixHarmful` stage for the configured method: floor(p*n) harmful and floor((1-p)*n)
 * task samples, plus k alignment samples for Vlguard. A source with too few samples fails
 * naming its file and the settings that asked for them.
 */
export function userData(
  cfg: ExperimentConfig,
  ds: Datasets,
  methodName: FinetuneMethodName,
): Effect.Effect<Mixture, DataError> {
  return Effect.gen(function* () {
    const mixture = yield* mixHarmful({
      task: ds.taskTrain,
      harmful: ds.harmful,
      n: cfg.data.n,
      p: cfg.data.p,
      seed: cfg.seed,
      selection: cfg.data.selection,
    });
    if (!methodSpec(methodName).mixesAlignmentData) return mixture;
    const examples = yield* mixAlignment({
      user: mixture.examples,
      alignment: ds.alignment,
      k: cfg.method.vlguardK,
      seed: cfg.seed,
    });
    return { ...mixture, examples };
  }).pipe(Effect.mapError((e) => (e instanceof SourceTooSmall ? nameSource(cfg, e) : e)));
}
