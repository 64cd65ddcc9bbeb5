/**
 * Binary logistic regression on sparse rows, fitted by L-BFGS: the linear model behind the
 * TF-IDF judges. The objective is scikit-learn's `LogisticRegression` (L2 penalty, unpenalised
 * intercept, optional balanced class weights), divided by the total sample weight:
 *
 *   f(w, b) = (1 / S) * [ sum_i s_i * log(1 + exp(-t_i (x_i . w + b))) + ||w||^2 / (2 C) ]
 *
 * with t_i = +1 for the positive class and -1 otherwise, s_i the sample weights and S their
 * sum. It is strictly convex, so any solver that converges reaches the same weights; plain
 * JavaScript in float64, deterministic on every platform.
 *
 * @module
 */

/** Sparse rows in compressed-row form. */
export interface SparseRows {
  /** Number of columns (features). */
  readonly cols: number;
  /** Row `r` spans `indices[indptr[r]..indptr[r + 1])`; length rows + 1. */
  readonly indptr: Uint32Array;
  /** Column of each stored value, increasing within a row. */
  readonly indices: Uint32Array;
  /** The stored values. */
  readonly values: Float64Array;
}

/** Number of rows of a sparse matrix. */
export function rowCount(x: SparseRows): number {
  return x.indptr.length - 1;
}

/** Options of {@link fitLogistic}; every field has a default. */
export interface LogisticOptions {
  /** Inverse L2 strength C (scikit-learn's). Default 1. */
  readonly C?: number;
  /** `balanced` weighs each class by n / (2 * its count), as scikit-learn. Default none. */
  readonly classWeight?: "balanced" | "none";
  /** Iteration cap. Default 1000. */
  readonly maxIter?: number;
  /** Stop when the largest gradient component falls below this. Default 1e-6. */
  readonly tol?: number;
  /** Remembered correction pairs. Default 10. */
  readonly memory?: number;
  /** Called after each iteration with the objective value. */
  readonly onIteration?: (iteration: number, objective: number) => void;
}

/** A fitted binary logistic regression. */
export interface LogisticModel {
  /** Feature weights, length `cols`. */
  readonly coef: Float64Array;
  /** Intercept b. */
  readonly intercept: number;
  /** L-BFGS iterations run. */
  readonly iterations: number;
  /** Whether the gradient tolerance was reached before the cap. */
  readonly converged: boolean;
}

/** The decision values `x_i . w + b` for every row. */
export function decisionValues(
  x: SparseRows,
  coef: Float64Array,
  intercept: number,
): Float64Array {
  const n = rowCount(x);
  const out = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let z = intercept;
    for (let k = x.indptr[r]!; k < x.indptr[r + 1]!; k++) z += x.values[k]! * coef[x.indices[k]!]!;
    out[r] = z;
  }
  return out;
}

/** The logistic function, stable for large |z|. */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** log(1 + exp(v)), stable. */
function softplus(v: number): number {
  return v > 0 ? v + Math.log1p(Math.exp(-v)) : Math.log1p(Math.exp(v));
}

/** Per-row sample weights: 1, or balanced by class. */
export function sampleWeights(
  labels: readonly boolean[],
  classWeight: "balanced" | "none",
): Float64Array {
  const n = labels.length;
  const pos = labels.filter((l) => l).length;
  const wPos = classWeight === "balanced" && pos > 0 ? n / (2 * pos) : 1;
  const wNeg = classWeight === "balanced" && pos < n ? n / (2 * (n - pos)) : 1;
  return Float64Array.from(labels, (l) => (l ? wPos : wNeg));
}

/**
 * The objective and its gradient at `theta` = [w (cols), b]. `grad` is overwritten.
 */
