/**
 * The Llama-family decoder forward pass: embeddings, `numLayers` pre-norm blocks (grouped-query
 * attention with rotary embeddings and a causal mask, SwiGLU MLP), final norm, LM head.
 *
 * Legend: B batch, T new positions, S key positions (past + new), C hidden, H query heads,
 * KVH key/value heads, D head dim, V vocab.
 *
 * @module
 */
import { fused, tf } from "../../backends/mod.ts";
import type { ModelConfig } from "./config.ts";
import {
  type AdapterContext,
  attention,
  linear,
  type LinearAdapter,
  mlp,
  rmsNorm,
  ropeHeads,
} from "./layers.ts";
import { attentionBias, attentionBiasValues } from "./mask.ts";
import { ropeTables } from "./rope.ts";
import { lmHead, need, type Params } from "./params.ts";

/**
 * Keys and values of the positions seen so far, one entry per layer. `forward` updates it in
 * place: it disposes the old tensors and keeps the new ones (outside any `tf.tidy`), so a
 * caller may wrap each decoding step in `tf.tidy`. Free it with {@link disposeKvCache}.
 *
 * With a `capacity`, on a backend that can write tensors in place (the heap backends with
 * fused attention), each layer's k and v are allocated once at [B, KVH, capacity, D] and each
 * step writes its rows there; elsewhere the cache grows by concatenation.
 */
export interface KvCache {
  /** Per layer: k and v, each [B, KVH, S, D] (S = capacity when preallocated); null before the first call. */
  layers: ({ k: tf.Tensor; v: tf.Tensor } | null)[];
  /** S: positions already cached. */
  length: number;
  /** Positions to preallocate (0: grow by concatenation). */
  readonly capacity: number;
}

/** An empty cache for `config`, preallocating `capacity` positions where the backend can. */
export function createKvCache(c: ModelConfig, capacity = 0): KvCache {
  return { layers: Array.from({ length: c.numLayers }, () => null), length: 0, capacity };
}

/** Add k and v [B, KVH, T, D] at position `past` of layer `i`; returns the layer's keys and values. */
function cacheAppend(
  cache: KvCache,
  i: number,
  k: tf.Tensor,
  v: tf.Tensor,
  past: number,
): { k: tf.Tensor; v: tf.Tensor } {
  const old = cache.layers[i];
  const [b, kvh, t, d] = k.shape as [number, number, number, number];
  const inPlace = old
    ? old.k.shape[2] === cache.capacity && cache.capacity > 0
    : cache.capacity > 0 && fused.canWriteInPlace();
  if (inPlace && past + t > cache.capacity) {
    throw new Error(`KV cache: ${past + t} positions exceed its capacity of ${cache.capacity}`);
  }
  if (inPlace) {
    const layer = old ?? {
      k: tf.keep(tf.fill([b, kvh, cache.capacity, d], 0)), // [B, KVH, cap, D]
      v: tf.keep(tf.fill([b, kvh, cache.capacity, d], 0)), // [B, KVH, cap, D]
    };
    fused.writeRows(layer.k, k, past);
    fused.writeRows(layer.v, v, past);
    cache.layers[i] = layer;
    return layer;
  }
  const both = old
    ? { k: tf.concat([old.k, k], 2), v: tf.concat([old.v, v], 2) } // [B, KVH, S, D]
    : { k, v };
  old?.k.dispose();
  old?.v.dispose();
  cache.layers[i] = { k: tf.keep(both.k), v: tf.keep(both.v) };
  return both;
}

/** Dispose the cached tensors and reset the cache to empty. */
export function disposeKvCache(cache: KvCache): void {
  for (const l of cache.layers) {
    l?.k.dispose();
    l?.v.dispose();
  }
  cache.layers = cache.layers.map(() => null);
  cache.length = 0;
}

