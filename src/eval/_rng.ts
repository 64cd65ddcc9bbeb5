/**
 * A small seeded random source (mulberry32) for the classifier's initialisation and shuffles,
 * so the same seed gives the same numbers everywhere. Private to `src/eval`.
 *
 * @module
 */

/** A function returning uniform floats in [0, 1), deterministic for a seed. */
export type Rng = () => number;

/** A mulberry32 generator seeded with the low 32 bits of `seed`. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A Fisher-Yates shuffle of `0..n-1` drawn from `rng`. */
export function shuffledIndices(n: number, rng: Rng): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx;
}
