/**
 * The decoder's building blocks as pure functions over parameter records.
 *
 * Legend: B batch, T new positions, S key positions (past + new), C hidden, H query heads,
 * KVH key/value heads, D head dim, I intermediate (MLP) width, V vocab.
 *
 * @module
 */
import { fused, tf } from "../../backends/mod.ts";
import { type LinearModule, modulePath, need, type Params } from "./params.ts";

/**
 * Something that adds a low-rank update to a linear module's output (LoRA). The model only
 * knows this shape; the adapter code lives in `src/lora`.
 */
export interface LinearAdapter {
  /**
   * The update for module `path` (e.g. `model.layers.0.self_attn.q_proj`) given its input
   * `x` `[N, in]`, or null when the adapter does not target that module.
   */
  delta(path: string, x: tf.Tensor2D, ctx: AdapterContext): tf.Tensor2D | null;
  /**
   * Optional: the update of module `path` as `scaling · B A` when it is exactly that in this
   * call (no dropout), so a backend may compute the base product and the update in one fused
   * kernel; null when the adapter does not target `path` or the call needs {@link delta}.
   */
  lowRank?(path: string, ctx: AdapterContext): LowRankUpdate | null;
}

/** A low-rank update `scaling · B A` of a linear module (LoRA's). */
export interface LowRankUpdate {
  /** [r, in]. */
  readonly A: tf.Tensor;
  /** [out, r]. */
  readonly B: tf.Tensor;
  /** What B A x is multiplied by. */
  readonly scaling: number;
}

/** Per-call context handed to adapters. */
export interface AdapterContext {
  /** True during training: adapters apply dropout. */
  readonly training: boolean;
  /** Seed of this step's dropout masks. */
  readonly dropoutSeed: number;
}

/** `x W^T + b` plus every adapter's update. x: [..., in] → [..., out]. */
export function linear(
  p: Params,
  layer: number,
  m: LinearModule,
  x: tf.Tensor,
  adapters: readonly LinearAdapter[],
  ctx: AdapterContext,
): tf.Tensor {
  const path = modulePath(layer, m);
  const w = need(p, `${path}.weight`); // [out, in]
  const lead = x.shape.slice(0, -1);
  const flat = x.rank === 2; // already [N, in]: no reshapes
  const x2 = (flat ? x : tf.reshape(x, [-1, x.shape[x.shape.length - 1]!])) as tf.Tensor2D; // [N, in]
  const back = (y: tf.Tensor) => flat ? y : tf.reshape(y, [...lead, w.shape[0]!]);
  const b = p[`${path}.bias`];
  // One adapter with a plain low-rank update on a frozen weight: one fused kernel.
  const lr = adapters.length === 1 ? adapters[0]!.lowRank?.(path, ctx) : null;
  if (lr && !(w instanceof tf.Variable) && fused.available("loraLinear")) {
    let y = fused.loraLinear(x2, w, lr.A, lr.B, lr.scaling); // [N, out]
    if (b) y = tf.add(y, b);
    return back(y);
  }
  let y: tf.Tensor = tf.matMul(x2, w as tf.Tensor2D, false, true); // [N, out]
  if (b) y = tf.add(y, b);
  for (const a of adapters) {
    const d = a.delta(path, x2, ctx);
    if (d) y = tf.add(y, d);
  }
  return back(y);
}

/**
 * RMSNorm: x / sqrt(mean(x²) + eps) * w. [..., C] → [..., C]. One fused kernel where the
 * backend has it (see `backends/fused`), these composite ops elsewhere.
 */
export function rmsNorm(x: tf.Tensor, w: tf.Tensor, eps: number): tf.Tensor {
  if (fused.available("rmsNorm")) return fused.rmsNorm(x, w, eps);
  const ms = tf.mean(tf.square(x), -1, true); // [..., 1]
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), w);
}

