/**
 * The fused kernels' row-wise parts as jobs any thread can run on a shared heap (`row_pool.ts`):
 * a job is a list of numbers (the kernel's id, then byte offsets of whole tensors in the heap,
 * sizes and scalars), so it crosses threads through a shared `Float64Array` without a message,
 * and a thread runs it on a range of its independent rows (elements, positions). No sum crosses
 * a row, so any split into ranges gives the same bits as one range over everything.
 *
 * @module
 */
import type { ElementwiseKernels } from "../simd/elementwise.ts";
import type { HeapGemm } from "../native/gemm.ts";
import { attentionBackwardHeads, attentionForward, type AttentionShape } from "./attention.ts";
import { rmsNormForward, rmsNormInputGrad, rmsNormWeightGrad } from "./norm.ts";
import { ropeHeadsBackward, ropeHeadsForward } from "./rope.ts";

/**
 * Kernel ids (a job's first number) and, in comments, the numbers that follow; a job names whole
 * tensors, and the range `[r0, r1)` it runs on (rows, elements or positions) comes apart.
 */
export const ROW_KERNEL = {
  /** g, u, out (elements): `ElementwiseKernels.swiglu`. */
  swiglu: 0,
  /** dy, g, u, dg, du (elements). */
  swigluGrad: 1,
  /** x, stats, n (rows of n). */
  rowMaxSumExp: 2,
  /** x, shift, scale, out, n (rows of n). */
  rowExpShift: 3,
  /** x, w, y, c, eps (rows of c): `rmsNormForward`. */
  rmsNorm: 4,
  /** dy, x, w, dx, c, eps (rows of c): `rmsNormInputGrad`. */
  rmsNormInputGrad: 5,
  /** dy, x, dw, c, eps (rows of c, all of them in one range: its sum must not be split). */
  rmsNormWeightGrad: 6,
  /** x, cos, sin, y, b, t, h, d, tableRows (positions b t): `ropeHeadsForward`. */
  ropeHeads: 7,
  /** dy, cos, sin, dx, b, t, h, d, tableRows (positions): `ropeHeadsBackward`. */
  ropeHeadsGrad: 8,
  /**
   * q, k, v, bias, p, o, then the shape (b, h, kvh, t, s, sk, d, biasRows, causal), scale (heads
   * b h): `attentionForward`, its products in one-thread BLAS.
   */
  attention: 9,
  /** dO, q, k, v, p, ds, dq, then the shape and scale as above (heads): `attentionBackwardHeads`. */
  attentionGradHeads: 10,
} as const;

/** Numbers a job may hold, its id included. */
export const MAX_JOB_NUMBERS = 20;

/** The attention shape from a job's numbers at `i` (b, h, kvh, t, s, sk, d, biasRows, causal). */
function attentionShapeAt(a: (i: number) => number, i: number): AttentionShape {
  const [b, h, kvh, t, s, sk, d, biasRows] = [0, 1, 2, 3, 4, 5, 6, 7].map((j) => a(i + j));
  return {
    b: b!,
    h: h!,
    kvh: kvh!,
    t: t!,
    s: s!,
    sk: sk!,
    d: d!,
    biasRows: biasRows!,
    causal: a(i + 8) !== 0,
  };
}

/** The numbers of an attention shape, in the order {@link attentionShapeAt} reads them. */
export function attentionShapeNumbers(sh: AttentionShape): number[] {
  return [sh.b, sh.h, sh.kvh, sh.t, sh.s, sh.sk, sh.d, sh.biasRows, sh.causal ? 1 : 0];
}

/** One job: `[ROW_KERNEL id, ...arguments]`. */
export type RowJob = readonly number[];

/** Runs a job on the range `[r0, r1)` of its rows (elements, positions). */
export type RowJobRunner = (job: ArrayLike<number>, r0: number, r1: number) => void;

/**
 * A function that runs jobs on `memory` (this thread's own instance of the elementwise kernels,
 * `ew`, on the same memory; `gemm()` its one-thread BLAS product on the memory, for attention,
 * or null where it has none). Views are taken at each call: the memory may have grown.
 */
