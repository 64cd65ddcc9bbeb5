/**
 * A linear layer with a LoRA update as one kernel and its gradient on a heap backend:
 * `y = x W^T + s (x A^T) B^T`. The composite keeps the base output, the update's two products,
 * its scaled copy and the sum (each [N, out] but x A^T) until the backward pass; this keeps only
 * x A^T ([N, r]). The backward pass gives dx, dA and dB (W is frozen: LoRA trains A and B).
 *
 * Legend: N rows, in and out the layer's widths, r the rank, s the scaling.
 *
 * @module
 */
import type { HeapGemm } from "../native/gemm.ts";
import type { ElementwiseKernels } from "../simd/elementwise.ts";

/** Sizes of one LoRA linear. */
export interface LoraShape {
  readonly n: number;
  readonly inF: number;
  readonly outF: number;
  readonly r: number;
}

/** Byte offsets of the forward pass's operands. */
export interface LoraForwardAt {
  /** [N, in]. */
  readonly x: number;
  /** [out, in]. */
  readonly w: number;
  /** [r, in]. */
  readonly a: number;
  /** [out, r]. */
  readonly b: number;
  /** [N, out] output. */
  readonly y: number;
  /** [N, r] output (kept for the backward pass). */
  readonly xa: number;
  /** [N, out] scratch (unused when `gemm` has `scaled`; 0 then). */
  readonly tmp: number;
}

/**
 * `y = x W^T + s (x A^T) B^T`, `xa = x A^T`. Where `gemm` has `scaled` (BLAS), the update is
 * accumulated into y by the product itself; otherwise through `tmp` and one SIMD `axpy`.
 */
export function loraForward(
  gemm: HeapGemm,
  ew: ElementwiseKernels,
  at: LoraForwardAt,
  sh: LoraShape,
  s: number,
): void {
  const { n, inF, outF, r } = sh;
  gemm(false, true, n, r, inF, at.x, inF, at.a, inF, at.xa, r);
  gemm(false, true, n, outF, inF, at.x, inF, at.w, inF, at.y, outF);
  if (gemm.scaled) {
    gemm.scaled(false, true, n, outF, r, s, at.xa, r, at.b, r, 1, at.y, outF);
    return;
  }
  gemm(false, true, n, outF, r, at.xa, r, at.b, r, at.tmp, outF);
  ew.axpy(at.tmp, at.y, n * outF, s);
}

/** Byte offsets of the backward pass's operands. */
export interface LoraBackwardAt {
  /** [N, out] upstream gradient. */
  readonly dy: number;
  readonly x: number;
  readonly w: number;
  readonly a: number;
  readonly b: number;
  readonly xa: number;
  /** [N, in] output. */
  readonly dx: number;
  /** [r, in] output. */
  readonly da: number;
  /** [out, r] output. */
  readonly db: number;
  /** [N, r] scratch: dy B. */
  readonly dyb: number;
  /** [N, in] scratch (unused when `gemm` has `scaled`; 0 then). */
  readonly tmp: number;
}

/**
 * dx = dy W + s (dy B) A, dA = s (dy B)^T x, dB = s dy^T (x A^T). Where `gemm` has `scaled`
 * (BLAS), the products apply s and accumulate themselves; otherwise `scale(offset, floats, s)`
 * multiplies floats of the heap in place (the small dA and dB) and dx's second term goes through
 * `tmp` and one SIMD `axpy`.
 */
export function loraBackward(
  gemm: HeapGemm,
  ew: ElementwiseKernels,
  at: LoraBackwardAt,
  sh: LoraShape,
  s: number,
  scale: (offset: number, floats: number, by: number) => void,
): void {
  const { n, inF, outF, r } = sh;
  gemm(false, false, n, r, outF, at.dy, outF, at.b, r, at.dyb, r);
  gemm(false, false, n, inF, outF, at.dy, outF, at.w, inF, at.dx, inF);
  if (gemm.scaled) {
    gemm.scaled(false, false, n, inF, r, s, at.dyb, r, at.a, inF, 1, at.dx, inF);
    gemm.scaled(true, false, r, inF, n, s, at.dyb, r, at.x, inF, 0, at.da, inF);
    gemm.scaled(true, false, outF, r, n, s, at.dy, outF, at.xa, r, 0, at.db, r);
    return;
  }
  gemm(false, false, n, inF, r, at.dyb, r, at.a, inF, at.tmp, inF);
  ew.axpy(at.tmp, at.dx, n * inF, s);
  gemm(true, false, r, inF, n, at.dyb, r, at.x, inF, at.da, inF);
  scale(at.da, r * inF, s);
  gemm(true, false, outF, r, n, at.dy, outF, at.xa, r, at.db, r);
  scale(at.db, outF * r, s);
}
