/**
 * Antidote (repair stage). Huang et al., "Antidote: Post-fine-tuning Safety Alignment for
 * Large Language Models against Harmful Fine-tuning" (arXiv 2408.09600); the authors' code is
 * git-disl/Antidote (`utils.py` `prune_wanda_outlier`, `script/finetune/antidote_*.sh`).
 *
 * After fine-tuning, run the fine-tuned model (aligned weights + the fine-tuning LoRA, no
 * dropout) on a re-alignment set of harmful data and score every weight of the LoRA's
 * matrices by its Wanda importance, `|W_ij| * ||X_j||_2`: the weight's magnitude times the L2
 * norm, over every real token, of the input feature it multiplies (the layer input `x` for
 * `A`, `A x` for `B`). The weights most important for producing harmful answers are the ones
 * removed: in each row, the `ratio` share with the largest scores (reference 0.1) is set to
 * zero, exactly `cols - floor((1 - ratio) * cols)` per row. Ties rank by column: of equal
 * scores, the later column counts as larger (a stable ascending sort, as the reference).
 *
 * Legend: N rows (batch x time), in the module's input width, r the LoRA rank, out its output.
 *
 * @module
 */
import { Effect } from "effect";
import { Backend, tf } from "../../backends/mod.ts";
import { adapterFromTensors, type LoraAdapter, type LoraMatrices } from "../lora/mod.ts";
import { forward, type LinearAdapter, type ModelConfig, type Params } from "../model/mod.ts";
import { batchToTensors, type TokenBatch } from "../tokenizer/mod.ts";
import { RepairFailed } from "./errors.ts";

/** Antidote's knob, with the reference default. */
export interface AntidoteOptions {
  /** Share of each row's weights removed, those with the largest scores (default 0.1). */
  readonly ratio?: number;
}

/** The reference default (git-disl/Antidote `antidote_poison_ratio.sh`: dense_ratio 0.1). */
export const ANTIDOTE_DEFAULTS = { ratio: 0.1 } as const;

/** Summed squared inputs of one adapted module's two matrices, over every real token. */
export interface InputNorms {
  /** `sum over tokens of x_j^2` for A's input columns, `[in]`. */
  readonly a: tf.Tensor;
  /** `sum over tokens of (A x)_k^2` for B's input columns, `[r]`. */
  readonly b: tf.Tensor;
}

/**
 * Run the model with `adapter` (no dropout) on `batches` and sum, per adapted module, the
 * squares of its LoRA matrices' inputs over the real (non-padding) tokens. The tensors
 * returned are kept; the caller disposes them.
 */
export function loraInputNorms(
  config: ModelConfig,
  params: Params,
  adapter: LoraAdapter,
  batches: readonly TokenBatch[],
): Map<string, InputNorms> {
  const sums = new Map<string, InputNorms>();
  let rowMask: tf.Tensor | null = null; // [N, 1]: 1 for a real token
  const observer: LinearAdapter = {
    delta(path, x) {
      const m = adapter.modules.get(path);
      if (!m || !rowMask) return null;
      const xm = tf.mul(x, rowMask); // [N, in]
      const ax = tf.matMul(xm, m.A as tf.Tensor2D, false, true); // [N, r]
      const a = tf.sum(tf.square(xm), 0); // [in]
      const b = tf.sum(tf.square(ax), 0); // [r]
      const prev = sums.get(path);
      sums.set(path, {
        a: tf.keep(prev ? tf.add(prev.a, a) : a),
        b: tf.keep(prev ? tf.add(prev.b, b) : b),
      });
      if (prev) tf.dispose([prev.a, prev.b]);
      return null;
    },
  };
  try {
    for (const batch of batches) {
      tf.tidy(() => {
        const t = batchToTensors(batch);
        rowMask = tf.reshape(tf.cast(t.attentionMask, "float32"), [-1, 1]); // [N, 1]
        forward(config, params, t.inputIds, {
          adapters: [adapter, observer],
          attentionMask: t.attentionMask,
          lastOnly: true, // the scores need the layers' inputs, not the logits
        });
      });
    }
  } catch (e) {
    for (const s of sums.values()) tf.dispose([s.a, s.b]);
    throw e;
  } finally {
    rowMask = null;
  }
  return sums;
}

/**
 * Wanda pruning of one matrix `[rows, cols]` (row-major): each row loses the
 * `cols - floor((1 - ratio) * cols)` weights with the largest `|w_ij| * sqrt(norms_j)`.
 * Returns the pruned matrix and how many weights it zeroed.
 */
