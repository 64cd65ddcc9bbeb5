/**
 * Scaled dot-product attention as one kernel on a heap backend, and its gradient: the products
 * in the backend's matrix product (BLAS or our SIMD kernel), one per group of query heads that
 * share a key/value head (grouped-query attention needs no repeated keys), the scale, bias and
 * softmax in one SIMD pass per row. Only the probabilities are kept for the backward pass (the
 * composite keeps the scores, the scaled and biased scores and the probabilities, and repeated
 * keys and values under GQA).
 *
 * Legend: B batch, H query heads, KVH key/value heads (rep = H / KVH), T queries, S keys, Sk the
 * key tensors' length (>= S: a preallocated cache may hold more rows than are filled), D head
 * dim; the bias is [Bb, 1, T, S] with Bb = 1 or B.
 *
 * Forward: for each (b, kvh), the rep query heads' rows are one `[rep T, D]` matrix:
 *   P = softmax(scale Q K^T + bias)   [rep T, S]
 *   O = P V                           [rep T, D]
 * Backward, for dO:
 *   dV = P^T dO,  dP = dO V^T,  dS = scale P (dP - rowsum(dP P)),  dQ = dS K,  dK = dS^T Q.
 *
 * @module
 */
import type { HeapGemm } from "../native/gemm.ts";
import type { ElementwiseKernels } from "../simd/elementwise.ts";

/** Sizes of one attention call. */
export interface AttentionShape {
  readonly b: number;
  readonly h: number;
  readonly kvh: number;
  readonly t: number;
  readonly s: number;
  readonly sk: number;
  readonly d: number;
  /** Rows of the bias: 1 (shared) or b. */
  readonly biasRows: number;
}

/** Byte offsets of the forward pass's operands. */
export interface AttentionForwardAt {
  readonly q: number;
  readonly k: number;
  readonly v: number;
  readonly bias: number;
  /** [B, H, T, S] probabilities (output). */
  readonly p: number;
  /** [B, H, T, D] scratch: the output before its transpose. */
  readonly tmp: number;
}

/**
 * `count` products, the i-th at byte offsets `a + i sa`, `b + i sb`, `c + i sc`, through the
 * backend's batch call when it has one.
 */
function gemmBatch(
  gemm: HeapGemm,
  ta: boolean,
  tb: boolean,
  m: number,
  n: number,
  k: number,
  a: number,
  lda: number,
  b: number,
  ldb: number,
  c: number,
  count: number,
  sa: number,
  sb: number,
  sc: number,
): void {
  if (gemm.batch) {
    gemm.batch(ta, tb, m, n, k, a, lda, b, ldb, c, n, count, sa, sb, sc);
    return;
  }
  for (let i = 0; i < count; i++) {
    gemm(ta, tb, m, n, k, a + i * sa, lda, b + i * sb, ldb, c + i * sc, n);
  }
}

/**
 * The forward pass into `at.p` (probabilities) and `at.tmp` (O as [B, H, T, D]); the caller
 * transposes tmp into its [B, T, H, D] output with {@link headsToRows}.
 */
export function attentionForward(
  gemm: HeapGemm,
  ew: ElementwiseKernels,
  at: AttentionForwardAt,
  sh: AttentionShape,
  scale: number,
): void {
  const { b, h, kvh, t, s, sk, d } = sh;
  const rep = h / kvh;
  const groups = b * kvh;
  // Scores: Q_g [rep T, D] K^T [D, S] for every (b, kvh) at once.
  gemmBatch(
    gemm,
    false,
    true,
    rep * t,
    s,
    d,
    at.q,
    d,
    at.k,
    d,
    at.p,
    groups,
    4 * rep * t * d,
    4 * sk * d,
    4 * rep * t * s,
  );
  // scale, bias, softmax: per (b, h) a [T, S] block against its bias block.
  for (let bi = 0; bi < b; bi++) {
    const bias = at.bias ? at.bias + 4 * (sh.biasRows === 1 ? 0 : bi) * t * s : 0;
    for (let hi = 0; hi < h; hi++) {
      const block = at.p + 4 * (bi * h + hi) * t * s;
      ew.softmaxRows(block, bias, block, t, s, scale);
    }
  }
  // O_g [rep T, D] = P_g [rep T, S] V [S, D].
  gemmBatch(
    gemm,
    false,
    false,
    rep * t,
    d,
    s,
    at.p,
    s,
    at.v,
    d,
    at.tmp,
    groups,
    4 * rep * t * s,
    4 * sk * d,
    4 * rep * t * d,
  );
}

