/**
 * 95% confidence intervals for the project's proportions and statistics: the Wilson score
 * interval for a count out of n (HS, FA, accuracy, recall), and a seeded percentile bootstrap
 * for statistics without a closed form (F1, AUROC, Cohen's kappa).
 *
 * One helper for the whole project: metrics, reports and the judge evaluation all call these.
 * Intervals are in the same unit as the point estimate (a proportion in [0, 1]; use
 * {@link scaleEstimate} for percentages).
 *
 * @module
 */
import { makeRng } from "../data/rng.ts";

/** A point estimate with its confidence interval. */
export interface Estimate {
  /** The point estimate. */
  readonly value: number;
  /** Lower end of the interval. */
  readonly low: number;
  /** Upper end of the interval. */
  readonly high: number;
}

/** z for a two-sided 95% interval. */
export const Z95 = 1.959963984540054;

/** An interval over nothing: every field `NaN`. */
export const NO_ESTIMATE: Estimate = { value: Number.NaN, low: Number.NaN, high: Number.NaN };

/**
 * The Wilson score interval of the proportion `successes / n` (default 95%). Unlike the
 * normal approximation it stays inside [0, 1] and is honest at 0/n and n/n. Over n = 0 every
 * field is `NaN`.
 *
 * @example
 * ```ts
 * wilsonEstimate(0, 100); // { value: 0, low: 0, high: 0.037 }
 * wilsonEstimate(50, 100); // { value: 0.5, low: 0.404, high: 0.596 }
 * ```
 */
export function wilsonEstimate(successes: number, n: number, z: number = Z95): Estimate {
  if (!(n > 0)) return NO_ESTIMATE;
  if (!(successes >= 0 && successes <= n)) {
    throw new RangeError(`wilsonEstimate: successes ${successes} outside [0, ${n}]`);
  }
  const p = successes / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // At 0/n and n/n the exact end is the estimate itself; rounding must not move it.
  const low = successes === 0 ? 0 : Math.max(0, centre - half);
  const high = successes === n ? 1 : Math.min(1, centre + half);
  return { value: p, low, high };
}

/** Multiply every field of an interval by `factor` (e.g. 100 for percentages). */
export function scaleEstimate(i: Estimate, factor: number): Estimate {
  return { value: i.value * factor, low: i.low * factor, high: i.high * factor };
}

/** Options of {@link bootstrapInterval}. */
export interface BootstrapOptions {
  /** Resamples. Default 1000. */
  readonly resamples?: number;
  /** Seed of the resampling; the same seed gives the same interval. Default 0. */
  readonly seed?: number;
  /** Two-sided coverage. Default 0.95. */
  readonly level?: number;
}

/** The `q`-quantile of sorted finite values, linear between order statistics. */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/**
 * A seeded percentile-bootstrap interval of `statistic` over `n` items: each resample draws n
 * indices with replacement and evaluates `statistic(indices)`. Resamples where the statistic is
 * undefined (`NaN`, e.g. AUROC of a one-class resample) are dropped. Deterministic by seed.
 *
 * @example
 * ```ts
 * const scores = [0.9, 0.2, 0.7], labels = [true, false, true];
 * const ci = bootstrapInterval(3, (idx) => auroc(idx.map((i) => scores[i]), idx.map((i) => labels[i])));
 * ```
 */
export function bootstrapInterval(
  n: number,
  statistic: (indices: readonly number[]) => number,
  opts: BootstrapOptions = {},
): Estimate {
  const all = Array.from({ length: n }, (_, i) => i);
  const value = n === 0 ? Number.NaN : statistic(all);
  if (n === 0 || Number.isNaN(value)) return { value, low: Number.NaN, high: Number.NaN };
  const rng = makeRng(opts.seed ?? 0);
  const level = opts.level ?? 0.95;
  const stats: number[] = [];
  const idx = new Array<number>(n);
  for (let b = 0; b < (opts.resamples ?? 1000); b++) {
    for (let i = 0; i < n; i++) idx[i] = rng.int(n);
    const s = statistic(idx);
    if (Number.isFinite(s)) stats.push(s);
  }
  stats.sort((a, b) => a - b);
  const tail = (1 - level) / 2;
  return { value, low: quantileSorted(stats, tail), high: quantileSorted(stats, 1 - tail) };
}

/**
 * `value [low, high]` with `digits` decimals; `n/a` when undefined.
 *
 * @example
 * ```ts
 * formatEstimate({ value: 12.5, low: 8.1, high: 18.8 }, 1); // "12.5 [8.1, 18.8]"
 * ```
 */
export function formatEstimate(i: Estimate, digits = 1): string {
  if (Number.isNaN(i.value)) return "n/a";
  if (Number.isNaN(i.low)) return i.value.toFixed(digits);
  return `${i.value.toFixed(digits)} [${i.low.toFixed(digits)}, ${i.high.toFixed(digits)}]`;
}
