/**
 * Scaled dot-product attention as one kernel on a heap backend, and its gradient: the products
 * in the backend's matrix product (BLAS or our SIMD kernel), the scale, bias and softmax in one
 * SIMD pass per row. Grouped-query heads read their shared key/value head directly (no repeated
 * keys); only the probabilities are kept for the backward pass (the composite keeps the scores,
 * the scaled and biased scores and the probabilities, and repeated keys and values under GQA).
 *
 * With a causal bias (every bias the model builds is causal; a sliding window only masks more),
 * query rows are taken in blocks and each block's products and softmax stop at the last key any
 * of its rows can see, so about half of the work of a long sequence is skipped; the skipped
 * probabilities are exactly 0, as the composite's softmax gives for masked keys.
 *
 * Legend: B batch, H query heads, KVH key/value heads (rep = H / KVH), T queries, S keys (the
 * bias's last dimension; past = S - T positions precede the queries), Sk the key tensors' length
 * (>= S: a preallocated cache may hold more rows than are filled), D head dim; the bias is
 * [Bb, 1, T, S] with Bb = 1 or B.
 *
 * Forward, per (b, h) and block of query rows: P = softmax(scale Q K^T + bias) [rows, S],
 * O = P V, written straight into the [B, T, H, D] output.
 * Backward, for dO: dP = dO V^T, dS = scale P (dP - rowsum(dP P)), dQ = dS K per block; per
 * (b, kvh) group of rep heads, dV = P^T dO and dK = dS^T Q as one product over the group's rows.
 *
 * @module
 */
import type { HeapGemm } from "../native/gemm.ts";
import type { ElementwiseKernels } from "../simd/elementwise.ts";

/** Query rows per block of a causal attention. */
export const QUERY_BLOCK = 64;

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
  /** The bias hides every key after a query's own position. */
  readonly causal: boolean;
}

/** The query blocks of one head: rows [t0, t1) and the keys [0, keys) they may see. */
export function queryBlocks(sh: AttentionShape): { t0: number; t1: number; keys: number }[] {
  if (!sh.causal) return [{ t0: 0, t1: sh.t, keys: sh.s }];
  const past = sh.s - sh.t;
  const out = [];
  for (let t0 = 0; t0 < sh.t; t0 += QUERY_BLOCK) {
    const t1 = Math.min(sh.t, t0 + QUERY_BLOCK);
    out.push({ t0, t1, keys: Math.min(sh.s, past + t1) });
  }
  return out;
}

/** Byte offsets of the forward pass's operands. */
export interface AttentionForwardAt {
  /** [B, H, T, D]. */
  readonly q: number;
  /** [B, KVH, Sk, D]. */
  readonly k: number;
  /** [B, KVH, Sk, D]. */
  readonly v: number;
  /** [Bb, 1, T, S]. */
  readonly bias: number;
  /** [B, H, T, S] probabilities (output). */
  readonly p: number;
  /** [B, T, H, D] output. */
  readonly o: number;
}

/** One head of a call: its index `bi H + hi`, batch row, head and key/value byte offset. */
interface Head {
  readonly head: number;
  readonly bi: number;
  readonly hi: number;
  readonly kv: number;
}

/** The heads `h0 <= bi H + hi < h1` (a key/value head serves its group of rep query heads). */
export function headRange(sh: AttentionShape, h0: number, h1: number): Head[] {
  const rep = sh.h / sh.kvh;
  const out: Head[] = [];
  for (let head = h0; head < h1; head++) {
    const bi = Math.floor(head / sh.h);
    const hi = head - bi * sh.h;
    out.push({ head, bi, hi, kv: 4 * (bi * sh.kvh + Math.floor(hi / rep)) * sh.sk * sh.d });
  }
  return out;
}

/**
 * The FLOPs (2 M N K) of the smallest and the largest of the per-block products (forward: Q K^T
 * and P V; backward: dO V^T and dS K, the same sizes).
 */
export function blockProductFlops(sh: AttentionShape): { min: number; max: number } {
  const flops = queryBlocks(sh).map(({ t0, t1, keys }) => 2 * (t1 - t0) * keys * sh.d);
  return { min: Math.min(...flops), max: Math.max(...flops) };
}

/**
 * The forward pass, for the heads `h0 <= bi H + hi < h1` (default all: threads take ranges of
 * them; each head writes only its own rows). `zero(offset, floats)` clears floats of the heap
 * (the probabilities past a block's last visible key).
 */
