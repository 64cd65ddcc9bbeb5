/**
 * The fused ops, for the model code: each runs the active backend's fused kernel (`kernels.ts`)
 * and is differentiable through its registered gradient. `available(op)` says whether the
 * active backend has the kernel; where it does not (cpu, webgpu, tensorflow), or with
 * `LISA_FUSED=0`, the model uses its composite ops instead (`src/model/layers.ts`), which define
 * the same values.
 *
 * Legend: B batch, T positions, H heads, KVH key/value heads, S keys, D head dim, C channels.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { FUSED } from "./kernels.ts";
import { heapF32, type WasmHeapBackend } from "../native/heap.ts";

/** The ops with a fused kernel. */
export type FusedOp =
  | "rmsNorm"
  | "swiGlu"
  | "ropeHeads"
  | "attention"
  | "logSumExp"
  | "crossEntropyGrad"
  | "loraLinear";

function fromEnv(): boolean {
  try {
    return Deno.env.get("LISA_FUSED")?.trim() !== "0";
  } catch {
    return true; // no permission to read the environment: the default
  }
}

let enabled = fromEnv();

/**
 * Turn the fused kernels on or off for this process (default on; `LISA_FUSED=0` starts off).
 * Off, the model runs its composite ops on every backend: for comparisons and tests.
 */
export function setFusedEnabled(on: boolean): void {
  enabled = on;
}

/** Whether the active backend runs `op` as one fused kernel (and they are enabled). */
export function available(op: FusedOp): boolean {
  return enabled && tf.getKernel(FUSED[op], tf.getBackend()) !== undefined;
}

const run = (name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, number> = {}) =>
  tf.engine().runKernel(name, inputs as never, attrs as never) as tf.Tensor | tf.Tensor[];

/** RMSNorm: `x / sqrt(mean(x^2) + eps) * w`, x [..., C], w [C]. */
export function rmsNorm(x: tf.Tensor, w: tf.Tensor, eps: number): tf.Tensor {
  return run(FUSED.rmsNorm, { x, weight: w }, { eps }) as tf.Tensor;
}

/** SwiGLU's activation: `gate sigmoid(gate) up`, any equal shapes. */
export function swiGlu(gate: tf.Tensor, up: tf.Tensor): tf.Tensor {
  return run(FUSED.swiGlu, { gate, up }) as tf.Tensor;
}

/**
 * Rotary embeddings and the split into heads in one: x [B, T, H, D] (a projection's output) to
 * [B, H, T, D], with cos/sin [B or 1, 1, T, D] (rotate-half convention).
 */
export function ropeHeads(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor {
  return run(FUSED.ropeHeads, { x, cos, sin }) as tf.Tensor;
}

/**
 * `softmax(scale q k^T + bias) v` with grouped-query heads (H a multiple of KVH), q [B, H, T, D],
 * k and v [B, KVH, Sk, D], bias [B or 1, 1, T, S] (S <= Sk: only the first S keys count; the T
 * queries sit at positions S - T .. S - 1). `causal`: the bias hides every key after the query's
 * own position (then whole blocks of masked keys are skipped). Returns [B, T, H, D] (heads
 * already merged in each row). Differentiable in q, k and v (not in the bias).
 */
export function attention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  bias: tf.Tensor,
  scale: number,
  causal: boolean,
): tf.Tensor {
  const attrs = { scale, causal: causal ? 1 : 0 };
  // A custom gradient rather than a registered one: the probabilities are kept for the
  // backward pass without being an output of the op (no zero gradient made for them).
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [q, k, v, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const [o, p] = run(FUSED.attention, { q, k, v, bias }, attrs) as tf.Tensor[];
    save([q, k, v, p!]);
    return {
      value: o!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sq, sk, sv, sp] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        const inputs = { dy, q: sq, k: sk, v: sv, p: sp, bias };
        return run(FUSED.attentionGrad, inputs, attrs) as tf.Tensor[];
      },
    };
  });
  return f(q, k, v);
}

/**
 * A linear layer with a LoRA update: `x W^T + scaling (x A^T) B^T` for x [N, in], W [out, in]
 * (frozen: no gradient flows to it), A [r, in], B [out, r]. Differentiable in x, A and B.
 */
export function loraLinear(
  x: tf.Tensor,
  w: tf.Tensor,
  a: tf.Tensor,
  b: tf.Tensor,
  scaling: number,
): tf.Tensor {
  const attrs = { scaling };
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, a, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const [y, xa] = run(FUSED.loraLinear, { x, w, a, b }, attrs) as tf.Tensor[];
    save([x, a, b, xa!]);
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sa, sb, sxa] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        const inputs = { dy, x: sx, w, a: sa, b: sb, xa: sxa };
        return run(FUSED.loraLinearGrad, inputs, attrs) as tf.Tensor[];
      },
    };
  });
  return f(x, a, b);
}

/** Log-sum-exp of each row: x [N, V] → [N]. Not differentiable (for use inside a custom gradient). */
export function logSumExp(x: tf.Tensor): tf.Tensor {
  return run(FUSED.logSumExp, { x }) as tf.Tensor;
}

/**
 * The cross-entropy gradient `(exp(x - lse) - onehot(ids)) scale` for x [N, V], lse [N] (from
 * {@link logSumExp}), ids [N] int32 and a per-row scale [N]: one pass over x.
 */
export function crossEntropyGrad(
  x: tf.Tensor,
  lse: tf.Tensor,
  ids: tf.Tensor,
  scale: tf.Tensor,
): tf.Tensor {
  return run(FUSED.crossEntropyGrad, { x, lse, ids, scale }) as tf.Tensor;
}

/**
 * Whether the active backend keeps tensors in a heap that {@link writeRows} may write in place
 * (the backends with fused kernels), so a KV cache can be preallocated instead of regrown by
 * concatenation at every step.
 */
export function canWriteInPlace(): boolean {
  return available("attention");
}

/**
 * Copy `src` [B, n, T, D] into rows `at .. at + T` of `dst` [B, n, Sk, D] in place. Only for a
 * tensor nothing else reads (a KV cache its owner allocated), on a backend where
 * {@link canWriteInPlace} holds.
 */
export function writeRows(dst: tf.Tensor, src: tf.Tensor, at: number): void {
  const [b, n, sk, d] = dst.shape as [number, number, number, number];
  const t = src.shape[2]!;
  if (src.shape[0] !== b || src.shape[1] !== n || src.shape[3] !== d || at < 0 || at + t > sk) {
    throw new Error(`writeRows: [${src.shape}] does not fit rows ${at}.. of [${dst.shape}]`);
  }
  const be = tf.backend() as unknown as WasmHeapBackend;
  const to = heapF32(be, dst);
  const from = heapF32(be, src);
  for (let g = 0; g < b * n; g++) {
    to.set(from.subarray(g * t * d, (g + 1) * t * d), (g * sk + at) * d);
  }
}
