/**
 * Safe LoRA (repair stage). Hsu et al., "Safe LoRA: the Silver Lining of Reducing Safety
 * Risks when Finetuning Large Language Models", NeurIPS 2024 (arXiv 2405.16833); the authors'
 * code is IBM/SafeLoRA (`model.py`, `config.py`).
 *
 * For every module the fine-tuning LoRA adapts:
 * - the alignment matrix `V = W_aligned - W_base` `[out, in]` (what the alignment stage
 *   changed) gives `C = V V^T / ||V||_F` `[out, out]`;
 * - the update `dW = scaling * B A` is compared with its projection `C dW` by cosine
 *   similarity;
 * - where the similarity is at or below the threshold (reference 0.5), the update is replaced
 *   by its projection (`B <- C B`, so `dW <- C dW` exactly); elsewhere it is left untouched.
 *
 * With `layers = k > 0` the threshold is instead the k-th lowest similarity, so the k least
 * aligned modules are projected (the reference's `number` mode; ties at the k-th value are
 * projected too). A module whose update is zero has no direction and is left untouched.
 *
 * Legend: out, in the module's shape; r the LoRA rank.
 *
 * @module
 */
import { Effect } from "effect";
import { Backend, tf } from "../../backends/mod.ts";
import { adapterFromTensors, type LoraAdapter, type LoraMatrices } from "../lora/mod.ts";
import type { Params } from "../model/mod.ts";
import { RepairFailed } from "./errors.ts";

/** Safe LoRA's knobs, with the reference defaults. */
export interface SafeLoraOptions {
  /** Cosine-similarity threshold: modules at or below it are projected (default 0.5). */
  readonly threshold?: number;
  /** Project the `layers` least similar modules instead (0, the default: use the threshold). */
  readonly layers?: number;
}

/** The reference defaults (IBM/SafeLoRA `config.py`: threshold 0.5). */
export const SAFELORA_DEFAULTS = { threshold: 0.5, layers: 0 } as const;

/** What Safe LoRA did to one module. */
export interface SafeLoraModule {
  /** The module path (`model.layers.0.self_attn.q_proj`). */
  readonly path: string;
  /** Cosine similarity of the update with its projection (null for a zero update). */
  readonly cosine: number | null;
  /** Whether the update was replaced by its projection. */
  readonly projected: boolean;
}

/** The repaired adapter and the per-module record. */
export interface SafeLoraResult {
  /** A new adapter (the input is left as it was); the caller owns it. */
  readonly adapter: LoraAdapter;
  /** One entry per adapted module, in the adapter's order. */
  readonly modules: readonly SafeLoraModule[];
  /** The threshold that was applied (the k-th lowest similarity in `layers` mode). */
  readonly threshold: number;
}

/** What {@link safeLora} works on. */
export interface SafeLoraInput {
  /** The fine-tuning adapter. */
  readonly adapter: LoraAdapter;
  /** The aligned model's weights (the alignment adapter merged). */
  readonly aligned: Params;
  /** The base model's weights, before alignment. */
  readonly base: Params;
}

/** `C = V V^T / ||V||_F` of the module at `path` (inside a tidy). */
function projection(input: SafeLoraInput, path: string): tf.Tensor2D {
  const key = `${path}.weight`;
  const a = input.aligned[key];
  const b = input.base[key];
  if (!a || !b) throw new RepairFailed({ method: "safelora", reason: `no weight '${key}'` });
  const v = tf.sub(a, b) as tf.Tensor2D; // [out, in]
  return tf.div(tf.matMul(v, v, false, true), tf.norm(v)) as tf.Tensor2D; // [out, out]
}

/**
 * Safe LoRA on `input.adapter`. Fails with {@link RepairFailed} when a module's alignment
 * matrix is zero (the alignment stage did not change that module: no subspace to project on).
 *
 * @example
 * ```ts
 * const { adapter, modules } = yield* safeLora({ adapter, aligned, base }, { threshold: 0.5 });
 * ```
 */
export function safeLora(
  input: SafeLoraInput,
  options: SafeLoraOptions = {},
): Effect.Effect<SafeLoraResult, RepairFailed, Backend> {
  return Effect.gen(function* () {
    const { tf } = yield* Backend;
    const threshold = options.threshold ?? SAFELORA_DEFAULTS.threshold;
    const layers = options.layers ?? SAFELORA_DEFAULTS.layers;
    const paths = [...input.adapter.modules.keys()];
    // Per module: ||V||_F and the cosine of dW with C dW, in one download.
    const stats = yield* Effect.try({
      try: () =>
        tf.tidy(() =>
          tf.stack(paths.flatMap((path) => {
            const m = input.adapter.modules.get(path)!;
            const c = projection(input, path); // [out, out]
            const dw = tf.matMul(m.B, m.A); // [out, in]
            const cdw = tf.matMul(c, dw); // [out, in]
            const cos = tf.div(
              tf.sum(tf.mul(dw, cdw)),
              tf.mul(tf.norm(dw), tf.norm(cdw)),
            );
            return [tf.norm(c), cos];
          }))
        ),
      catch: (e) =>
        e instanceof RepairFailed ? e : new RepairFailed({ method: "safelora", reason: String(e) }),
    });
    // A failed download is a backend defect; the tensor is freed either way.
    const values = yield* Effect.promise(() => stats.data() as Promise<Float32Array>).pipe(
      Effect.ensuring(Effect.sync(() => stats.dispose())),
    );
    const cosines: (number | null)[] = [];
    for (const [i, path] of paths.entries()) {
      if (!(values[2 * i]! > 0)) {
        return yield* new RepairFailed({
          method: "safelora",
          reason: `module ${path}: the aligned and base weights are equal, so there is no ` +
            "alignment subspace (the alignment LoRA must target every module the fine-tuning " +
            "LoRA targets)",
        });
      }
      const c = values[2 * i + 1]!;
      cosines.push(Number.isFinite(c) ? c : null);
    }
    const known = cosines.filter((c): c is number => c !== null).sort((a, b) => a - b);
    const cut = layers > 0
      ? (known[Math.min(layers, known.length) - 1] ?? Number.NEGATIVE_INFINITY)
      : threshold;
    const modules = paths.map((path, i) => ({
      path,
      cosine: cosines[i]!,
      projected: cosines[i] !== null && cosines[i]! <= cut,
    }));
    const matrices = new Map<string, LoraMatrices>();
    for (const { path, projected } of modules) {
      const m = input.adapter.modules.get(path)!;
      const b = tf.tidy(
        () => (projected ? tf.matMul(projection(input, path), m.B) : tf.clone(m.B)),
      ); // [out, r]
      matrices.set(path, { A: tf.clone(m.A), B: b, alpha: m.alpha });
    }
    const adapter = adapterFromTensors(input.adapter.config, matrices, false);
    for (const m of matrices.values()) tf.dispose([m.A, m.B]);
    return { adapter, modules, threshold: cut };
  });
}
