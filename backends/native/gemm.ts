/**
 * Batched matrix products on a flat float32 heap through BLAS `sgemm`: the geometry (output
 * shape, which batch of `a` and `b` each output batch reads, broadcasting) as a pure function,
 * and the loop that issues one `sgemm` per output batch, or a single one when the batches of
 * `a` can be stacked into rows.
 *
 * Legend: M rows of op(a), N columns of op(b), K the shared (inner) dimension; `...batch` the
 * leading dimensions, broadcast NumPy-style.
 *
 * @module
 */
import { pointerAt, type Sgemm } from "./blas.ts";

/** Where one batched product reads and writes, derived from the input shapes alone. */
export interface MatMulGeometry {
  /** The output shape: `[...broadcast(batchA, batchB), M, N]`. */
  readonly outShape: number[];
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly transposeA: boolean;
  readonly transposeB: boolean;
  /** For each output batch, the batch index of `a` it reads. */
  readonly aBatch: Int32Array;
  /** For each output batch, the batch index of `b` it reads. */
  readonly bBatch: Int32Array;
  /**
   * True when `b` is one matrix shared by every batch and `a` is not transposed: the batches
   * of `a` are then rows of one `[batch*M, K]` matrix and one `sgemm` does all of them.
   */
  readonly stackRows: boolean;
}

