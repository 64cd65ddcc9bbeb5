/**
 * LDIFS (fine-tuning stage). Mukhoti et al., "Fine-tuning can cripple your foundation model;
 * preserving features may be the solution" (TMLR 2024, arXiv 2308.13320), as re-run for
 * harmful fine-tuning in git-disl/Booster (`script/finetune/LDIFS_*.sh`, `LDIFSTrainer`).
 *
 * The fine-tuning loss plus `lambda/2 * sum_l ||(h_l(x; w) - h_l(x; w_aligned)) * mask||^2`:
 * for every decoder layer `l`, the squared distance between the layer's output under the
 * model being tuned and under the frozen aligned model, on the same user batch, summed over
 * the real (non-padding) positions and channels. The aligned model's features are constants.
 *
 * Reference lambda 1e-4 (the scripts' `RHO`). Differences from the reference: the features
 * are each decoder layer's output (the reference hooks each layer's MLP output); padding
 * positions do not count; and every layer's term counts (the reference drops a layer's term
 * once it exceeds 0.1, a guard against bf16 overflow that also switches the constraint off
 * for any layer that drifted far).
 *
 * Shapes: B batch, T time, C channels.
 *
 * @module
 */
import { tf } from "../../../backends/mod.ts";
import { nonNegative } from "./_validate.ts";
import { type Method, type MethodContext, type Objective, singleState } from "./types.ts";

/** LDIFS's knob. */
export interface LdifsOptions {
  /** Penalty weight lambda (default 1e-4). */
  readonly lambda?: number;
}

/** The reference default. */
export const LDIFS_DEFAULTS = { lambda: 1e-4 } as const;

/**
 * `sum_l ||(a_l - b_l) * mask||^2` over layers, positions and channels, with `mask` `[B, T]`
 * (1 = counts) broadcast over the channels of each `[B, T, C]` output.
 */
export function featureDistance(
  current: readonly tf.Tensor[],
  reference: readonly tf.Tensor[],
  mask: tf.Tensor,
): tf.Scalar {
  if (current.length !== reference.length) {
    throw new Error(`ldifs: ${current.length} layers against ${reference.length} in the reference`);
  }
  const m = tf.reshape(mask, [...mask.shape, 1]); // [B, T, 1]
  const terms = current.map((h, l) => tf.sum(tf.square(tf.mul(tf.sub(h, reference[l]!), m))) // sum over [B, T, C]
  );
  return (terms.length ? tf.addN(terms) : tf.scalar(0)) as tf.Scalar;
}

/** LDIFS. Throws `TrainOptionInvalid` for a negative lambda. */
export function ldifs(options: LdifsOptions = {}): Method {
  const lambda = nonNegative("ldifs.lambda", options.lambda ?? LDIFS_DEFAULTS.lambda);
  return {
    ...singleState("ldifs", "finetune", false),
    objective<B>(ctx: MethodContext<B>): () => Objective {
      const { problem, batch } = ctx;
      const features = problem.features;
      if (!features) throw new Error("ldifs: the problem must provide features()");
      // The aligned model is frozen: its features are constants, computed off the tape.
      const aligned = features.call(problem, batch, { reference: true });
      return () => {
        const now = features.call(problem, batch);
        const d = featureDistance(now.hidden, aligned.hidden, now.mask);
        return { loss: now.loss, penalty: tf.mul(d, lambda / 2) as tf.Scalar };
      };
    },
  };
}
