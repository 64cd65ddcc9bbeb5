/**
 * A small seeded random number generator (mulberry32) and helpers built on it. The same seed
 * gives the same sequence on every run and platform; library code never uses `Math.random`.
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
}

/** Mix any number into a 32-bit seed (integers map to themselves modulo 2^32). */
function toSeed32(seed: number): number {
  if (Number.isInteger(seed)) return seed >>> 0;
  return hashString(String(seed));
}

/** 32-bit FNV-1a hash of a string: derive sub-seeds from names (`hashString("eval")`). */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Combine a seed with a label into a new independent-looking seed. */
export function deriveSeed(seed: number, label: string): number {
  return (hashString(label) ^ Math.imul(toSeed32(seed) + 0x9e3779b9, 0x85ebca6b)) >>> 0;
}

/**
 * A mulberry32 generator.
 *
 * @example
 * ```ts
 * const rng = makeRng(42);
 * const x = rng.next(); // same value on every run
 * ```
 */
export function makeRng(seed: number): Rng {
  let state = toSeed32(seed);
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
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
  return { next, int, pick };
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
