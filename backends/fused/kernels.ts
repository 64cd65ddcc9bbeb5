/**
 * The fused kernels as TensorFlow.js kernels of a heap backend (`wasm`, `native`) and their
 * gradients: RMSNorm, SwiGLU, rotary embeddings with the split into heads (those in
 * `row_ops.ts`, split over threads), attention, the LoRA linear and the cross-entropy. Each
 * replaces several tfjs ops (and the engine's per-op cost and intermediate tensors) with one.
 * `ops.ts` calls them where the active backend has them and the composite ops elsewhere.
 *
 * @module
 */
import type { GradConfig, KernelConfig, NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import { tf } from "../tf.ts";
import { heapBuffer, heapF32, heapOffset, type WasmHeapBackend } from "../native/heap.ts";
import { attr, type FusedContext, need, type Run, scratch } from "./kernel_args.ts";
import {
  crossEntropyGrad,
  logSumExp,
  rmsNorm,
  rmsNormGrad,
  ropeHeads,
  ropeHeadsGrad,
  swiGlu,
  swiGluGrad,
} from "./row_ops.ts";
import {
  attentionBackward,
  attentionBackwardGroups,
  attentionForward,
  type AttentionShape,
  blockProductFlops,
  rowsToHeads,
} from "./attention.ts";
import { attentionShapeNumbers, ROW_KERNEL } from "./row_kernels.ts";
import { loraBackward, loraForward, type LoraShape } from "./lora.ts";

export type { FusedContext } from "./kernel_args.ts";

/** The kernel names (one per fused op and one per gradient). */
export const FUSED = {
  rmsNorm: "LisaRmsNorm",
  rmsNormGrad: "LisaRmsNormGrad",
  swiGlu: "LisaSwiGlu",
  swiGluGrad: "LisaSwiGluGrad",
  ropeHeads: "LisaRopeHeads",
  ropeHeadsGrad: "LisaRopeHeadsGrad",
  attention: "LisaAttention",
  attentionGrad: "LisaAttentionGrad",
  logSumExp: "LisaLogSumExp",
  crossEntropyGrad: "LisaCrossEntropyGrad",
  loraLinear: "LisaLoraLinear",
  loraLinearGrad: "LisaLoraLinearGrad",
} as const;

function attentionShape(
  q: TensorInfo,
  k: TensorInfo,
  bias: TensorInfo,
  causal: boolean,
): AttentionShape {
  const [b, h, t, d] = q.shape as [number, number, number, number];
  const [kb, kvh, sk, kd] = k.shape as [number, number, number, number];
  const s = bias.shape[3]!;
  if (kb !== b || kd !== d || h % kvh !== 0 || s > sk || s < t || bias.shape[2] !== t) {
    throw new Error(
      `fused attention: q [${q.shape}], k [${k.shape}] and bias [${bias.shape}] do not fit`,
    );
  }
  return { b, h, kvh, t, s, sk, d, biasRows: bias.shape[0]!, causal };
}

/**
 * The scratch a LoRA kernel needs only when its product cannot accumulate by itself (no
 * `scaled`, i.e. not BLAS); `t` is null otherwise.
 */
function scratchUnlessScaled(
  ctx: FusedContext,
  be: WasmHeapBackend,
  shape: number[],
): { t: TensorInfo | null; free: () => void } {
  return ctx.product(be).scaled ? { t: null, free: () => {} } : scratch(be, shape);
}

/**
 * Clears `floats` floats at byte `offset` of the heap, through one view of the whole heap (made
 * again only when the heap has grown): attention clears a few floats per masked row, thousands
 * of rows per call, and a view per row cost more than the clearing.
 */
const zeroer = (be: WasmHeapBackend) => {
  let view = new Float32Array(heapBuffer(be));
  return (offset: number, floats: number) => {
    if (view.buffer !== heapBuffer(be)) view = new Float32Array(heapBuffer(be));
    view.fill(0, offset >> 2, (offset >> 2) + floats);
  };
};

/**
 * Whether attention of shape `sh` runs its heads on the row pool's threads: the backend allows
 * it, the pool would split it, and every block product is of a size the one-thread path runs in
 * one-thread BLAS too (so the sums are the same).
 */
function headsThreaded(ctx: FusedContext, sh: AttentionShape): boolean {
  if (!ctx.heads || sh.b * sh.h < 2 || !ctx.rows.splits(sh.b * sh.h * sh.t * sh.s)) return false;
  const { min, max } = blockProductFlops(sh);
  return ctx.heads.covers(min, max);
}

const attention: Run = (args, ctx) => {
  const be = args.backend as WasmHeapBackend;
  const [q, k, v, bias] = ["q", "k", "v", "bias"].map((n) => need(args, n)) as TensorInfo[];
  const sh = attentionShape(q!, k!, bias!, attr(args.attrs, "causal") !== 0);
  const { b, h, t, s, d } = sh;
  const p = be.makeOutput([b, h, t, s], "float32");
  const o = be.makeOutput([b, t, h, d], "float32");
  const at = (x: TensorInfo) => heapOffset(be, x);
  const scale = attr(args.attrs, "scale");
  if (headsThreaded(ctx, sh)) {
    const job = [ROW_KERNEL.attention, ...[q!, k!, v!, bias!, p, o].map(at)];
    ctx.heads!.oneThread(() =>
      ctx.rows.run([...job, ...attentionShapeNumbers(sh), scale], b * h, { perRow: t * s })
    );
    return [o, p];
  }
  attentionForward(
    ctx.gemm(be),
    ctx.ew,
    {
      q: at(q!),
      k: at(k!),
      v: at(v!),
      bias: at(bias!),
      p: at(p),
      o: at(o),
    },
    sh,
    attr(args.attrs, "scale"),
    zeroer(be),
  );
  return [o, p];
};

const attentionGrad: Run = (args, ctx) => {
  const be = args.backend as WasmHeapBackend;
  const [dy, q, k, v, p, bias] = ["dy", "q", "k", "v", "p", "bias"].map((n) =>
    need(args, n)
  ) as TensorInfo[];
  const sh = attentionShape(q!, k!, bias!, attr(args.attrs, "causal") !== 0);
  const { b, h, t, s, sk, d } = sh;
  const dq = be.makeOutput([...q!.shape], "float32");
  const dk = be.makeOutput([...k!.shape], "float32");
  const dv = be.makeOutput([...v!.shape], "float32");
  const dO = scratch(be, [b, h, t, d]);
  const ds = scratch(be, [b, h, t, s]);
  try {
    const heap = new Float32Array(heapBuffer(be));
    rowsToHeads(heap, heapOffset(be, dy!) >> 2, heapOffset(be, dO.t) >> 2, b, h, t, d);
    if (sk > s) {
      // Key rows past the bias's S are not attended: their gradient is zero.
      heapF32(be, dk).fill(0);
      heapF32(be, dv).fill(0);
    }
    const at = (x: TensorInfo) => heapOffset(be, x);
    if (headsThreaded(ctx, sh)) {
      const job = [ROW_KERNEL.attentionGradHeads, ...[dO.t, q!, k!, v!, p!, ds.t, dq].map(at)];
      const scale = attr(args.attrs, "scale");
      ctx.heads!.oneThread(() =>
        ctx.rows.run([...job, ...attentionShapeNumbers(sh), scale], b * h, { perRow: t * s })
      );
      const all = [dO.t, q!, k!, v!, p!, ds.t, dq, dk, dv].map(at);
      const [aO, aq, ak, av, ap, ads, adq, adk, adv] = all as number[];
      attentionBackwardGroups(ctx.gemm(be), {
        dO: aO!,
        q: aq!,
        k: ak!,
        v: av!,
        p: ap!,
        ds: ads!,
        dq: adq!,
        dk: adk!,
        dv: adv!,
      }, sh);
      return [dq, dk, dv];
    }
    attentionBackward(
      ctx.gemm(be),
      ctx.ew,
      {
        dO: at(dO.t),
        q: at(q!),
        k: at(k!),
        v: at(v!),
        p: at(p!),
        ds: at(ds.t),
        dq: at(dq),
        dk: at(dk),
        dv: at(dv),
      },
      sh,
      attr(args.attrs, "scale"),
      zeroer(be),
    );
  } finally {
    dO.free();
    ds.free();
  }
  return [dq, dk, dv];
};

function loraShape(x: TensorInfo, w: TensorInfo, a: TensorInfo, b: TensorInfo): LoraShape {
  const [n, inF] = x.shape as [number, number];
  const [outF, wIn] = w.shape as [number, number];
  const [r, aIn] = a.shape as [number, number];
  if (wIn !== inF || aIn !== inF || b.shape[0] !== outF || b.shape[1] !== r) {
    throw new Error(
      `fused LoRA linear: x [${x.shape}], W [${w.shape}], A [${a.shape}], B [${b.shape}] do not fit`,
    );
  }
  return { n, inF, outF, r };
}

const loraLinear: Run = (args, ctx) => {
  const be = args.backend as WasmHeapBackend;
  const [x, w, a, b] = ["x", "w", "a", "b"].map((n) => need(args, n)) as TensorInfo[];
  const sh = loraShape(x!, w!, a!, b!);
  const y = be.makeOutput([sh.n, sh.outF], "float32");
  const xa = be.makeOutput([sh.n, sh.r], "float32");
  const tmp = scratchUnlessScaled(ctx, be, [sh.n, sh.outF]);
  try {
    const at = (t: TensorInfo) => heapOffset(be, t);
    loraForward(
      ctx.product(be),
      ctx.ew,
      {
        x: at(x!),
        w: at(w!),
        a: at(a!),
        b: at(b!),
        y: at(y),
        xa: at(xa),
        tmp: tmp.t ? at(tmp.t) : 0,
      },
      sh,
      attr(args.attrs, "scaling"),
    );
  } finally {
    tmp.free();
  }
  return [y, xa];
};

const loraLinearGrad: Run = (args, ctx) => {
  const be = args.backend as WasmHeapBackend;
  const [dy, x, w, a, b, xa] = ["dy", "x", "w", "a", "b", "xa"].map((n) =>
    need(args, n)
  ) as TensorInfo[];
  const sh = loraShape(x!, w!, a!, b!);
  const dx = be.makeOutput([sh.n, sh.inF], "float32");
  const da = be.makeOutput([sh.r, sh.inF], "float32");
  const db = be.makeOutput([sh.outF, sh.r], "float32");
  const dyb = scratch(be, [sh.n, sh.r]);
  const tmp = scratchUnlessScaled(ctx, be, [sh.n, sh.inF]);
  try {
    const at = (t: TensorInfo) => heapOffset(be, t);
    loraBackward(
      ctx.product(be),
      ctx.ew,
      {
        dy: at(dy!),
        x: at(x!),
        w: at(w!),
        a: at(a!),
        b: at(b!),
        xa: at(xa!),
        dx: at(dx),
        da: at(da),
        db: at(db),
        dyb: at(dyb.t),
        tmp: tmp.t ? at(tmp.t) : 0,
      },
      sh,
      attr(args.attrs, "scaling"),
      (offset, floats, by) => {
        const v = new Float32Array(heapBuffer(be), offset, floats);
        for (let i = 0; i < floats; i++) v[i] = v[i]! * by;
      },
    );
  } finally {
    dyb.free();
    tmp.free();
  }
  return [dx, da, db];
};

const RUNS: Record<string, Run> = {
  [FUSED.rmsNorm]: rmsNorm,
  [FUSED.rmsNormGrad]: rmsNormGrad,
  [FUSED.swiGlu]: swiGlu,
  [FUSED.swiGluGrad]: swiGluGrad,
  [FUSED.ropeHeads]: ropeHeads,
  [FUSED.ropeHeadsGrad]: ropeHeadsGrad,
  [FUSED.attention]: attention,
  [FUSED.attentionGrad]: attentionGrad,
  [FUSED.logSumExp]: logSumExp,
  [FUSED.crossEntropyGrad]: crossEntropyGrad,
  [FUSED.loraLinear]: loraLinear,
  [FUSED.loraLinearGrad]: loraLinearGrad,
};

type Saved = tf.Tensor[];
const run = (name: string, inputs: Record<string, tf.Tensor>, attrs: NamedAttrMap = {}) =>
  tf.engine().runKernel(name, inputs as never, attrs) as tf.Tensor | tf.Tensor[];

/** The gradients: each runs its backward kernel once and hands out its outputs. */
const GRADIENTS: GradConfig[] = [
  {
    kernelName: FUSED.rmsNorm,
    inputsToSave: ["x", "weight"],
    gradFunc: (dy, saved, attrs) => {
      const [x, weight] = saved as Saved;
      const [dx, dw] = run(
        FUSED.rmsNormGrad,
        { dy: dy as tf.Tensor, x: x!, weight: weight! },
        attrs,
      ) as Saved;
      return { x: () => dx!, weight: () => dw! };
    },
  },
  {
    kernelName: FUSED.swiGlu,
    inputsToSave: ["gate", "up"],
    gradFunc: (dy, saved) => {
      const [gate, up] = saved as Saved;
      const [dg, du] = run(FUSED.swiGluGrad, {
        dy: dy as tf.Tensor,
        gate: gate!,
        up: up!,
      }) as Saved;
      return { gate: () => dg!, up: () => du! };
    },
  },
  {
    kernelName: FUSED.ropeHeads,
    inputsToSave: ["cos", "sin"],
    gradFunc: (dy, saved) => {
      const [cos, sin] = saved as Saved;
      const dx = run(FUSED.ropeHeadsGrad, {
        dy: dy as tf.Tensor,
        cos: cos!,
        sin: sin!,
      }) as tf.Tensor;
      return { x: () => dx, cos: () => tf.zerosLike(cos!), sin: () => tf.zerosLike(sin!) };
    },
  },
];

let gradientsRegistered = false;

/**
 * Register the fused kernels on the heap backend `backendName` (replacing any registered before,
 * e.g. copied from `wasm` by `native`), and the gradients once.
 */
export function installFusedKernels(backendName: string, ctx: FusedContext): void {
  for (const [kernelName, f] of Object.entries(RUNS)) {
    if (tf.getKernel(kernelName, backendName)) tf.unregisterKernel(kernelName, backendName);
    const config: KernelConfig = {
      kernelName,
      backendName,
      kernelFunc: (args) => f(args, ctx) as TensorInfo,
    };
    tf.registerKernel(config);
  }
  if (!gradientsRegistered) {
    for (const g of GRADIENTS) tf.registerGradient(g);
    gradientsRegistered = true;
  }
}