/** Options of {@link forward}. */
export interface ForwardOptions {
  /** LoRA (or other) adapters applied on top of the base linears, in order. */
  readonly adapters?: readonly LinearAdapter[];
  /** [B, S] 1 for real tokens, 0 for padding; S = cached + new positions. */
  readonly attentionMask?: tf.Tensor;
  /**
   * The same mask as host rows `[B][S]` (then `attentionMask` is not needed): position ids and
   * attention biases are built on the host, one tensor each, instead of with a dozen ops, which
   * is most of a decoding step's fixed cost outside the layers.
   */
  readonly hostMask?: readonly (readonly number[])[];
  /** Called with each layer's output h [B, T, C]; its return value replaces h. */
  readonly hiddenHook?: (layer: number, h: tf.Tensor) => tf.Tensor;
  /** KV cache for incremental decoding (updated in place). */
  readonly cache?: KvCache;
  /** Training mode: adapters apply dropout. Default false. */
  readonly training?: boolean;
  /** Seed for this call's dropout masks. Default 0. */
  readonly dropoutSeed?: number;
  /** Only compute logits for the last position ([B, 1, V]). Default false. */
  readonly lastOnly?: boolean;
  /**
   * Only compute logits for these positions: [N] int32 flat indices b * T + t. The result is
   * then [N, V] (the final norm and LM head run on those rows only).
   */
  readonly rows?: tf.Tensor;
}

/** {@link positionIds} from host mask rows, as one tensor. */
function hostPositionIds(t: number, past: number, mask: readonly (readonly number[])[]): tf.Tensor {
  const out = new Int32Array(mask.length * t);
  mask.forEach((row, b) => {
    let seen = 0;
    for (let j = 0; j < past + t; j++) {
      seen += row[j] ? 1 : 0;
      if (j >= past) out[b * t + j - past] = Math.max(0, seen - 1);
    }
  });
  return tf.tensor2d(out, [mask.length, t], "int32");
}

/** Position ids [B, T] for the new tokens: count of real tokens before each one. */
function positionIds(b: number, t: number, past: number, mask: tf.Tensor | undefined): tf.Tensor {
  if (!mask) return tf.tile(tf.reshape(tf.range(past, past + t, 1, "int32"), [1, t]), [b, 1]);
  const pos = tf.relu(tf.sub(tf.cumsum(tf.cast(mask, "int32"), 1), 1)); // [B, S]
  return tf.slice(pos, [0, past], [b, t]); // [B, T]
}

/**
 * Logits of the decoder for `inputIds` [B, T] (int32): [B, T, V], [B, 1, V] with
 * `lastOnly`, or [N, V] with `rows`. Pure in the parameters; wrap in `tf.tidy` (or differentiate through it).
 *
 * @example
 * ```ts
 * const logits = tf.tidy(() => forward(config, params, tf.tensor2d([[1, 5, 7]], undefined, "int32")));
 * ```
 */