export function attentionForward(
  gemm: HeapGemm,
  ew: ElementwiseKernels,
  at: AttentionForwardAt,
  sh: AttentionShape,
  scale: number,
  zero: (offset: number, floats: number) => void,
  h0 = 0,
  h1 = sh.b * sh.h,
): void {
  const { h, t, s, d } = sh;
  const blocks = queryBlocks(sh);
  for (const { head, bi, hi, kv } of headRange(sh, h0, h1)) {
    const bias = at.bias + 4 * (sh.biasRows === 1 ? 0 : bi) * t * s;
    for (const { t0, t1, keys } of blocks) {
      const rows = t1 - t0;
      const p = at.p + 4 * (head * t + t0) * s;
      // scores [rows, keys] = Q K^T, rows s apart in P
      gemm(false, true, rows, keys, d, at.q + 4 * (head * t + t0) * d, d, at.k + kv, d, p, s);
      ew.softmaxRows(p, bias + 4 * t0 * s, p, rows, keys, s, scale);
      if (keys < s) { for (let r = 0; r < rows; r++) zero(p + 4 * (r * s + keys), s - keys); }
      // O [rows, D] = P V, rows H D apart in the [B, T, H, D] output
      const o = at.o + 4 * ((bi * t + t0) * h + hi) * d;
      gemm(false, false, rows, d, keys, p, s, at.v + kv, d, o, h * d);
    }
  }
}

/** Byte offsets of the backward pass's operands. */
export interface AttentionBackwardAt {
  /** [B, H, T, D] upstream gradient, in head layout. */
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
 * The backward pass (`zero` as in {@link attentionForward}): {@link attentionBackwardHeads},
 * then {@link attentionBackwardGroups}.
 */
export function attentionBackward(
  gemm: HeapGemm,
  ew: ElementwiseKernels,
  at: AttentionBackwardAt,
  sh: AttentionShape,
  scale: number,
  zero: (offset: number, floats: number) => void,
): void {
  attentionBackwardHeads(gemm, ew, at, sh, scale, zero);
  attentionBackwardGroups(gemm, at, sh);
}

/**
 * The backward pass's per-head part, for heads `h0 <= bi H + hi < h1` (default all): dP, dS
 * (into `ds`) and dQ block by block. Each head writes only its own rows.
 */
export function attentionBackwardHeads(
  gemm: HeapGemm,
  ew: ElementwiseKernels,
  at: AttentionBackwardAt,
  sh: AttentionShape,
  scale: number,
  zero: (offset: number, floats: number) => void,
  h0 = 0,
  h1 = sh.b * sh.h,
): void {
  const { t, s, d } = sh;
  const blocks = queryBlocks(sh);
  for (const { head, kv } of headRange(sh, h0, h1)) {
    for (const { t0, t1, keys } of blocks) {
      const rows = t1 - t0;
      const ds = at.ds + 4 * (head * t + t0) * s;
      const q = 4 * (head * t + t0) * d;
      // dP [rows, keys] = dO V^T
      gemm(false, true, rows, keys, d, at.dO + q, d, at.v + kv, d, ds, s);
      ew.softmaxGradRows(ds, at.p + 4 * (head * t + t0) * s, rows, keys, s, scale);
      if (keys < s) { for (let r = 0; r < rows; r++) zero(ds + 4 * (r * s + keys), s - keys); }
      // dQ [rows, D] = dS K
      gemm(false, false, rows, d, keys, ds, s, at.k + kv, d, at.dq + q, d);
    }
  }
}

/**
 * The backward pass's per-group part, after {@link attentionBackwardHeads}: per group of rep
 * heads (consecutive rows of P, dS, Q and dO), dV and dK as one product each.
 */
export function attentionBackwardGroups(
  gemm: HeapGemm,
  at: AttentionBackwardAt,
  sh: AttentionShape,
): void {
  const { b, h, kvh, t, s, sk, d } = sh;
  const rep = h / kvh;
  for (let bi = 0; bi < b; bi++) {
    for (let g = 0; g < kvh; g++) {
      const rows = 4 * (bi * h + g * rep) * t;
      const kv = 4 * (bi * kvh + g) * sk * d;
      // dV [S, D] = P^T dO; dK [S, D] = dS^T Q
      gemm(true, false, s, d, rep * t, at.p + rows * s, s, at.dO + rows * d, d, at.dv + kv, d);
      gemm(true, false, s, d, rep * t, at.ds + rows * s, s, at.q + rows * d, d, at.dk + kv, d);
    }
  }
}

/**
 * `out [B, H, T, D]` from `x [B, T, H, D]`, both in `heap` (float offsets `x`, `out`): one
 * `copyWithin` per row of D, no view per row.
 */
export function rowsToHeads(
  heap: Float32Array,
  x: number,
  out: number,
  b: number,
  h: number,
  t: number,
  d: number,
): void {
  for (let bi = 0; bi < b; bi++) {
    for (let ti = 0; ti < t; ti++) {
      for (let hi = 0; hi < h; hi++) {
        const src = x + ((bi * t + ti) * h + hi) * d;
        heap.copyWithin(out + ((bi * h + hi) * t + ti) * d, src, src + d);
      }
    }
  }
}