export function wandaPrune(
  weights: Float32Array,
  rows: number,
  cols: number,
  norms: Float32Array,
  ratio: number,
): { weights: Float32Array; pruned: number } {
  const keep = Math.floor((1 - ratio) * cols + 1e-9);
  const out = Float32Array.from(weights);
  const scale = Array.from(norms, (n) => Math.sqrt(n));
  const order = Array.from({ length: cols }, (_, j) => j);
  let pruned = 0;
  for (let i = 0; i < rows; i++) {
    const score = (j: number) => Math.abs(weights[i * cols + j]!) * scale[j]!;
    order.sort((p, q) => score(p) - score(q) || p - q); // ascending, ties by column
    for (let k = keep; k < cols; k++) {
      out[i * cols + order[k]!] = 0;
      pruned++;
    }
  }
  return { weights: out, pruned };
}

/** What Antidote removed from one module. */
export interface AntidoteModule {
  /** The module path. */
  readonly path: string;
  /** Weights of A zeroed, of A's total. */
  readonly prunedA: number;
  /** A's size. */
  readonly sizeA: number;
  /** Weights of B zeroed. */
  readonly prunedB: number;
  /** B's size. */
  readonly sizeB: number;
}

/** The repaired adapter and the per-module record. */
export interface AntidoteResult {
  /** A new adapter (the input is left as it was); the caller owns it. */
  readonly adapter: LoraAdapter;
  /** One entry per adapted module. */
  readonly modules: readonly AntidoteModule[];
}

/** What {@link antidote} works on. */
export interface AntidoteInput {
  /** The model's architecture. */
  readonly config: ModelConfig;
  /** The frozen weights the adapter was trained on (the aligned model). */
  readonly params: Params;
  /** The fine-tuning adapter. */
  readonly adapter: LoraAdapter;
  /** The re-alignment set: batches of harmful prompts with harmful answers. */
  readonly harmful: readonly TokenBatch[];
}

/**
 * Antidote on `input.adapter`. Fails with {@link RepairFailed} when there is no harmful data.
 *
 * @example
 * ```ts
 * const { adapter, modules } = yield* antidote({ config, params, adapter, harmful }, { ratio: 0.1 });
 * ```
 */
export function antidote(
  input: AntidoteInput,
  options: AntidoteOptions = {},
): Effect.Effect<AntidoteResult, RepairFailed, Backend> {
  return Effect.gen(function* () {
    yield* Backend;
    const ratio = options.ratio ?? ANTIDOTE_DEFAULTS.ratio;
    if (input.harmful.length === 0) {
      return yield* new RepairFailed({ method: "antidote", reason: "no harmful data to score on" });
    }
    const norms = loraInputNorms(input.config, input.params, input.adapter, input.harmful);
    const matrices = new Map<string, LoraMatrices>();
    const free = Effect.sync(() => {
      for (const s of norms.values()) tf.dispose([s.a, s.b]);
      for (const m of matrices.values()) tf.dispose([m.A, m.B]);
    });
    // A failed download is a backend defect.
    const read = (t: tf.Tensor) => Effect.promise(() => t.data() as Promise<Float32Array>);
    return yield* Effect.gen(function* () {
      const modules: AntidoteModule[] = [];
      for (const [path, m] of input.adapter.modules) {
        const n = norms.get(path);
        if (!n) {
          return yield* new RepairFailed({
            method: "antidote",
            reason: `module ${path} saw no input (is it on the model's path?)`,
          });
        }
        const a = yield* read(m.A);
        const b = yield* read(m.B);
        const [r, inDim] = m.A.shape as [number, number];
        const out = m.B.shape[0]!;
        const pa = wandaPrune(a, r, inDim, yield* read(n.a), ratio);
        const pb = wandaPrune(b, out, r, yield* read(n.b), ratio);
        matrices.set(path, {
          A: tf.tensor2d(pa.weights, [r, inDim]),
          B: tf.tensor2d(pb.weights, [out, r]),
          alpha: m.alpha,
        });
        modules.push({
          path,
          prunedA: pa.pruned,
          sizeA: a.length,
          prunedB: pb.pruned,
          sizeB: b.length,
        });
      }
      return { adapter: adapterFromTensors(input.adapter.config, matrices, false), modules };
    }).pipe(Effect.ensuring(free));
  });
}
