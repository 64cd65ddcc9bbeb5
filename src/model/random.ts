/**
 * Seeded initial values in plain JavaScript, so that the same seed gives the same weights on
 * every backend. The generator is the project's one RNG (`src/data/rng.ts`).
 *
 * @module
 */
export { seededRandom, subSeed } from "../data/rng.ts";

/** `n` normal samples with the given std (Box-Muller). */
export function normalArray(n: number, std: number, rand: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - rand();
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u)) * std;
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** `n` uniform samples in [-bound, bound). */
export function uniformArray(n: number, bound: number, rand: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * rand() - 1) * bound;
  return out;
}