/** `out [B, T, H, D]` from `x [B, H, T, D]`. */
export function headsToRows(
  x: Float32Array,
  out: Float32Array,
  b: number,
  h: number,
  t: number,
  d: number,
): void {
  for (let bi = 0; bi < b; bi++) {
    for (let hi = 0; hi < h; hi++) {
      for (let ti = 0; ti < t; ti++) {
        const src = ((bi * h + hi) * t + ti) * d;
        out.set(x.subarray(src, src + d), ((bi * t + ti) * h + hi) * d);
      }
    }
  }
}

/** `out [B, H, T, D]` from `x [B, T, H, D]`. */
export function rowsToHeads(
  x: Float32Array,
  out: Float32Array,
  b: number,
  h: number,
  t: number,
  d: number,
): void {
  for (let bi = 0; bi < b; bi++) {
    for (let ti = 0; ti < t; ti++) {
      for (let hi = 0; hi < h; hi++) {
        const src = ((bi * t + ti) * h + hi) * d;
        out.set(x.subarray(src, src + d), ((bi * h + hi) * t + ti) * d);
      }
    }
  }
}

/** Byte offsets of the backward pass's operands. */
export interface AttentionBackwardAt {
  /** [B, H, T, D] upstream gradient, already in head layout. */
  readonly dO: number;
  readonly q: number;
  readonly k: number;
  readonly v: number;
  readonly p: number;
  /** [B, H, T, S] scratch: dP, then dS in place. */
  readonly ds: number;
  readonly dq: number;
  readonly dk: number;
  readonly dv: number;
}

/**
 * The backward pass. `dsRows(ds, p)` turns dP into dS in place (see {@link softmaxBackward}); it
 * is given fresh views because the heap may have grown since the caller looked.
 */
export function attentionBackward(
  gemm: HeapGemm,
  at: AttentionBackwardAt,
  sh: AttentionShape,
  dsRows: () => void,
): void {
  const { b, h, kvh, t, s, sk, d } = sh;
  const rep = h / kvh;
  const groups = b * kvh;
  const [sq, sp, skv] = [4 * rep * t * d, 4 * rep * t * s, 4 * sk * d];
  // dV [S, D] = P_g^T [S, rep T] dO_g [rep T, D]
  gemmBatch(gemm, true, false, s, d, rep * t, at.p, s, at.dO, d, at.dv, groups, sp, sq, skv);
  // dP_g [rep T, S] = dO_g [rep T, D] V^T
  gemmBatch(gemm, false, true, rep * t, s, d, at.dO, d, at.v, d, at.ds, groups, sq, skv, sp);
  dsRows();
  // dQ_g [rep T, D] = dS_g [rep T, S] K [S, D]
  gemmBatch(gemm, false, false, rep * t, d, s, at.ds, s, at.k, d, at.dq, groups, sp, skv, sq);
  // dK [S, D] = dS_g^T [S, rep T] Q_g [rep T, D]
  gemmBatch(gemm, true, false, s, d, rep * t, at.ds, s, at.q, d, at.dk, groups, sp, sq, skv);
}

/** `ds = scale p (ds - rowsum(ds p))` in place, rows of `n`. */
export function softmaxBackward(ds: Float32Array, p: Float32Array, n: number, scale: number): void {
  const rows = ds.length / n;
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    let dot = 0;
    for (let j = 0; j < n; j++) dot += ds[o + j]! * p[o + j]!;
    for (let j = 0; j < n; j++) ds[o + j] = scale * p[o + j]! * (ds[o + j]! - dot);
  }
}
