/**
 * The fused kernels made of row-wise passes, split over the row pool's threads
 * (`row_pool.ts`): RMSNorm and its gradient, SwiGLU and its gradient, rotary embeddings with the
 * split into heads and their gradient, the cross-entropy's log-sum-exp and gradient. Each is the
 * same computation on one thread or several (chunks of independent rows; RMSNorm's weight
 * gradient, a sum over rows, stays whole on one thread).
 *
 * @module
 */
import type { TensorInfo } from "@tensorflow/tfjs-core";
import { heapBuffer, heapF32, heapOffset, type WasmHeapBackend } from "../native/heap.ts";
import { attr, type FusedContext, need, type Run, scratch, size } from "./kernel_args.ts";
import { ROW_KERNEL } from "./row_kernels.ts";

/** RMSNorm: rows split over the threads. */
export const rmsNorm: Run = (args, ctx) => {
  const be = args.backend as WasmHeapBackend;
  const [x, w] = [need(args, "x"), need(args, "weight")];
  const y = be.makeOutput([...x.shape], "float32");
  const c = x.shape[x.shape.length - 1]!;
  const at = [x, w, y].map((t) => heapOffset(be, t));
  ctx.rows.run([ROW_KERNEL.rmsNorm, ...at, c, attr(args.attrs, "eps")], size(x.shape) / c, {
    perRow: c,
  });
  return y;
};

/**
 * RMSNorm's gradient: the weight gradient (a sum over all rows) runs whole on this thread while
 * the helpers start on the input gradient's rows, which this thread then joins.
 */
export const rmsNormGrad: Run = (args, ctx) => {
  const be = args.backend as WasmHeapBackend;
  const [dy, x, w] = [need(args, "dy"), need(args, "x"), need(args, "weight")];
  const dx = be.makeOutput([...x.shape], "float32");
  const dw = be.makeOutput([...w.shape], "float32");
  const c = x.shape[x.shape.length - 1]!;
  const rows = size(x.shape) / c;
  const [ady, ax, aw, adx, adw] = [dy, x, w, dx, dw].map((t) => heapOffset(be, t)) as number[];
  const eps = attr(args.attrs, "eps");
  const weightGrad = [ROW_KERNEL.rmsNormWeightGrad, ady!, ax!, adw!, c, eps];
  ctx.rows.run([ROW_KERNEL.rmsNormInputGrad, ady!, ax!, aw!, adx!, c, eps], rows, {
    perRow: c,
    first: [{ job: weightGrad, r0: 0, r1: rows }],
  });
  return [dx, dw];
};

/** SwiGLU: elements split over the threads (at multiples of 4, whole vectors). */
export const swiGlu: Run = (args, ctx) => {
  const be = args.backend as WasmHeapBackend;
  const [g, u] = [need(args, "gate"), need(args, "up")];
  const out = be.makeOutput([...g.shape], "float32");
  const at = [g, u, out].map((t) => heapOffset(be, t));
  ctx.rows.run([ROW_KERNEL.swiglu, ...at], size(g.shape), { align: 4 });
  return out;
};

/** SwiGLU's gradients, elements split as in {@link swiGlu}. */
export const swiGluGrad: Run = (args, ctx) => {
  const be = args.backend as WasmHeapBackend;
  const [dy, g, u] = [need(args, "dy"), need(args, "gate"), need(args, "up")];
  const dg = be.makeOutput([...g.shape], "float32");
  const du = be.makeOutput([...g.shape], "float32");
  const at = [dy, g, u, dg, du].map((t) => heapOffset(be, t));
  ctx.rows.run([ROW_KERNEL.swigluGrad, ...at], size(g.shape), { align: 4 });
  return [dg, du];
};

/** The rope shape of x [B, T, H, D] (or [B, H, T, D] when `headsFirst`). */
function ropeShape(x: TensorInfo, cos: TensorInfo, heads: number, headsFirst: boolean) {
  const [b, a1, a2, d] = x.shape as [number, number, number, number];
  return { b, t: headsFirst ? a2 : a1, h: heads, d, tableRows: cos.shape[0]! };
}

