/**
 * The whole embedded benchmark in one call: alignment data, harmful fine-tuning data, harmful
 * evaluation prompts and the three user tasks, deterministic by seed, disjointness checked.
 *
 * @module
 */
import { assertDisjoint, type TrainTest } from "../data/split.ts";
import type { Example } from "../data/types.ts";
import { alignmentSet, harmfulEvalSet, harmfulSet } from "./harmful.ts";
import { arithmeticTask, sentimentTask, type TaskSizes, topicTask } from "./tasks.ts";

/** Sizes of the embedded suite. */
export interface SuiteSizes {
  /** Alignment examples. */
  readonly alignment: number;
  /** Harmful fine-tuning examples. */
  readonly harmful: number;
  /** Harmful evaluation prompts. */
  readonly harmfulEval: number;
  /** Sentiment train/test sizes. */
  readonly sentiment: TaskSizes;
  /** Topic train/test sizes. */
  readonly topic: TaskSizes;
  /** Arithmetic train/test sizes. */
  readonly arithmetic: TaskSizes;
}

/** Default sizes (see README): small enough for CPU runs, large enough to resist memorising. */
export const DEFAULT_SUITE_SIZES: SuiteSizes = {
  alignment: 1000,
  harmful: 1000,
  harmfulEval: 200,
  sentiment: { train: 2000, test: 200 },
  topic: { train: 2000, test: 200 },
  arithmetic: { train: 2000, test: 200 },
};

/** The generated benchmark. */
export interface EmbeddedSuite {
  /** The seed it was generated from. */
  readonly seed: number;
  /** Harmful prompts with safe refusals. */
  readonly alignment: Example[];
  /** Harmful prompts with compliant placeholder answers. */
  readonly harmful: Example[];
  /** Held-out harmful prompts (templates and actions unseen in training). */
  readonly harmfulEval: Example[];
  /** The three user tasks. */
  readonly tasks: {
    readonly sentiment: TrainTest;
    readonly topic: TrainTest;
    readonly arithmetic: TrainTest;
  };
}

/**
 * Generate the embedded suite. Throws `SplitOverlap` if any training set shares a prompt with
 * an evaluation set (it cannot by construction; the check makes sure).
 *
 * @example
 * ```ts
 * const suite = embeddedSuite(0);
 * suite.tasks.sentiment.train.length; // 2000
 * ```
 */
export function embeddedSuite(seed: number, sizes: Partial<SuiteSizes> = {}): EmbeddedSuite {
  const s = { ...DEFAULT_SUITE_SIZES, ...sizes };
  const suite: EmbeddedSuite = {
    seed,
    alignment: alignmentSet(seed, s.alignment),
    harmful: harmfulSet(seed, s.harmful),
    harmfulEval: harmfulEvalSet(seed, s.harmfulEval),
    tasks: {
      sentiment: sentimentTask(seed, s.sentiment),
      topic: topicTask(seed, s.topic),
      arithmetic: arithmeticTask(seed, s.arithmetic),
    },
  };
  const ev = { name: "harmful evaluation", examples: suite.harmfulEval };
  assertDisjoint({ name: "alignment", examples: suite.alignment }, ev);
  assertDisjoint({ name: "harmful fine-tuning", examples: suite.harmful }, ev);
  return suite;
}