function objective(
  x: SparseRows,
  t: Float64Array,
  s: Float64Array,
  totalWeight: number,
  C: number,
  theta: Float64Array,
  grad: Float64Array,
): number {
  const d = x.cols;
  const n = rowCount(x);
  grad.fill(0);
  let f = 0;
  const b = theta[d]!;
  for (let r = 0; r < n; r++) {
    let z = b;
    for (let k = x.indptr[r]!; k < x.indptr[r + 1]!; k++) z += x.values[k]! * theta[x.indices[k]!]!;
    const m = t[r]! * z; // margin
    f += s[r]! * softplus(-m);
    // d/dz of s * log(1 + exp(-t z)) = -s t sigmoid(-t z)
    const g = -s[r]! * t[r]! * sigmoid(-m);
    for (let k = x.indptr[r]!; k < x.indptr[r + 1]!; k++) {
      grad[x.indices[k]!] = grad[x.indices[k]!]! + g * x.values[k]!;
    }
    grad[d] = grad[d]! + g;
  }
  let sq = 0;
  for (let j = 0; j < d; j++) {
    sq += theta[j]! * theta[j]!;
    grad[j] = grad[j]! + theta[j]! / C;
  }
  f += sq / (2 * C);
  for (let j = 0; j <= d; j++) grad[j] = grad[j]! / totalWeight;
  return f / totalWeight;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/**
 * Fit a binary logistic regression (`labels[i]` true = positive class) by L-BFGS with an
 * Armijo backtracking line search. Deterministic: no randomness anywhere.
 *
 * @example
 * ```ts
 * const model = fitLogistic(rows, labels, { C: 1 });
 * const p = decisionValues(rows, model.coef, model.intercept).map(sigmoid);
 * ```
 */
export function fitLogistic(
  x: SparseRows,
  labels: readonly boolean[],
  opts: LogisticOptions = {},
): LogisticModel {
  const n = rowCount(x);
  if (labels.length !== n) {
    throw new RangeError(`fitLogistic: ${n} rows but ${labels.length} labels`);
  }
  const C = opts.C ?? 1;
  const maxIter = opts.maxIter ?? 1000;
  const tol = opts.tol ?? 1e-6;
  const m = opts.memory ?? 10;
  const d = x.cols;
  const t = Float64Array.from(labels, (l) => (l ? 1 : -1));
  const s = sampleWeights(labels, opts.classWeight ?? "none");
  const S = s.reduce((a, b) => a + b, 0);
  let theta = new Float64Array(d + 1);
  let grad = new Float64Array(d + 1);
  let f = objective(x, t, s, S, C, theta, grad);
  const sHist: Float64Array[] = [];
  const yHist: Float64Array[] = [];
  const rhoHist: number[] = [];
  const dir = new Float64Array(d + 1);
  const alpha = new Array<number>(m).fill(0);
  let iterations = 0;
  let converged = maxAbs(grad) <= tol;
  while (!converged && iterations < maxIter) {
    // Two-loop recursion: dir = -H grad.
    for (let i = 0; i <= d; i++) dir[i] = -grad[i]!;
    for (let k = sHist.length - 1; k >= 0; k--) {
      const a = rhoHist[k]! * dot(sHist[k]!, dir);
      alpha[k] = a;
      const y = yHist[k]!;
      for (let i = 0; i <= d; i++) dir[i] = dir[i]! - a * y[i]!;
    }
    if (sHist.length > 0) {
      const last = sHist.length - 1;
      const gamma = dot(sHist[last]!, yHist[last]!) / dot(yHist[last]!, yHist[last]!);
      for (let i = 0; i <= d; i++) dir[i] = dir[i]! * gamma;
    } else {
      const g = Math.sqrt(dot(grad, grad));
      for (let i = 0; i <= d; i++) dir[i] = dir[i]! / Math.max(g, 1);
    }
    for (let k = 0; k < sHist.length; k++) {
      const b = rhoHist[k]! * dot(yHist[k]!, dir);
      const sk = sHist[k]!;
      for (let i = 0; i <= d; i++) dir[i] = dir[i]! + (alpha[k]! - b) * sk[i]!;
    }
    let slope = dot(grad, dir);
    if (!(slope < 0)) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      sHist.length = yHist.length = rhoHist.length = 0;
      for (let i = 0; i <= d; i++) dir[i] = -grad[i]!;
      slope = dot(grad, dir);
    }
    let step = 1;
    const next = new Float64Array(d + 1);
    const nextGrad = new Float64Array(d + 1);
    let fNext = Number.POSITIVE_INFINITY;
    for (let tries = 0; tries < 40; tries++) {
      for (let i = 0; i <= d; i++) next[i] = theta[i]! + step * dir[i]!;
      fNext = objective(x, t, s, S, C, next, nextGrad);
      if (fNext <= f + 1e-4 * step * slope) break;
      step *= 0.5;
    }
    if (!(fNext <= f)) break; // no progress possible in float64
    const sk = new Float64Array(d + 1);
    const yk = new Float64Array(d + 1);
    for (let i = 0; i <= d; i++) {
      sk[i] = next[i]! - theta[i]!;
      yk[i] = nextGrad[i]! - grad[i]!;
    }
    const sy = dot(sk, yk);
    if (sy > 1e-12) {
      sHist.push(sk);
      yHist.push(yk);
      rhoHist.push(1 / sy);
      if (sHist.length > m) {
        sHist.shift();
        yHist.shift();
        rhoHist.shift();
      }
    }
    const improvement = f - fNext;
    theta = next;
    grad = nextGrad;
    f = fNext;
    iterations++;
    opts.onIteration?.(iterations, f);
    converged = maxAbs(grad) <= tol;
    if (!converged && improvement <= 1e-15 * Math.max(1, Math.abs(f))) break;
  }
  return { coef: theta.slice(0, d), intercept: theta[d]!, iterations, converged };
}
