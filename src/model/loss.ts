/**
 * The causal language-model loss: token-mean cross-entropy of next-token predictions over
 * target tokens only (labels equal to -100 are ignored, as in Hugging Face).
 *
 * Legend: B batch, T time, V vocab.
 *
 * @module
 */
import { tf } from "../../backends/mod.ts";
import type { ModelConfig } from "./config.ts";
import { forward, type ForwardOptions } from "./forward.ts";
import type { Params } from "./params.ts";

/** The label value that masks a position out of the loss. */
export const IGNORE_INDEX: number = -100;

/** A training batch of equal-length rows. */
export interface LmBatch {
  /** [B, T] int32 token ids. */
  readonly inputIds: tf.Tensor;
  /** [B, T] int32 labels aligned with inputIds; -100 = not a target. */
  readonly labels: tf.Tensor;
  /** [B, T] 1 for real tokens, 0 for padding. */
  readonly attentionMask: tf.Tensor;
}

/**
 * Token-mean cross-entropy from logits [B, T, V] and labels [B, T]: position t predicts
 * label t+1 (the shift is done here, as in HF), positions with label -100 do not count.
 * Returns a scalar; 0 when no position is a target.
 */
export function lmLossFromLogits(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  const [b, t, v] = logits.shape as [number, number, number];
  const pred = tf.slice(logits, [0, 0, 0], [b, t - 1, v]); // [B, T-1, V]
  const next = tf.cast(tf.slice(labels, [0, 1], [b, t - 1]), "int32"); // [B, T-1]
  const valid = tf.cast(tf.notEqual(next, IGNORE_INDEX), "float32"); // [B, T-1]
  const safe = tf.mul(next, tf.cast(valid, "int32")); // [B, T-1] (ignored → 0)
  const logp = tf.logSoftmax(pred, -1); // [B, T-1, V]
  const picked = tf.sum(tf.mul(logp, tf.oneHot(safe, v)), -1); // [B, T-1]
  const total = tf.sum(tf.mul(picked, valid));
  const count = tf.maximum(tf.sum(valid), 1);
  return tf.neg(tf.div(total, count)) as tf.Scalar;
}

/**
 * The loss of the model on a batch: scalar token-mean CE over target tokens. Differentiable
 * with respect to any `tf.Variable` it reads (LoRA adapters), so `tf.variableGrads` works
 * while the base params stay constant tensors.
 */
export function causalLmLoss(
  c: ModelConfig,
  p: Params,
  batch: LmBatch,
  opts: ForwardOptions = {},
): tf.Scalar {
  const logits = forward(c, p, batch.inputIds, { ...opts, attentionMask: batch.attentionMask }); // [B, T, V]
  return lmLossFromLogits(logits, batch.labels);
}
