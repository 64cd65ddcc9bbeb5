/**
 * A small seeded random number generator (mulberry32) whose whole state is one 32-bit integer,
 * so it is trivially saved in a checkpoint. Library code never uses `Math.random`.
 *
 * @module
 */
import { shuffledIndices } from "../data/rng.ts";

/** A seeded generator: `next()` returns a float in [0, 1); `state` round-trips through JSON. */
export interface Rng {
  /** A uniform float in [0, 1). */
  next(): number;
  /** The current state; `makeRng(0, state)` continues the same stream. */
  readonly state: number;
}

/** A generator seeded by `seed`, or resumed from a saved `state`. */
export function makeRng(seed: number, state?: number): Rng {
  let s = (state ?? (seed ^ 0x9e3779b9)) >>> 0;
  return {
    next() {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = s;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
    get state() {
      return s;
    },
  };
}

/** A seeded Fisher-Yates permutation of `0 .. n-1`. */
export function permutation(n: number, rng: Rng): number[] {
  return shuffledIndices(n, () => rng.next());
}
