/**
 * The causal language-model loss: token-mean cross-entropy of next-token predictions over
 * target tokens only (labels equal to -100 are ignored, as in Hugging Face).
 *
 * Two paths, the same number: with {@link LmBatch.targets} (target positions found on the
 * host), the final norm, the LM head and the cross-entropy run on the target rows only; without
 * them, on every row, with ignored rows weighted 0. Both use {@link crossEntropy}, one fused
 * operation over the vocabulary (log-sum-exp minus the picked logit; gradient softmax minus
 * one-hot) instead of a materialised log-softmax times a one-hot matrix.
 *
 * Legend: B batch, T time, V vocab, N rows.
 *
 * @module
 */
import { fused, tf } from "../../backends/mod.ts";
import type { ModelConfig } from "./config.ts";
import { forward, type ForwardOptions, readOut } from "./forward.ts";
import type { Params } from "./params.ts";

/** The label value that masks a position out of the loss. */
export const IGNORE_INDEX: number = -100;

/** Target positions of a batch: which rows predict a target token, and which token. */
export interface LmTargets {
  /** [N] int32: flat index b * T + t of each position whose next label is a target. */
  readonly rows: tf.Tensor;
  /** [N] int32: that next label. */
  readonly ids: tf.Tensor;
}

/** A training batch of equal-length rows. */
export interface LmBatch {
  /** [B, T] int32 token ids. */
  readonly inputIds: tf.Tensor;
  /** [B, T] int32 labels aligned with inputIds; -100 = not a target. */
  readonly labels: tf.Tensor;
  /** [B, T] 1 for real tokens, 0 for padding. */
  readonly attentionMask: tf.Tensor;
  /**
   * The target positions, when the caller has the labels on the host ({@link targetPositions}):
   * the LM head then runs on those rows only. Must agree with `labels`.
   */
  readonly targets?: LmTargets;
}

/**
 * Host side of {@link LmTargets}: for labels [B][T], the flat rows b * T + t with
 * labels[b][t + 1] != -100, and those labels, in row order.
 */
export function targetPositions(
  labels: readonly (readonly number[])[],
): { rows: Int32Array; ids: Int32Array } {
  const rows: number[] = [];
  const ids: number[] = [];
  const t = labels[0]?.length ?? 0;
  labels.forEach((row, b) => {
    for (let i = 0; i + 1 < t; i++) {
      const next = row[i + 1]!;
      if (next !== IGNORE_INDEX) {
        rows.push(b * t + i);
        ids.push(next);
      }
    }
  });
  return { rows: Int32Array.from(rows), ids: Int32Array.from(ids) };
}

/**
 * Weighted mean cross-entropy: sum_n w_n (logsumexp(logits_n) - logits_n[ids_n]) / max(sum w, 1)
 * for logits [N, V], ids [N] int32 (any value where w = 0) and weights [N]. One operation with
 * its own gradient, (softmax - one-hot) * w / max(sum w, 1), so no [N, V] log-softmax or
 * one-hot is kept for the backward pass.
 */
export function crossEntropy(logits: tf.Tensor, ids: tf.Tensor, weights: tf.Tensor): tf.Scalar {
  const [n, v] = logits.shape as [number, number];
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, id, w, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const lse = fused.available("logSumExp") ? fused.logSumExp(x) : tf.logSumExp(x, -1); // [N]
    const flat = tf.add(
      tf.mul(tf.range(0, n, 1, "int32"), tf.scalar(v, "int32")),
      tf.cast(id, "int32"),
    ); // [N]
    const picked = tf.gather(tf.reshape(x, [n * v]), flat); // [N]
    const count = tf.maximum(tf.sum(w), 1);
    save([x, id, w, lse, count]);
    return {
      value: tf.div(tf.sum(tf.mul(tf.sub(lse, picked), w)), count) as tf.Scalar,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sid, sw, slse, scount] = saved as [
          tf.Tensor,
          tf.Tensor,
          tf.Tensor,
          tf.Tensor,
          tf.Tensor,
        ];
        const scale = tf.div(tf.mul(sw, dy), scount); // [N]
        if (fused.available("crossEntropyGrad")) {
          const dx = fused.crossEntropyGrad(sx, slse, sid, scale); // [N, V]
          return [dx, tf.zerosLike(sid), tf.zerosLike(sw)];
        }
        const softmax = tf.exp(tf.sub(sx, tf.reshape(slse, [n, 1]))); // [N, V]
        const onehot = tf.oneHot(tf.cast(sid, "int32"), v); // [N, V]
        const dx = tf.mul(tf.sub(softmax, onehot), tf.reshape(scale, [n, 1])); // [N, V]
        return [dx, tf.zerosLike(sid), tf.zerosLike(sw)];
      },
    };
  });
  return f(logits, tf.cast(ids, "int32"), tf.cast(weights, "float32")) as tf.Scalar;
}

/**
 * Token-mean cross-entropy from logits [B, T, V] and labels [B, T]: position t predicts
 * label t+1 (the shift is done here, as in HF), positions with label -100 do not count.
 * Returns a scalar; 0 when no position is a target.
 */
export function lmLossFromLogits(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  const [b, t, v] = logits.shape as [number, number, number];
  const ignored = tf.fill([b, 1], IGNORE_INDEX, "int32"); // [B, 1]
  const next = tf.concat([tf.slice(tf.cast(labels, "int32"), [0, 1], [b, t - 1]), ignored], 1); // [B, T]
  const valid = tf.cast(tf.notEqual(next, IGNORE_INDEX), "int32"); // [B, T]
  const safe = tf.mul(next, valid); // [B, T] (ignored -> 0)
  return crossEntropy(
    tf.reshape(logits, [b * t, v]), // [B*T, V]
    tf.reshape(safe, [b * t]),
    tf.reshape(valid, [b * t]),
  );
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
  const fwd = { ...opts, attentionMask: batch.attentionMask };
  // With no target row the full path still gives 0, connected to the weights (autodiff needs it).
  if (batch.targets && batch.targets.rows.shape[0]! > 0) {
    const n = batch.targets.rows.shape[0]!;
    const logits = forward(c, p, batch.inputIds, { ...fwd, rows: batch.targets.rows }); // [N, V]
    return crossEntropy(logits, batch.targets.ids, tf.ones([n]));
  }
  const logits = forward(c, p, batch.inputIds, fwd); // [B, T, V]
  return lmLossFromLogits(logits, batch.labels);
}

/**
 * The loss of hidden states `[B, T, C]` read out through the final norm and the LM head: for
 * an inner layer's output its "logit lens" loss, for the last layer's the model's own loss.
 * Uses the batch's target rows when it has them, as {@link causalLmLoss}.
 */
export function readOutLoss(
  c: ModelConfig,
  p: Params,
  hidden: tf.Tensor,
  batch: Pick<LmBatch, "labels" | "targets">,
): tf.Scalar {
  if (batch.targets && batch.targets.rows.shape[0]! > 0) {
    const n = batch.targets.rows.shape[0]!;
    return crossEntropy(readOut(c, p, hidden, batch.targets.rows), batch.targets.ids, tf.ones([n])); // [N, V]
  }
  return lmLossFromLogits(readOut(c, p, hidden), batch.labels); // [B, T, V]
}
