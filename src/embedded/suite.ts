/**
 * The whole embedded benchmark in one call: alignment data, harmful fine-tuning data, harmful
 * validation and evaluation prompts and the three user tasks (train / validation / test),
 * deterministic by seed, disjointness checked.
 *
 * @module
 */
import { assertDisjoint } from "../data/split.ts";
import type { Example } from "../data/types.ts";
import { alignmentSet, harmfulEvalSet, harmfulSet, harmfulValidationSet } from "./harmful.ts";
import {
  arithmeticTask,
  sentimentTask,
  type TaskSizes,
  type TaskSplits,
  topicTask,
} from "./tasks.ts";

/** Sizes of the embedded suite. */
export interface SuiteSizes {
  /** Alignment examples. */
  readonly alignment: number;
  /** Harmful fine-tuning examples. */
  readonly harmful: number;
  /** Harmful evaluation prompts (at most 504, the pool). */
  readonly harmfulEval: number;
  /** Harmful validation prompts (at most 252, the pool). */
  readonly harmfulValidation: number;
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
  harmfulEval: 504,
  harmfulValidation: 252,
  sentiment: { train: 2000, test: 400, validation: 200 },
  topic: { train: 2000, test: 400, validation: 200 },
  arithmetic: { train: 2000, test: 400, validation: 200 },
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
  /** Harmful validation prompts (templates and actions unseen in training and evaluation). */
  readonly harmfulValidation: Example[];
  /** The three user tasks. */
  readonly tasks: {
    readonly sentiment: TaskSplits;
    readonly topic: TaskSplits;
    readonly arithmetic: TaskSplits;
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
 * suite.harmfulEval.length; // 504
 * ```
 */
export function embeddedSuite(seed: number, sizes: Partial<SuiteSizes> = {}): EmbeddedSuite {
  const s = { ...DEFAULT_SUITE_SIZES, ...sizes };
  const suite: EmbeddedSuite = {
    seed,
    alignment: alignmentSet(seed, s.alignment),
    harmful: harmfulSet(seed, s.harmful),
    harmfulEval: harmfulEvalSet(seed, s.harmfulEval),
    harmfulValidation: harmfulValidationSet(seed, s.harmfulValidation),
    tasks: {
      sentiment: sentimentTask(seed, s.sentiment),
      topic: topicTask(seed, s.topic),
      arithmetic: arithmeticTask(seed, s.arithmetic),
    },
  };
  const ev = { name: "harmful evaluation", examples: suite.harmfulEval };
  const val = { name: "harmful validation", examples: suite.harmfulValidation };
  for (const held of [ev, val]) {
    assertDisjoint({ name: "alignment", examples: suite.alignment }, held);
    assertDisjoint({ name: "harmful fine-tuning", examples: suite.harmful }, held);
  }
  assertDisjoint(val, ev);
  return suite;
}