/** Apply rotary embeddings ("rotate half" convention). x: [B, h, T, D]. */
export function applyRope(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor {
  const d = x.shape[3]! / 2;
  const [x1, x2] = tf.split(x, [d, d], 3); // [B, h, T, D/2] each
  const rotated = tf.concat([tf.neg(x2!), x1!], 3); // [B, h, T, D]
  return tf.add(tf.mul(x, cos), tf.mul(rotated, sin));
}

/**
 * Split a projection's output into heads and rotate them: x [B, T, n*D] → [B, n, T, D] with
 * rotary embeddings (cos/sin [B or 1, 1, T, D]). One fused kernel where the backend has it.
 * (`x` may come flat, [B*T, n*D], with T read from the tables.)
 */
export function ropeHeads(
  x: tf.Tensor,
  cos: tf.Tensor,
  sin: tf.Tensor,
  n: number,
  d: number,
): tf.Tensor {
  const t = x.rank === 2 ? cos.shape[2]! : x.shape[1]!;
  const b = x.rank === 2 ? x.shape[0]! / t : x.shape[0]!;
  const split = tf.reshape(x, [b, t, n, d]); // [B, T, n, D]
  if (fused.available("ropeHeads")) return fused.ropeHeads(split, cos, sin);
  return applyRope(tf.transpose(split, [0, 2, 1, 3]), cos, sin); // [B, n, T, D]
}

/**
 * Scaled dot-product attention with an additive bias, merged back into rows:
 * softmax(scale q k^T + bias) v for q [B, H, T, D], k and v [B, KVH, S, D] (grouped-query:
 * each key/value head serves H / KVH query heads), bias [B or 1, 1, T, S] → [B*T, H*D].
 * `causal`: the bias hides every key after the query's position (as every bias of
 * `attentionBias` does), which lets the fused kernel skip those keys. One fused kernel where the
 * backend has it (it never materialises repeated keys).
 */
export function attention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  bias: tf.Tensor,
  scale: number,
  causal = false,
): tf.Tensor {
  const [b, h, t, d] = q.shape as [number, number, number, number];
  if (fused.available("attention")) {
    return tf.reshape(fused.attention(q, k, v, bias, scale, causal), [b * t, h * d]); // [B*T, H*D]
  }
  const rep = h / k.shape[1]!;
  const scores = tf.add(tf.mul(tf.matMul(q, repeatKv(k, rep), false, true), scale), bias); // [B, H, T, S]
  const att = tf.matMul(tf.softmax(scores, -1), repeatKv(v, rep)); // [B, H, T, D]
  return tf.reshape(tf.transpose(att, [0, 2, 1, 3]), [b * t, h * d]); // [B*T, H*D]
}

/** Repeat each key/value head `rep` times: [B, KVH, S, D] → [B, KVH*rep, S, D]. */
export function repeatKv(x: tf.Tensor, rep: number): tf.Tensor {
  if (rep === 1) return x;
  const [b, kvh, s, d] = x.shape as [number, number, number, number];
  // rank-4 tile: the WebGPU backend runs rank >= 5 tiles on the CPU
  const tiled = tf.tile(tf.reshape(x, [b, kvh, 1, s * d]), [1, 1, rep, 1]); // [B, KVH, rep, S*D]
  return tf.reshape(tiled, [b, kvh * rep, s, d]);
}

/** SwiGLU MLP: down(silu(gate(x)) * up(x)). [B, T, C] → [B, T, C]. */
export function mlp(
  p: Params,
  layer: number,
  x: tf.Tensor,
  adapters: readonly LinearAdapter[],
  ctx: AdapterContext,
): tf.Tensor {
  const g = linear(p, layer, "gate_proj", x, adapters, ctx); // [B, T, I]
  const u = linear(p, layer, "up_proj", x, adapters, ctx); // [B, T, I]
  return linear(p, layer, "down_proj", swiGlu(g, u), adapters, ctx); // [B, T, C]
}

/** SwiGLU's activation silu(g) * u, any equal shapes. One fused kernel where the backend has it. */
export function swiGlu(g: tf.Tensor, u: tf.Tensor): tf.Tensor {
  if (fused.available("swiGlu")) return fused.swiGlu(g, u);
  return tf.mul(tf.mul(g, tf.sigmoid(g)), u);
}
