/**
 * Parameter records keyed by Hugging Face tensor names, their expected shapes, and a
 * deterministic random initialisation.
 *
 * @module
 */
import { tf } from "../../backends/mod.ts";
import type { ModelConfig } from "./config.ts";
import { normalArray, seededRandom, subSeed } from "./random.ts";

/** Model weights keyed by Hugging Face names (`model.layers.0.self_attn.q_proj.weight`, ...). */
export type Params = Record<string, tf.Tensor>;

import { LINEAR_MODULES, type LinearModule } from "./modules.ts";

export { LINEAR_MODULES, type LinearModule };

/** The HF module path of a linear in layer `i`: `model.layers.i.self_attn.q_proj`. */
export function modulePath(layer: number, m: LinearModule): string {
  const block = m === "gate_proj" || m === "up_proj" || m === "down_proj" ? "mlp" : "self_attn";
  return `model.layers.${layer}.${block}.${m}`;
}

/** `[out, in]` of a linear module (HF weight layout). */
export function linearShape(c: ModelConfig, m: LinearModule): [number, number] {
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  switch (m) {
    case "q_proj":
      return [q, c.hiddenSize];
    case "k_proj":
    case "v_proj":
      return [kv, c.hiddenSize];
    case "o_proj":
      return [c.hiddenSize, q];
    case "gate_proj":
    case "up_proj":
      return [c.intermediateSize, c.hiddenSize];
    case "down_proj":
      return [c.hiddenSize, c.intermediateSize];
  }
}

function hasBias(c: ModelConfig, m: LinearModule): boolean {
  if (m === "q_proj" || m === "k_proj" || m === "v_proj") return c.qkvBias;
  if (m === "o_proj") return c.oBias;
  return c.mlpBias;
}

/** Every parameter the config needs, with its shape, in a stable order. */
export function paramShapes(c: ModelConfig): Map<string, number[]> {
  const s = new Map<string, number[]>();
  s.set("model.embed_tokens.weight", [c.vocabSize, c.hiddenSize]);
  for (let i = 0; i < c.numLayers; i++) {
    s.set(`model.layers.${i}.input_layernorm.weight`, [c.hiddenSize]);
    s.set(`model.layers.${i}.post_attention_layernorm.weight`, [c.hiddenSize]);
    for (const m of LINEAR_MODULES) {
      const [o, n] = linearShape(c, m);
      s.set(`${modulePath(i, m)}.weight`, [o, n]);
      if (hasBias(c, m)) s.set(`${modulePath(i, m)}.bias`, [o]);
    }
  }
  s.set("model.norm.weight", [c.hiddenSize]);
  if (!c.tieWordEmbeddings) s.set("lm_head.weight", [c.vocabSize, c.hiddenSize]);
  return s;
}

/** Options for {@link initParams}. */
export interface InitOptions {
  /** Std of the normal init of matrices; default `config.initializerRange`. */
  readonly std?: number;
}

/**
 * Deterministic random weights: matrices ~ N(0, std), norms 1, biases 0. Each tensor draws
 * from its own stream (seeded by `seed` and its name), so the values do not depend on the
 * backend or on which other tensors exist.
 */
export function initParams(c: ModelConfig, seed: number, opts: InitOptions = {}): Params {
  const std = opts.std ?? c.initializerRange;
  const out: Params = {};
  for (const [name, shape] of paramShapes(c)) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (name.endsWith("norm.weight")) out[name] = tf.ones(shape);
    else if (name.endsWith(".bias")) out[name] = tf.zeros(shape);
    else out[name] = tf.tensor(normalArray(n, std, seededRandom(subSeed(seed, name))), shape);
  }
  return out;
}

/** The LM head matrix `[V, C]`: `lm_head.weight`, or the embedding when tied. */
export function lmHead(c: ModelConfig, p: Params): tf.Tensor {
  return c.tieWordEmbeddings ? need(p, "model.embed_tokens.weight") : need(p, "lm_head.weight");
}

/** `p[name]`, or a clear error naming the missing tensor. */
export function need(p: Params, name: string): tf.Tensor {
  const t = p[name];
  if (!t) throw new Error(`parameter '${name}' is missing from the parameter record`);
  return t;
}

/** Dispose every tensor of a parameter record. */
export function disposeParams(p: Params): void {
  for (const t of Object.values(p)) t.dispose();
}
