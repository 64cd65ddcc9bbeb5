/**
 * KL: the fine-tuning loss plus `lambda * KL(current || aligned)` between the token
 * distributions of the model being tuned and the frozen aligned model, over the vocabulary,
 * averaged over positions. Needs `logits` and `referenceLogits` on the problem.
 *
 * Shapes: B batch, T time, V vocab.
 *
 * @module
 */
import { tf } from "../../../backends/mod.ts";
import { nonNegative } from "./_validate.ts";
import { type Method, type MethodContext, type Objective, singleState } from "./types.ts";

/** KL's knob. */
export interface KlOptions {
  /** Penalty weight (default 0.1, the reference scripts' `lamb`). */
  readonly lambda?: number;
}

/**
 * Mean over positions of `sum_v p (log p - log q)` with `p = softmax(current)`,
 * `q = softmax(reference)`; both `[..., V]`.
 */
export function klDivergence(current: tf.Tensor, reference: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const logP = tf.logSoftmax(current); // [B, T, V]
    const logQ = tf.logSoftmax(reference); // [B, T, V]
    const perPosition = tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)), -1); // [B, T]
    return tf.mean(perPosition) as tf.Scalar;
  });
}

/** KL to the aligned model. Throws `TrainOptionInvalid` for a negative lambda. */
export function kl(options: KlOptions = {}): Method {
  const lambda = nonNegative("kl.lambda", options.lambda ?? 0.1);
  return {
    ...singleState("kl", "finetune", false),
    objective<B>(ctx: MethodContext<B>): () => Objective {
      const { problem, batch } = ctx;
      if (!problem.logits || !problem.referenceLogits) {
        throw new Error("kl: the problem must provide logits() and referenceLogits()");
      }
      // The reference model is frozen: its logits are constants, computed off the tape.
      const ref = problem.referenceLogits(batch); // [B, T, V]
      return () => {
        const loss = problem.loss(batch);
        const penalty = tf.mul(klDivergence(problem.logits!(batch), ref), lambda) as tf.Scalar;
        return { loss, penalty };
      };
    },
  };
}
