/**
 * Harmful-data mixing (the attack's user dataset) and the Vlguard/SafeInstr alignment mixing,
 * as pure stages over example arrays: one input record in, an Effect out that fails only with
 * `SourceTooSmall`. Every example keeps its provenance.
 *
 * @module
 */
import { Effect } from "effect";
import { SourceTooSmall } from "./errors.ts";
import { deriveSeed, sampleIndices, shuffle } from "./rng.ts";
import type { Example, ExampleKind } from "./types.ts";

/** How examples are chosen from a source: its first k (the reference), or k at random (seeded). */
export type Selection = "first" | "random";

/** The input of the `mixHarmful` stage. */
export interface MixHarmfulInput {
  /** The task's training examples (the user's benign data). */
  readonly task: readonly Example[];
  /** Harmful prompts with harmful answers (the attacker's share). */
  readonly harmful: readonly Example[];
  /** Total size `n` of the user dataset. */
  readonly n: number;
  /** Harmful ratio `p` in [0, 1]. */
  readonly p: number;
  /** Seed of the random selection and of the final order. */
  readonly seed: number;
  /** `first` (default, the reference's) or `random`. */
  readonly selection?: Selection;
  /** Shuffle the mixed set (seeded); default true. When false: task examples, then harmful. */
  readonly shuffle?: boolean;
}

/** A mixed user dataset and the numbers that made it. */
export interface Mixture {
  /** The mixed examples (seeded order unless `shuffle: false`). */
  readonly examples: Example[];
  /** Harmful examples: `floor(p * n)`. */
  readonly poison: number;
  /** Task examples: `floor((1 - p) * n)`. */
  readonly normal: number;
  /** The seed used. */
  readonly seed: number;
  /** The selection used. */
  readonly selection: Selection;
}

/**
 * `floor(x)` that ignores the representation error of decimal ratios, so that
 * `0.29 * 100` counts as 29 (the reference's float product gives 28.999…).
 */
export function exactFloor(x: number): number {
  return Math.floor(x + 1e-9);
}

/** The counts `[poison, normal]` for `n` samples at ratio `p`. */
export function mixCounts(n: number, p: number): [number, number] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be an integer >= 0, got ${n}`);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`p must be in [0, 1], got ${p}`);
  return [exactFloor(p * n), exactFloor((1 - p) * n)];
}

function choose(
  source: readonly Example[],
  k: number,
  name: string,
  selection: Selection,
  seed: number,
): Effect.Effect<Example[], SourceTooSmall> {
  if (source.length < k) {
    return Effect.fail(new SourceTooSmall({ source: name, needed: k, available: source.length }));
  }
  if (selection === "first") return Effect.succeed(source.slice(0, k));
  return Effect.succeed(
    sampleIndices(source.length, k, deriveSeed(seed, name)).map((i) => source[i] as Example),
  );
}

function withKind(e: Example, kind: ExampleKind): Example {
  return e.provenance.kind === kind ? e : { ...e, provenance: { ...e.provenance, kind } };
}

/**
 * The `mixHarmful` stage: `floor(p*n)` harmful examples mixed into `floor((1-p)*n)` task
 * examples. Fails with `SourceTooSmall` when a source has too few examples; a bad `n` or `p` is
 * a defect (the config schema rejects them first).
 *
 * @example
 * ```ts
 * const { examples, poison, normal } = await Effect.runPromise(
 *   mixHarmful({ task: sst2, harmful: beaverUnsafe, n: 5000, p: 0.1, seed: 1 }),
 * );
 * // poison === 500, normal === 4500
 * ```
 */
export function mixHarmful(input: MixHarmfulInput): Effect.Effect<Mixture, SourceTooSmall> {
  return Effect.gen(function* () {
    const [poison, normal] = mixCounts(input.n, input.p);
    const selection = input.selection ?? "first";
    const t = yield* choose(input.task, normal, "task", selection, input.seed);
    const h = yield* choose(input.harmful, poison, "harmful", selection, input.seed);
    const all = [...t.map((e) => withKind(e, "task")), ...h.map((e) => withKind(e, "harmful"))];
    const examples = input.shuffle === false ? all : shuffle(all, deriveSeed(input.seed, "mix"));
    return { examples, poison, normal, seed: input.seed, selection };
  });
}

/** The input of {@link mixAlignment}. */
export interface MixAlignmentInput {
  /** The user data. */
  readonly user: readonly Example[];
  /** The alignment data to draw from. */
  readonly alignment: readonly Example[];
  /** Alignment samples to mix in. */
  readonly k: number;
  /** Seed of the choice and of the order. */
  readonly seed: number;
}

/**
 * The Vlguard/SafeInstr variant: `k` alignment examples (seeded random choice) mixed into the
 * user data, in a seeded order. Fails with `SourceTooSmall` when there are fewer than `k`.
 *
 * @example
 * ```ts
 * const data = await Effect.runPromise(
 *   mixAlignment({ user: userData, alignment: safeData, k: 100, seed: 7 }),
 * ); // userData.length + 100 examples
 * ```
 */
export function mixAlignment(input: MixAlignmentInput): Effect.Effect<Example[], SourceTooSmall> {
  return Effect.gen(function* () {
    const { k, seed } = input;
    if (!Number.isInteger(k) || k < 0) throw new RangeError(`k must be an integer >= 0, got ${k}`);
    const a = yield* choose(input.alignment, k, "alignment", "random", seed);
    const mixed = [...input.user, ...a.map((e) => withKind(e, "alignment"))];
    return shuffle(mixed, deriveSeed(seed, "mix-alignment"));
  });
}

/** Count examples by provenance kind. */
export function countByKind(examples: readonly Example[]): Record<ExampleKind, number> {
  const out: Record<ExampleKind, number> = { task: 0, harmful: 0, alignment: 0 };
  for (const e of examples) out[e.provenance.kind]++;
  return out;
}