export function rowJobRunner(
  memory: WebAssembly.Memory,
  ew: ElementwiseKernels,
  gemm: () => HeapGemm | null = () => null,
): RowJobRunner {
  const f32 = (byteOffset: number, floats: number) =>
    new Float32Array(memory.buffer, byteOffset, floats);
  let heap = new Float32Array(memory.buffer);
  const zero = (offset: number, floats: number) => {
    if (heap.length * 4 !== memory.buffer.byteLength) heap = new Float32Array(memory.buffer);
    heap.fill(0, offset >> 2, (offset >> 2) + floats);
  };
  const product = () => {
    const g = gemm();
    if (!g) throw new Error("row kernels: attention needs a BLAS product on this thread");
    return g;
  };
  return (j, r0, r1) => {
    const a = (i: number) => j[i]!;
    const rows = r1 - r0;
    switch (a(0)) {
      case ROW_KERNEL.swiglu:
        return ew.swiglu(a(1) + 4 * r0, a(2) + 4 * r0, a(3) + 4 * r0, rows);
      case ROW_KERNEL.swigluGrad: {
        const [dy, g, u, dg, du] = [1, 2, 3, 4, 5].map((i) => a(i) + 4 * r0) as number[];
        return ew.swigluGrad(dy!, g!, u!, dg!, du!, rows);
      }
      case ROW_KERNEL.rowMaxSumExp: {
        const n = a(3);
        return ew.rowMaxSumExp(a(1) + 4 * r0 * n, a(2) + 8 * r0, rows, n);
      }
      case ROW_KERNEL.rowExpShift: {
        const n = a(5);
        const [x, out] = [a(1) + 4 * r0 * n, a(4) + 4 * r0 * n];
        return ew.rowExpShift(x, a(2) + 4 * r0, a(3) + 4 * r0, out, rows, n);
      }
      case ROW_KERNEL.rmsNorm: {
        const c = a(4);
        const [o, n] = [4 * r0 * c, rows * c];
        return rmsNormForward(f32(a(1) + o, n), f32(a(2), c), f32(a(3) + o, n), c, a(5));
      }
      case ROW_KERNEL.rmsNormInputGrad: {
        const c = a(5);
        const [o, n] = [4 * r0 * c, rows * c];
        const [dy, x, dx] = [f32(a(1) + o, n), f32(a(2) + o, n), f32(a(4) + o, n)];
        return rmsNormInputGrad(dy, x, f32(a(3), c), dx, c, a(6));
      }
      case ROW_KERNEL.rmsNormWeightGrad: {
        const c = a(4);
        const [o, n] = [4 * r0 * c, rows * c];
        return rmsNormWeightGrad(f32(a(1) + o, n), f32(a(2) + o, n), f32(a(3), c), c, a(5));
      }
      case ROW_KERNEL.ropeHeads:
      case ROW_KERNEL.ropeHeadsGrad: {
        const s = { b: a(5), t: a(6), h: a(7), d: a(8), tableRows: a(9) };
        const n = s.b * s.t * s.h * s.d;
        const table = s.tableRows * s.t * s.d;
        const run = a(0) === ROW_KERNEL.ropeHeads ? ropeHeadsForward : ropeHeadsBackward;
        return run(f32(a(1), n), f32(a(2), table), f32(a(3), table), f32(a(4), n), s, r0, r1);
      }
      case ROW_KERNEL.attention: {
        const at = { q: a(1), k: a(2), v: a(3), bias: a(4), p: a(5), o: a(6) };
        const sh = attentionShapeAt(a, 7);
        return attentionForward(product(), ew, at, sh, a(16), zero, r0, r1);
      }
      case ROW_KERNEL.attentionGradHeads: {
        const [dO, q, k, v, p, ds, dq] = [1, 2, 3, 4, 5, 6, 7].map(a) as number[];
        const at = { dO: dO!, q: q!, k: k!, v: v!, p: p!, ds: ds!, dq: dq!, dk: 0, dv: 0 };
        return attentionBackwardHeads(
          product(),
          ew,
          at,
          attentionShapeAt(a, 8),
          a(17),
          zero,
          r0,
          r1,
        );
      }
      default:
        throw new Error(`row kernels: no kernel ${a(0)}`);
    }
  };
}
