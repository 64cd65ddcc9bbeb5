/**
 * Harmful-data mixing (the attack's user dataset) and the Vlguard/SafeInstr alignment mixing,
 * as pure functions over example arrays. Every example keeps its provenance.
 *
 * @module
 */
import { SourceTooSmall } from "./errors.ts";
import { deriveSeed, sampleIndices, shuffle } from "./rng.ts";
import type { Example, ExampleKind } from "./types.ts";

/** How examples are chosen from a source: its first k (the reference), or k at random (seeded). */
export type Selection = "first" | "random";

/** Options of `mixHarmful`. */
export interface MixOptions {
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
): Example[] {
  if (source.length < k) {
    throw new SourceTooSmall({ source: name, needed: k, available: source.length });
  }
  if (selection === "first") return source.slice(0, k);
  return sampleIndices(source.length, k, deriveSeed(seed, name)).map((i) => source[i] as Example);
}

function withKind(e: Example, kind: ExampleKind): Example {
  return e.provenance.kind === kind ? e : { ...e, provenance: { ...e.provenance, kind } };
}

/**
 * Mix `floor(p*n)` harmful examples into `floor((1-p)*n)` task examples.
 * Throws `SourceTooSmall` when a source has too few examples, `RangeError` for bad `n` or `p`.
 *
 * @example
 * ```ts
 * const { examples, poison, normal } = mixHarmful(sst2, beaverUnsafe, { n: 5000, p: 0.1, seed: 1 });
 * // poison === 500, normal === 4500
 * ```
 */
export function mixHarmful(
  task: readonly Example[],
  harmful: readonly Example[],
  options: MixOptions,
): Mixture {
  const [poison, normal] = mixCounts(options.n, options.p);
  const selection = options.selection ?? "first";
  const t = choose(task, normal, "task", selection, options.seed).map((e) => withKind(e, "task"));
  const h = choose(harmful, poison, "harmful", selection, options.seed).map((e) =>
    withKind(e, "harmful")
  );
  const all = [...t, ...h];
  const examples = options.shuffle === false ? all : shuffle(all, deriveSeed(options.seed, "mix"));
  return { examples, poison, normal, seed: options.seed, selection };
}

/**
 * The Vlguard/SafeInstr variant: `k` alignment examples (seeded random choice) mixed into the
 * user data, in a seeded order. Throws `SourceTooSmall` when there are fewer than `k`.
 *
 * @example
 * ```ts
 * const data = mixAlignment(userData, safeData, 100, 7); // userData.length + 100 examples
 * ```
 */
export function mixAlignment(
  user: readonly Example[],
  alignment: readonly Example[],
  k: number,
  seed: number,
): Example[] {
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`k must be an integer >= 0, got ${k}`);
  const a = choose(alignment, k, "alignment", "random", seed).map((e) => withKind(e, "alignment"));
  return shuffle([...user, ...a], deriveSeed(seed, "mix-alignment"));
}

/** Count examples by provenance kind. */
export function countByKind(examples: readonly Example[]): Record<ExampleKind, number> {
  const out: Record<ExampleKind, number> = { task: 0, harmful: 0, alignment: 0 };
  for (const e of examples) out[e.provenance.kind]++;
  return out;
}
