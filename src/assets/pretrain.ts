/**
 * Pretraining of the embedded base model: every weight trainable, AdamW with a cosine schedule
 * and linear warm-up, global-norm clipping. A first phase (`promptLossFraction` of the steps)
 * puts the loss on every token; the rest on answer tokens only (prompt tokens masked).
 * Batches group rows of similar length so little compute goes to padding. Each step runs
 * inside `tf.tidy`; the tensor count is checked to stay flat.
 *
 * Legend: B batch, T time, V vocab.
 *
 * @module
 */
import { tf } from "../../backends/mod.ts";
import { deriveSeed, shuffle } from "../data/rng.ts";
import { formatPrompt, formatTarget } from "../data/templates.ts";
import type { Example } from "../data/types.ts";
import {
  causalLmLoss,
  initParams,
  type ModelConfig,
  type Params,
  tinyModelConfig,
} from "../model/mod.ts";
import { batchToTensors, padForTraining, type TextTokenizer } from "../tokenizer/mod.ts";
import { clipByGlobalNorm, createAdamW, learningRate } from "../train/mod.ts";
import type { AssetRecipe, BaseModelShape, PretrainOptions } from "./recipe.ts";
import { SPECIAL_TOKENS } from "./recipe.ts";

/** One example as token ids: the prompt (BOS first) and the target (answer + EOS). */
export interface TokenRow {
  /** Prompt ids, BOS first. */
  readonly prompt: readonly number[];
  /** Answer ids, EOS last. */
  readonly target: readonly number[];
}

/** The Llama config of the base model for a tokenizer of `vocabSize` ids. */
export function baseModelConfig(shape: BaseModelShape, vocabSize: number): ModelConfig {
  return tinyModelConfig({
    architecture: "LlamaForCausalLM",
    vocabSize,
    hiddenSize: shape.hiddenSize,
    intermediateSize: shape.intermediateSize,
    numLayers: shape.numLayers,
    numHeads: shape.numHeads,
    numKvHeads: shape.numHeads,
    headDim: shape.hiddenSize / shape.numHeads,
    tieWordEmbeddings: true,
    maxPositionEmbeddings: shape.maxPositionEmbeddings,
    bosTokenId: SPECIAL_TOKENS.indexOf("<s>"),
    eosTokenIds: [SPECIAL_TOKENS.indexOf("</s>")],
    padTokenId: SPECIAL_TOKENS.indexOf("<pad>"),
    raw: {},
  });
}

/** Tokenize examples once (prompt with BOS, target with EOS). */
export function tokenizeRows(tok: TextTokenizer, examples: readonly Example[]): TokenRow[] {
  return examples.map((e) => ({
    prompt: tok.encode(formatPrompt(e), { addSpecialTokens: true }),
    target: [...tok.encode(formatTarget(e)), tok.eosId],
  }));
}

/**
 * The row indices of every batch of an epoch: a seeded permutation, cut into windows of 32
 * batches, each window sorted by length and split into batches, batch order shuffled again.
 * Deterministic by `seed` and `epoch`.
 */
export function epochBatches(
  lengths: readonly number[],
  batchSize: number,
  seed: number,
  epoch: number,
): number[][] {
  const order = shuffle(lengths.map((_, i) => i), deriveSeed(seed, `epoch:${epoch}`));
  const window = batchSize * 32;
  const batches: number[][] = [];
  for (let w = 0; w < order.length; w += window) {
    const part = order.slice(w, w + window).sort((a, b) => lengths[a]! - lengths[b]! || a - b);
    for (let i = 0; i + batchSize <= part.length; i += batchSize) {
      batches.push(part.slice(i, i + batchSize));
    }
  }
  return shuffle(batches, deriveSeed(seed, `epoch:${epoch}:batches`));
}

/**
 * Run `fn` with the gradient of `GatherV2` (the embedding lookup) computed as a one-hot
 * matmul, `dE = onehot(ids)^T · dy`, and restore the registered gradient afterwards. The
 * model's own rule uses `UnsortedSegmentSum`, which the wasm and native backends do not
 * implement; LoRA fine-tuning never needs it (the embedding is frozen), pretraining does. The
 * matmul goes through BLAS on the native backend and sums in a fixed order (deterministic).
 */
export async function withDenseEmbeddingGradient<T>(fn: () => Promise<T>): Promise<T> {
  const previous = tf.getGradient("GatherV2");
  tf.registerGradient({
    kernelName: "GatherV2",
    inputsToSave: ["x", "indices"],
    gradFunc: (dy, saved, attrs) => {
      const [x, indices] = saved as [tf.Tensor, tf.Tensor];
      return {
        x: () => {
          if ((attrs.axis as number) !== 0 || ((attrs.batchDims as number) ?? 0) !== 0) {
            throw new Error("dense gather gradient: axis 0 without batch dims only");
          }
          const flat = tf.cast(tf.reshape(indices, [-1]), "int32") as tf.Tensor1D; // [N]
          const rows = x.shape[0]!;
          const g = tf.reshape(dy as tf.Tensor, [flat.shape[0]!, -1]); // [N, C]
          const hot = tf.oneHot(flat, rows, 1, 0, "float32"); // [N, V]
          return tf.reshape(tf.matMul(hot, g, true, false), x.shape); // [V, C]
        },
        indices: () => tf.zerosLike(indices),
      };
    },
  });
  try {
    return await fn();
  } finally {
    if (previous) tf.registerGradient(previous);
  }
}

