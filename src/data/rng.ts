/**
 * The project's one seeded random number generator (mulberry32: its whole state is one 32-bit
 * integer, so it is trivially saved and resumed) and the helpers built on it: seed derivation
 * by FNV-1a, shuffles and samples. The same seed gives the same sequence on every run, backend
 * and platform; library code never uses `Math.random`.
 *
 * Two seedings exist for historical streams that must stay bit-identical: {@link makeRng}
 * starts from the seed itself (data, embedded suite, judge training); {@link seededRandom}
 * mixes it with the golden ratio first (weight init, LoRA init, sampling, batch order).
 *
 * @module
 */

/** A seeded stream of uniform numbers. Each call advances the state. */
export interface Rng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n) (n >= 1). */
  int(n: number): number;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** The current state; {@link rngFromState} continues the same stream from it. */
  readonly state: number;
}

const FNV_OFFSET = 0x811c9dc5;
const GOLDEN = 0x9e3779b9;

/** Mix any number into a 32-bit seed (integers map to themselves modulo 2^32). */
function toSeed32(seed: number): number {
  if (Number.isInteger(seed)) return seed >>> 0;
  return hashString(String(seed));
}

/**
 * 32-bit FNV-1a hash of a string: derive sub-seeds from names (`hashString("eval")`). `basis`
 * replaces the standard offset basis (see {@link subSeed}).
 */
export function hashString(text: string, basis: number = FNV_OFFSET): number {
  let h = basis >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Combine a seed with a label into a new independent-looking seed. */
export function deriveSeed(seed: number, label: string): number {
  return (hashString(label) ^ Math.imul(toSeed32(seed) + GOLDEN, 0x85ebca6b)) >>> 0;
}

/** A sub-seed for a named part (a parameter, a LoRA module): FNV-1a of the label from `seed`. */
export function subSeed(seed: number, label: string): number {
  return hashString(label, FNV_OFFSET ^ (seed >>> 0));
}

/**
 * The mulberry32 generator continuing from `state` (a 32-bit integer, e.g. a saved
 * {@link Rng.state}).
 *
 * @example
 * ```ts
 * const a = makeRng(7);
 * a.next();
 * const b = rngFromState(a.state);
 * b.next() === a.next(); // true
 * ```
 */
export function rngFromState(state: number): Rng {
  let s = state >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => {
    if (!(n >= 1)) throw new RangeError(`int(n) needs n >= 1, got ${n}`);
    return Math.floor(next() * n);
  };
  const pick = <T>(items: readonly T[]): T => {
    if (items.length === 0) throw new RangeError("pick() from an empty array");
    return items[int(items.length)] as T;
  };
  return {
    next,
    int,
    pick,
    get state() {
      return s;
    },
  };
}

/**
 * A generator seeded by `seed` itself (non-integers are hashed).
 *
 * @example
 * ```ts
 * const rng = makeRng(42);
 * const x = rng.next(); // same value on every run
 * ```
 */
export function makeRng(seed: number): Rng {
  return rngFromState(toSeed32(seed));
}

/**
 * A uniform sampler in [0, 1) seeded by `seed` mixed with the golden ratio: the stream of
 * weight and adapter initialisation, generation sampling and batch order.
 */
export function seededRandom(seed: number): () => number {
  return rngFromState(Math.floor(seed) ^ GOLDEN).next;
}

/** A new array with the items in a seeded random order (Fisher-Yates); the input is untouched. */
export function shuffle<T>(items: readonly T[], seed: number): T[] {
  const next = makeRng(seed).next;
  return shuffledIndices(items.length, next).map((i) => items[i] as T);
}

/**
 * A Fisher-Yates permutation of `0..n-1` drawn from `next` (uniform in [0, 1)); the one
 * shuffle every seeded order in the project uses.
 */
export function shuffledIndices(n: number, next: () => number): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    const a = out[i]!;
    out[i] = out[j]!;
    out[j] = a;
  }
  return out;
}

/** `k` distinct indices in [0, n), in a seeded random order. */
export function sampleIndices(n: number, k: number, seed: number): number[] {
  if (k > n) throw new RangeError(`cannot sample ${k} of ${n}`);
  const idx = Array.from({ length: n }, (_, i) => i);
  return shuffle(idx, seed).slice(0, k);
}