/** Broadcast two batch shapes NumPy-style, or explain why they do not broadcast. */
export function broadcastBatch(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(
        `matMul: batch dimensions [${a}] and [${b}] do not broadcast (dim ${i}: ${da} vs ${db})`,
      );
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** The flat batch index into `shape` for each flat index of the broadcast `out` shape. */
function batchIndexMap(shape: readonly number[], out: readonly number[]): Int32Array {
  const total = out.reduce((p, d) => p * d, 1);
  const map = new Int32Array(total);
  const pad = out.length - shape.length;
  for (let flat = 0; flat < total; flat++) {
    let rest = flat;
    let src = 0;
    let stride = 1;
    for (let d = out.length - 1; d >= 0; d--) {
      const size = out[d]!;
      const coord = rest % size;
      rest = (rest - coord) / size;
      const own = d - pad >= 0 ? shape[d - pad]! : 1;
      if (own !== 1) src += coord * stride;
      stride *= own;
    }
    map[flat] = src;
  }
  return map;
}

/**
 * The geometry of `matMul(a, b, transposeA, transposeB)` for inputs of rank >= 2.
 *
 * @throws Error when the ranks are below 2, the inner dimensions differ or the batch
 * dimensions do not broadcast; the message names both shapes.
 */
export function matMulGeometry(
  aShape: readonly number[],
  bShape: readonly number[],
  transposeA: boolean,
  transposeB: boolean,
): MatMulGeometry {
  if (aShape.length < 2 || bShape.length < 2) {
    throw new Error(`matMul: inputs must have rank >= 2, got [${aShape}] and [${bShape}]`);
  }
  const ra = aShape.length;
  const rb = bShape.length;
  const m = transposeA ? aShape[ra - 1]! : aShape[ra - 2]!;
  const kA = transposeA ? aShape[ra - 2]! : aShape[ra - 1]!;
  const kB = transposeB ? bShape[rb - 1]! : bShape[rb - 2]!;
  const n = transposeB ? bShape[rb - 2]! : bShape[rb - 1]!;
  if (kA !== kB) {
    throw new Error(
      `matMul: inner dimensions differ: a [${aShape}] (transposeA=${transposeA}) gives ${kA}, ` +
        `b [${bShape}] (transposeB=${transposeB}) gives ${kB}`,
    );
  }
  const batchA = aShape.slice(0, -2);
  const batchB = bShape.slice(0, -2);
  const batch = broadcastBatch(batchA, batchB);
  const aBatch = batchIndexMap(batchA, batch);
  const bBatch = batchIndexMap(batchB, batch);
  const sizeB = batchB.reduce((p, d) => p * d, 1);
  const sizeA = batchA.reduce((p, d) => p * d, 1);
  const total = batch.reduce((p, d) => p * d, 1);
  return {
    outShape: [...batch, m, n],
    m,
    n,
    k: kA,
    transposeA,
    transposeB,
    aBatch,
    bBatch,
    stackRows: sizeB === 1 && !transposeA && sizeA === total,
  };
}

/** Byte offsets of the three operands in the heap. */
export interface HeapOperands {
  readonly a: number;
  readonly b: number;
  readonly out: number;
}

/**
 * One row-major product `C [M, N] = op(A) op(B)` on the heap, operands given by byte offset,
 * leading dimensions as in CBLAS. Implemented by BLAS (`blasGemm`) or by our own WebAssembly
 * kernel (`simd/`).
 */
export type HeapGemm =
  & ((
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    a: number,
    lda: number,
    b: number,
    ldb: number,
    c: number,
    ldc: number,
  ) => void)
  & {
    /**
     * Optional: `count` products in one call, the i-th at `a + i strideA`, `b + i strideB`,
     * `c + i strideC` (bytes; 0 shares an operand). Saves a call per batch (attention heads).
     */
    readonly batch?: (
      transA: boolean,
      transB: boolean,
      m: number,
      n: number,
      k: number,
      a: number,
      lda: number,
      b: number,
      ldb: number,
      c: number,
      ldc: number,
      count: number,
      strideA: number,
      strideB: number,
      strideC: number,
    ) => void;
    /**
     * Optional: `C = alpha op(A) op(B) + beta C` (BLAS's full `sgemm`), so a scaled product or
     * a sum of products needs no extra pass over the output.
     */
    readonly scaled?: (
      transA: boolean,
      transB: boolean,
      m: number,
      n: number,
      k: number,
      alpha: number,
      a: number,
      lda: number,
      b: number,
      ldb: number,
      beta: number,
      c: number,
      ldc: number,
    ) => void;
  };

/** Whether `map[i] = i * step` for all i, with step 0 or 1; the step, or null. */
export function affineStep(map: Int32Array): 0 | 1 | null {
  const step = map.length > 1 ? map[1]! - map[0]! : 0;
  if (map[0] !== 0 || (step !== 0 && step !== 1)) return null;
  for (let i = 0; i < map.length; i++) if (map[i] !== i * step) return null;
  return step;
}

/** A {@link HeapGemm} by BLAS `sgemm` on `heap` (take the heap after every allocation). */
export function blasGemm(sgemm: Sgemm, heap: ArrayBuffer): HeapGemm {
  const scaled = (
    ta: boolean,
    tb: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: number,
    lda: number,
    b: number,
    ldb: number,
    beta: number,
    c: number,
    ldc: number,
  ) =>
    sgemm(
      ta,
      tb,
      m,
      n,
      k,
      alpha,
      pointerAt(heap, a),
      lda,
      pointerAt(heap, b),
      ldb,
      beta,
      pointerAt(heap, c),
      ldc,
    );
  return Object.assign(
    (
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
      ldc: number,
    ) => scaled(ta, tb, m, n, k, 1, a, lda, b, ldb, 0, c, ldc),
    { scaled },
  );
}

/**
 * Compute `out = op(a) op(b)` for every batch of `g` with `gemm`, operands at the given byte
 * offsets of the float32 heap. `out` must not overlap `a` or `b`. `zero` fills the output
 * when K = 0.
 */
export function batchedGemm(
  gemm: HeapGemm,
  at: HeapOperands,
  g: MatMulGeometry,
  zero: (byteOffset: number, floats: number) => void,
): void {
  const { m, n, k, transposeA, transposeB } = g;
  const batches = g.aBatch.length;
  if (m === 0 || n === 0 || batches === 0) return;
  if (k === 0) {
    zero(at.out, batches * m * n);
    return;
  }
  const lda = transposeA ? m : k;
  const ldb = transposeB ? k : n;
  if (g.stackRows) {
    gemm(false, transposeB, batches * m, n, k, at.a, lda, at.b, ldb, at.out, n);
    return;
  }
  const aBytes = 4 * m * k;
  const bBytes = 4 * k * n;
  const cBytes = 4 * m * n;
  const sa = gemm.batch ? affineStep(g.aBatch) : null;
  const sb = gemm.batch ? affineStep(g.bBatch) : null;
  if (gemm.batch && sa !== null && sb !== null) {
    gemm.batch(
      transposeA,
      transposeB,
      m,
      n,
      k,
      at.a,
      lda,
      at.b,
      ldb,
      at.out,
      n,
      batches,
      sa * aBytes,
      sb * bBytes,
      cBytes,
    );
    return;
  }
  for (let i = 0; i < batches; i++) {
    gemm(
      transposeA,
      transposeB,
      m,
      n,
      k,
      at.a + g.aBatch[i]! * aBytes,
      lda,
      at.b + g.bBatch[i]! * bBytes,
      ldb,
      at.out + i * cBytes,
      n,
    );
  }
}