/** The rope kernel `kernel` from `at` (whole tensors), positions split over the threads. */
function runRope(
  ctx: FusedContext,
  kernel: number,
  at: readonly number[],
  s: ReturnType<typeof ropeShape>,
): void {
  ctx.rows.run([kernel, ...at, s.b, s.t, s.h, s.d, s.tableRows], s.b * s.t, {
    perRow: s.h * s.d,
  });
}

/** Rotary embeddings with the split into heads: positions split over the threads. */
export const ropeHeads: Run = (args, ctx) => {
  const be = args.backend as WasmHeapBackend;
  const [x, cos, sin] = [need(args, "x"), need(args, "cos"), need(args, "sin")];
  const s = ropeShape(x, cos, x.shape[2]!, false); // x [B, T, H, D]
  const y = be.makeOutput([s.b, s.h, s.t, s.d], "float32");
  const at = [x, cos, sin, y].map((t) => heapOffset(be, t));
  runRope(ctx, ROW_KERNEL.ropeHeads, at, s);
  return y;
};

/** The gradient of {@link ropeHeads}, positions split the same way. */
export const ropeHeadsGrad: Run = (args, ctx) => {
  const be = args.backend as WasmHeapBackend;
  const [dy, cos, sin] = [need(args, "dy"), need(args, "cos"), need(args, "sin")];
  const s = ropeShape(dy, cos, dy.shape[1]!, true); // dy [B, H, T, D]
  const dx = be.makeOutput([s.b, s.t, s.h, s.d], "float32");
  const at = [dy, cos, sin, dx].map((t) => heapOffset(be, t));
  runRope(ctx, ROW_KERNEL.ropeHeadsGrad, at, s);
  return dx;
};

/** Log-sum-exp of each row of x [N, V]: [N]; rows split over the threads. */
export const logSumExp: Run = (args, ctx) => {
  const be = args.backend as WasmHeapBackend;
  const x = need(args, "x");
  const [n, v] = x.shape as [number, number];
  const out = be.makeOutput([n], "float32");
  const stats = scratch(be, [n, 2]);
  try {
    const at = [heapOffset(be, x), heapOffset(be, stats.t)];
    ctx.rows.run([ROW_KERNEL.rowMaxSumExp, ...at, v], n, { perRow: v });
    const st = heapF32(be, stats.t);
    const lse = heapF32(be, out);
    for (let r = 0; r < n; r++) lse[r] = st[2 * r]! + Math.log(st[2 * r + 1]!);
  } finally {
    stats.free();
  }
  return out;
};

/**
 * The cross-entropy's gradient for logits x [N, V]: `(softmax(x) - onehot(ids)) scale[n]`, from
 * the forward pass's log-sum-exp [N] (softmax = exp(x - lse)) and a per-row scale [N]; the
 * exponentials' rows split over the threads.
 */
export const crossEntropyGrad: Run = (args, ctx) => {
  const be = args.backend as WasmHeapBackend;
  const [x, lse, scale] = [need(args, "x"), need(args, "lse"), need(args, "scale")];
  const ids = need(args, "ids", "int32");
  const [n, v] = x.shape as [number, number];
  const dx = be.makeOutput([n, v], "float32");
  const at = [x, lse, scale, dx].map((t) => heapOffset(be, t));
  ctx.rows.run([ROW_KERNEL.rowExpShift, ...at, v], n, { perRow: v });
  const d = heapF32(be, dx);
  const id = new Int32Array(heapBuffer(be), heapOffset(be, ids), n);
  const sc = heapF32(be, scale);
  for (let r = 0; r < n; r++) {
    const j = id[r]!;
    if (j >= 0 && j < v) d[r * v + j] = d[r * v + j]! - sc[r]!;
  }
  return dx;
};