/** What pretraining reports. */
export interface PretrainReport {
  /** Optimizer steps taken. */
  readonly steps: number;
  /** Rows seen (steps × batch). */
  readonly rows: number;
  /** Non-padding tokens processed. */
  readonly tokens: number;
  /** Wall-clock seconds of the training loop. */
  readonly seconds: number;
  /** Tokens per second over the whole loop. */
  readonly tokensPerSecond: number;
  /** Mean loss of each window of `curveEvery` steps. */
  readonly lossCurve: readonly number[];
  /** Steps per point of the loss curve. */
  readonly curveEvery: number;
  /** Mean loss of the last window. */
  readonly finalLoss: number;
  /** Live tensors after the first step and after the last one (must be equal). */
  readonly tensorsAfterFirstStep: number;
  /** Live tensors after the last step. */
  readonly tensorsAtEnd: number;
}

/** Progress callback: called every few steps with a one-line summary. */
export type PretrainLog = (line: string) => void;

/**
 * Pretrain from a seeded initialisation. Returns the trained weights (plain tensors; the
 * caller disposes them) and the report.
 */
export function pretrain(
  config: ModelConfig,
  rows: readonly TokenRow[],
  o: PretrainOptions,
  seed: number,
  log: PretrainLog = () => {},
): Promise<{ params: Params; report: PretrainReport }> {
  return withDenseEmbeddingGradient(() => pretrainLoop(config, rows, o, seed, log));
}

async function pretrainLoop(
  config: ModelConfig,
  rows: readonly TokenRow[],
  o: PretrainOptions,
  seed: number,
  log: PretrainLog,
): Promise<{ params: Params; report: PretrainReport }> {
  const init = initParams(config, seed);
  const vars: Record<string, tf.Variable> = {};
  for (const [name, t] of Object.entries(init)) {
    vars[name] = tf.variable(t, true);
    t.dispose();
  }
  const varList = Object.values(vars);
  const opt = createAdamW(vars, { weightDecay: o.weightDecay });
  const lengths = rows.map((r) => Math.min(o.maxLength, r.prompt.length + r.target.length));
  const curveEvery = Math.max(1, Math.min(50, Math.floor(o.steps / 20)));
  const lossCurve: number[] = [];
  let windowSum = 0;
  let windowN = 0;
  let tokens = 0;
  let epoch = 0;
  let queue: number[][] = [];
  let tensorsAfterFirstStep = 0;
  const start = performance.now();
  for (let step = 0; step < o.steps; step++) {
    if (queue.length === 0) queue = epochBatches(lengths, o.batchSize, seed, epoch++);
    const idx = queue.shift()!;
    // Language-model phase: every real token is a label; then answers only.
    const lmPhase = step < Math.round(o.promptLossFraction * o.steps);
    const picked = idx.map((i) => rows[i]!).map((r) =>
      lmPhase ? { prompt: [], target: [...r.prompt, ...r.target] } : r
    );
    const batch = padForTraining(picked, config.padTokenId ?? 0, o.maxLength);
    for (const m of batch.attentionMask) for (const x of m) tokens += x;
    const lr = learningRate(step, {
      lr: o.lr,
      schedule: "cosine",
      warmupRatio: o.warmupRatio,
      totalSteps: o.steps,
    });
    const loss = tf.tidy(() => {
      const t = batchToTensors(batch);
      const { value, grads } = tf.variableGrads(() =>
        causalLmLoss(config, vars, {
          inputIds: t.inputIds, // [B, T]
          labels: t.labels!, // [B, T]
          attentionMask: t.attentionMask, // [B, T]
        }), varList);
      // variableGrads keys gradients by variable name; the optimizer wants the record's keys
      const byKey: Record<string, tf.Tensor> = {};
      for (const [key, v] of Object.entries(vars)) {
        const g = grads[v.name];
        if (g) byKey[key] = g;
      }
      const clipped = clipByGlobalNorm(byKey, o.maxGradNorm);
      opt.apply(clipped.grads, lr);
      return value;
    });
    const value = (await loss.data())[0]!;
    loss.dispose();
    if (!Number.isFinite(value)) throw new Error(`pretraining loss is ${value} at step ${step}`);
    if (step === 0) tensorsAfterFirstStep = tf.memory().numTensors;
    windowSum += value;
    windowN++;
    if (windowN === curveEvery || step === o.steps - 1) {
      lossCurve.push(windowSum / windowN);
      windowSum = 0;
      windowN = 0;
    }
    if ((step + 1) % 10 === 0 || step === o.steps - 1) {
      const sec = (performance.now() - start) / 1000;
      const eta = (sec / (step + 1)) * (o.steps - step - 1);
      log(
        `pretrain step ${step + 1}/${o.steps}  loss ${value.toFixed(3)}  lr ${
          lr.toExponential(2)
        }  ` +
          `${Math.round(tokens / sec)} tok/s  ${sec.toFixed(0)}s elapsed, ~${eta.toFixed(0)}s left`,
      );
    }
  }
  const seconds = (performance.now() - start) / 1000;
  const tensorsAtEnd = tf.memory().numTensors;
  opt.dispose();
  const params: Params = {};
  for (const [name, v] of Object.entries(vars)) {
    params[name] = tf.clone(v);
    v.dispose();
  }
  return {
    params,
    report: {
      steps: o.steps,
      rows: o.steps * o.batchSize,
      tokens,
      seconds,
      tokensPerSecond: tokens / seconds,
      lossCurve,
      curveEvery,
      finalLoss: lossCurve[lossCurve.length - 1] ?? NaN,
      tensorsAfterFirstStep,
      tensorsAtEnd,
    },
  };
}

/** Convenience: the model config of a recipe for a tokenizer. */
export const recipeModelConfig = (r: AssetRecipe, tok: TextTokenizer): ModelConfig =>
  baseModelConfig(r.model, tok.vocabSize);
