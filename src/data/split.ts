/**
 * Split helpers with a checked guarantee: no training set shares a (normalised) prompt with an
 * evaluation set. The check runs on the sets actually produced; an overlap is an error.
 *
 * @module
 */
import { Effect } from "effect";
import { SourceTooSmall, SplitOverlap } from "./errors.ts";
import { deriveSeed, shuffle } from "./rng.ts";
import { normalisePrompt } from "./templates.ts";
import type { Example } from "./types.ts";

/** A named set of examples, for overlap checks and their messages. */
export interface NamedSet {
  /** Name used in error messages. */
  readonly name: string;
  /** The examples of the set. */
  readonly examples: readonly Example[];
}

/**
 * The `SplitOverlap` of two sets when any evaluation prompt also appears (normalised: case and
 * whitespace ignored) in the training set, else null.
 */
export function findOverlap(train: NamedSet, evaluation: NamedSet): SplitOverlap | null {
  const seen = new Map<string, number>();
  train.examples.forEach((e, i) => {
    const key = normalisePrompt(e);
    if (!seen.has(key)) seen.set(key, i);
  });
  let count = 0;
  let first: { t: number; e: number; text: string } | null = null;
  evaluation.examples.forEach((e, i) => {
    const t = seen.get(normalisePrompt(e));
    if (t === undefined) return;
    count++;
    first ??= { t, e: i, text: e.instruction.slice(0, 60) };
  });
  if (first === null) return null;
  const f: { t: number; e: number; text: string } = first;
  return new SplitOverlap({
    train: train.name,
    evaluation: evaluation.name,
    count,
    example: f.text,
    trainRow: f.t + 1,
    evaluationRow: f.e + 1,
  });
}

/** Fail with `SplitOverlap` when the sets share a prompt (see {@link findOverlap}). */
export function checkDisjoint(
  train: NamedSet,
  evaluation: NamedSet,
): Effect.Effect<void, SplitOverlap> {
  return Effect.suspend(() => {
    const overlap = findOverlap(train, evaluation);
    return overlap ? Effect.fail(overlap) : Effect.void;
  });
}

/**
 * Throw `SplitOverlap` when the sets share a prompt: for generators whose output is disjoint
 * by construction, where an overlap is a bug. Data from files is checked with
 * {@link checkDisjoint}.
 */
export function assertDisjoint(train: NamedSet, evaluation: NamedSet): void {
  const overlap = findOverlap(train, evaluation);
  if (overlap) throw overlap;
}

/** Drop the examples whose normalised prompt is in `exclude` (or repeats an earlier one when `dedupe`). */
export function withoutPrompts(
  examples: readonly Example[],
  exclude: readonly Example[],
  dedupe = false,
): Example[] {
  const banned = new Set(exclude.map(normalisePrompt));
  return examples.filter((e) => {
    const key = normalisePrompt(e);
    if (banned.has(key)) return false;
    if (dedupe) banned.add(key);
    return true;
  });
}

/** A task train/test split. */
export interface TrainTest {
  /** Training examples. */
  readonly train: Example[];
  /** Test examples (no prompt shared with train). */
  readonly test: Example[];
}

/**
 * Split one task source into train and test: `test` examples go to the test set (seeded choice),
 * the rest to train minus any example whose prompt also appears in the test set; then checked.
 */
export function splitTrainTest(
  examples: readonly Example[],
  options: { readonly test: number; readonly seed: number; readonly name?: string },
): Effect.Effect<TrainTest, SourceTooSmall | SplitOverlap> {
  return Effect.gen(function* () {
    if (examples.length < options.test) {
      return yield* new SourceTooSmall({
        source: options.name ?? "task",
        needed: options.test,
        available: examples.length,
      });
    }
    const order = shuffle(examples, deriveSeed(options.seed, "train-test"));
    const test = order.slice(0, options.test);
    const train = withoutPrompts(order.slice(options.test), test);
    const name = options.name ?? "task";
    yield* checkDisjoint({ name: `${name}/train`, examples: train }, {
      name: `${name}/test`,
      examples: test,
    });
    return { train, test };
  });
}

/** The safety data of a run: alignment (safe), harmful fine-tuning, and harmful evaluation prompts. */
export interface SafetySplits {
  /** Safe answers to harmful prompts. */
  readonly alignment: Example[];
  /** Harmful prompts with harmful answers. */
  readonly harmful: Example[];
  /** Harmful prompts held out for the harmful score. */
  readonly evaluation: Example[];
}

/**
 * Split BeaverTails-style data: the evaluation prompts are taken from `unsafe` first (its first
 * `evaluation`, or seeded random when `seed` is given); the harmful and alignment sets are then
 * taken from what remains, without any evaluation prompt. Disjointness is checked.
 */
export function splitSafety(
  unsafe: readonly Example[],
  safe: readonly Example[],
  sizes: { readonly alignment: number; readonly harmful: number; readonly evaluation: number },
  seed?: number,
): Effect.Effect<SafetySplits, SourceTooSmall | SplitOverlap> {
  return Effect.gen(function* () {
    const pool = seed === undefined ? unsafe.slice() : shuffle(unsafe, deriveSeed(seed, "safety"));
    const evaluation = withoutPrompts(pool, [], true).slice(0, sizes.evaluation);
    if (evaluation.length < sizes.evaluation) {
      return yield* new SourceTooSmall({
        source: "harmful evaluation",
        needed: sizes.evaluation,
        available: evaluation.length,
      });
    }
    const harmfulPool = withoutPrompts(pool, evaluation);
    const alignPool = withoutPrompts(
      seed === undefined ? safe : shuffle(safe, deriveSeed(seed, "align")),
      evaluation,
    );
    if (harmfulPool.length < sizes.harmful) {
      return yield* new SourceTooSmall({
        source: "harmful",
        needed: sizes.harmful,
        available: harmfulPool.length,
      });
    }
    if (alignPool.length < sizes.alignment) {
      return yield* new SourceTooSmall({
        source: "alignment",
        needed: sizes.alignment,
        available: alignPool.length,
      });
    }
    const out = {
      alignment: alignPool.slice(0, sizes.alignment),
      harmful: harmfulPool.slice(0, sizes.harmful),
      evaluation,
    };
    const ev = { name: "harmful evaluation", examples: out.evaluation };
    yield* checkDisjoint({ name: "alignment", examples: out.alignment }, ev);
    yield* checkDisjoint({ name: "harmful fine-tuning", examples: out.harmful }, ev);
    return out;
  });
}
