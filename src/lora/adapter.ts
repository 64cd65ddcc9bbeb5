/**
 * A LoRA adapter: for each targeted linear W [out, in], trainable A [r, in] (Kaiming-uniform,
 * as PEFT) and B [out, r] (zeros), adding scaling * B A x to the linear's output. With B = 0
 * a fresh adapter leaves the model unchanged.
 *
 * Legend: N rows (batch x time), r rank.
 *
 * @module
 */
import { tf } from "../../backends/mod.ts";
import {
  type AdapterContext,
  type LinearAdapter,
  linearShape,
  type ModelConfig,
  modulePath,
  seededRandom,
  subSeed,
  uniformArray,
} from "../model/mod.ts";
import { type LoraConfig, loraScaling, validateLoraConfig } from "./config.ts";

/** One adapted linear: A [r, in] and B [out, r], with its own alpha and scaling. */
export interface LoraModule {
  /** `[r, in]`, random at creation. */
  readonly A: tf.Variable;
  /** `[out, r]`, zero at creation (the adapter starts as a no-op). */
  readonly B: tf.Variable;
  /** Rank: A's rows (PEFT `rank_pattern` may give modules different ranks). */
  readonly r: number;
  /** Alpha of this module (PEFT `alpha_pattern` may differ from the config's). */
  readonly alpha: number;
  /** What B A x is multiplied by: alpha / r, or alpha / sqrt(r) with rsLoRA. */
  readonly scaling: number;
}

/** The matrices of one module, and optionally its own alpha (default: the config's). */
export interface LoraMatrices {
  /** `[r, in]`. */
  readonly A: tf.Tensor;
  /** `[out, r]`. */
  readonly B: tf.Tensor;
  /** This module's own alpha (PEFT's `alpha_pattern`). */
  readonly alpha?: number;
}

/** A LoRA adapter, usable as a `forward` adapter. */
export interface LoraAdapter extends LinearAdapter {
  /** The defaults (r, alpha) and the short names of the adapted modules. */
  readonly config: LoraConfig;
  /** alpha / r (or alpha / sqrt(r) with rsLoRA) of the config; modules may differ. */
  readonly scaling: number;
  /** Adapted modules keyed by HF module path (`model.layers.0.self_attn.q_proj`). */
  readonly modules: ReadonlyMap<string, LoraModule>;
  /** The trainable variables keyed by PEFT names (`base_model.model.<path>.lora_A.weight`). */
  trainable(): Record<string, tf.Variable>;
  /** Dispose every variable of the adapter. */
  dispose(): void;
}

/** PEFT's file key of module `path`'s A or B matrix. */
export function peftKey(path: string, which: "A" | "B"): string {
  return `base_model.model.${path}.lora_${which}.weight`;
}

/**
 * Build an adapter from explicit matrices (used by {@link createAdapter} and the loader).
 * `modules` maps module paths to A [r, in] and B [out, r] tensors, which become variables;
 * each module's rank is its A's rows, its alpha its own or the config's.
 */
export function adapterFromTensors(
  config: LoraConfig,
  modules: ReadonlyMap<string, LoraMatrices>,
  trainable = true,
): LoraAdapter {
  const scaling = loraScaling(config);
  const vars = new Map<string, LoraModule>();
  for (const [path, m] of modules) {
    const r = m.A.shape[0]!;
    const alpha = m.alpha ?? config.alpha;
    vars.set(path, {
      A: tf.variable(m.A, trainable),
      B: tf.variable(m.B, trainable),
      r,
      alpha,
      scaling: loraScaling({ r, alpha, useRslora: config.useRslora ?? false }),
    });
  }
  return {
    config,
    scaling,
    modules: vars,
    delta(path: string, x: tf.Tensor2D, ctx: AdapterContext): tf.Tensor2D | null {
      const m = vars.get(path);
      if (!m) return null;
      const xin = ctx.training && config.dropout > 0
        ? tf.dropout(x, config.dropout, undefined, subSeed(ctx.dropoutSeed, path)) // [N, in]
        : x;
      const down = tf.matMul(xin, m.A as tf.Tensor2D, false, true); // [N, r]
      const up = tf.matMul(down, m.B as tf.Tensor2D, false, true); // [N, out]
      return tf.mul(up, m.scaling);
    },
    lowRank(path: string, ctx: AdapterContext) {
      const m = vars.get(path);
      if (!m || (ctx.training && config.dropout > 0)) return null;
      return { A: m.A, B: m.B, scaling: m.scaling };
    },
    trainable(): Record<string, tf.Variable> {
      const out: Record<string, tf.Variable> = {};
      for (const [path, m] of vars) {
        out[peftKey(path, "A")] = m.A;
        out[peftKey(path, "B")] = m.B;
      }
      return out;
    },
    dispose(): void {
      for (const m of vars.values()) {
        m.A.dispose();
        m.B.dispose();
      }
    },
  };
}

/**
 * A fresh adapter on every layer's targeted linears: A ~ U(-1/sqrt(in), 1/sqrt(in)) (PEFT's
 * Kaiming-uniform with a = sqrt 5), B = 0. Same seed → same A on every backend.
 *
 * @example
 * ```ts
 * const adapter = createAdapter(config, { r: 8, alpha: 4, dropout: 0.1, targets: ["q_proj", "v_proj"] }, 1);
 * const logits = forward(config, params, ids, { adapters: [adapter] });
 * ```
 */
export function createAdapter(
  model: ModelConfig,
  lora: LoraConfig,
  seed: number,
): LoraAdapter {
  const targets = validateLoraConfig(lora);
  const modules = new Map<string, { A: tf.Tensor; B: tf.Tensor }>();
  for (let i = 0; i < model.numLayers; i++) {
    for (const m of targets) {
      const path = modulePath(i, m);
      const [out, inp] = linearShape(model, m);
      const a = uniformArray(lora.r * inp, 1 / Math.sqrt(inp), seededRandom(subSeed(seed, path)));
      modules.set(path, { A: tf.tensor2d(a, [lora.r, inp]), B: tf.zeros([out, lora.r]) });
    }
  }
  const adapter = adapterFromTensors(lora, modules);
  for (const m of modules.values()) {
    m.A.dispose();
    m.B.dispose();
  }
  return adapter;
}