export function forward(
  c: ModelConfig,
  p: Params,
  inputIds: tf.Tensor,
  opts: ForwardOptions = {},
): tf.Tensor {
  const [b, t] = inputIds.shape as [number, number];
  const adapters = opts.adapters ?? [];
  const ctx: AdapterContext = {
    training: opts.training ?? false,
    dropoutSeed: opts.dropoutSeed ?? 0,
  };
  const cache = opts.cache;
  const past = cache?.length ?? 0;
  const mask = opts.attentionMask;
  const host = opts.hostMask;
  const covered = host ? host[0]?.length : mask?.shape[1];
  if (covered !== undefined && covered !== past + t) {
    throw new Error(
      `attentionMask covers ${covered} positions, expected cached + new = ${past + t}`,
    );
  }
  if (host && host.length !== b) {
    throw new Error(`hostMask has ${host.length} rows for a batch of ${b}`);
  }
  const biasOf = (window: number | null) =>
    host
      ? tf.tensor4d(attentionBiasValues(t, past, host, window), [b, 1, t, past + t])
      : attentionBias(t, past, mask, window); // [B, 1, T, S]
  // The longest row is unpadded, so the largest position id is past + t - 1 (as transformers).
  const positions = host ? hostPositionIds(t, past, host) : positionIds(b, t, past, mask); // [B, T]
  const [cos, sin] = ropeTables(c, positions, past + t); // [B, 1, T, D]
  const bias = biasOf(null); // [B, 1, T, S]
  const slidingBias = c.slidingWindow === null ? bias : biasOf(c.slidingWindow); // [B, 1, T, S]
  const scale = 1 / Math.sqrt(c.headDim);
  const hd = c.headDim;
  // [B*T, n*D] → [B, n, T, D]; with one position the two layouts are the same memory.
  const heads = (x: tf.Tensor, n: number) =>
    t === 1
      ? tf.reshape(x, [b, n, 1, hd])
      : tf.transpose(tf.reshape(x, [b, t, n, hd]), [0, 2, 1, 3]);
  const rotated = (x: tf.Tensor, n: number) => ropeHeads(x, cos, sin, n, hd); // [B*T, n*D] → [B, n, T, D]
  const hook = opts.hiddenHook;
  const rows3 = (x: tf.Tensor) => tf.reshape(x, [b, t, c.hiddenSize]); // [B, T, C]

  // The residual stream stays [B*T, C] through the layers: the linears take it as it is.
  const ids = tf.reshape(tf.cast(inputIds, "int32"), [b * t]); // [B*T]
  let h = tf.gather(need(p, "model.embed_tokens.weight"), ids); // [B*T, C]
  for (let i = 0; i < c.numLayers; i++) {
    const pre = `model.layers.${i}`;
    const x = rmsNorm(h, need(p, `${pre}.input_layernorm.weight`), c.rmsNormEps); // [B*T, C]
    const q = rotated(linear(p, i, "q_proj", x, adapters, ctx), c.numHeads); // [B, H, T, D]
    let k = rotated(linear(p, i, "k_proj", x, adapters, ctx), c.numKvHeads); // [B, KVH, T, D]
    let v = heads(linear(p, i, "v_proj", x, adapters, ctx), c.numKvHeads); // [B, KVH, T, D]
    if (cache) ({ k, v } = cacheAppend(cache, i, k, v, past)); // [B, KVH, S or capacity, D]
    const layerBias = c.layerTypes[i] === "sliding_attention" ? slidingBias : bias;
    const merged = attention(q, k, v, layerBias, scale, true); // [B*T, H*D] (the bias is causal)
    const attn = linear(p, i, "o_proj", merged, adapters, ctx); // [B*T, C]
    h = tf.add(h, attn); // [B*T, C]
    const y = rmsNorm(h, need(p, `${pre}.post_attention_layernorm.weight`), c.rmsNormEps); // [B*T, C]
    h = tf.add(h, mlp(p, i, y, adapters, ctx)); // [B*T, C]
    if (hook) h = tf.reshape(hook(i, rows3(h)), [b * t, c.hiddenSize]); // the hook sees [B, T, C]
  }
  if (cache) cache.length = past + t;
  if (opts.lastOnly && !opts.rows) {
    const last = tf.tensor1d(Array.from({ length: b }, (_, r) => r * t + t - 1), "int32"); // [B]
    return readOut(c, p, tf.reshape(tf.gather(h, last), [b, 1, c.hiddenSize]), undefined); // [B, 1, V]
  }
  return readOut(c, p, rows3(h), opts.rows);
}

/**
 * Hidden states `[B, T, C]` to logits: the final RMSNorm and the LM head, `[B, T, V]`, or
 * `[N, V]` for the flat positions `rows` ([N] int32, b * T + t) only. The end of
 * {@link forward}; applied to an inner layer's output it is the "logit lens".
 */
export function readOut(c: ModelConfig, p: Params, hidden: tf.Tensor, rows?: tf.Tensor): tf.Tensor {
  const [b, tt] = hidden.shape as [number, number, number];
  const flat = tf.reshape(hidden, [b * tt, c.hiddenSize]); // [B*T, C]
  const picked = rows ? tf.gather(flat, rows) : flat; // [N, C]
  const normed = rmsNorm(picked, need(p, "model.norm.weight"), c.rmsNormEps); // [N, C]
  const logits = tf.matMul(normed as tf.Tensor2D, lmHead(c, p) as tf.Tensor2D, false, true); // [N, V]
  return rows ? logits : tf.reshape(logits, [b, tt, c.vocabSize]); // [B, T, V]
}
