/**
 * RepNoise (alignment stage). Rosati et al., "Representation Noising: A Defence Mechanism
 * Against Harmful Finetuning", NeurIPS 2024 (arXiv 2405.14577); the coefficients are those of
 * the re-runs in git-disl/Booster (`script/alignment/repNoise.sh`), the framework the Lisa
 * authors compare in.
 *
 * Per step, on a batch of alignment data (harmful prompt + safe answer) and a batch of the
 * provider's harmful data (harmful prompt + harmful answer):
 *
 * `loss = retain + beta * noise - alpha * log(1 + ascent)`
 *
 * - `retain`: the loss on the safe answers (ordinary alignment training);
 * - `noise`: how far the harmful answers' representations are from Gaussian noise, the maximum
 *   mean discrepancy (MMD, a sum of Gaussian kernels) between each layer's outputs at the
 *   harmful-answer positions and standard normal noise at the same positions, averaged over
 *   layers; lowering it makes those representations look like noise, so there is little for a
 *   later harmful fine-tuning to build on;
 * - `ascent`: the harmful answers' loss read out from every layer (logit lens), averaged over
 *   layers; `- alpha * log(1 + ascent)` is gradient ascent on it, bounded by the logarithm.
 *
 * The noise is drawn afresh each step from a seeded stream (seed, step, layer), so a run is
 * reproducible and resumes bit-identically. Shapes: B batch, T time, C channels.
 *
 * @module
 */
import { tf } from "../../../backends/mod.ts";
import { deriveSeed, seededRandom } from "../../data/rng.ts";
import type { TrainingProblem } from "../problem.ts";
import { nonNegative } from "./_validate.ts";
import { type Method, type MethodContext, type Objective, singleState } from "./types.ts";

/** RepNoise's knobs, with the reference defaults. */
export interface RepNoiseOptions {
  /** Weight alpha of the bounded gradient ascent on harmful answers (default 0.1). */
  readonly alpha?: number;
  /** Weight beta of the noise (MMD) term (default 0.001). */
  readonly beta?: number;
  /** Seed of the noise stream (default 0). */
  readonly seed?: number;
}

/** The reference defaults (git-disl/Booster `repNoise.sh`: alpha 0.1, beta 0.001). */
export const REPNOISE_DEFAULTS = { alpha: 0.1, beta: 0.001 } as const;

/** Kernels in the MMD's sum, and the ratio between consecutive bandwidths. */
const KERNELS = 5;
const KERNEL_RATIO = 2;

/** `x` in the forward pass, no gradient in the backward pass (a constant of the tape). */
const stopGradient = (x: tf.Tensor): tf.Tensor =>
  tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.clone(args[0] as tf.Tensor),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
  }))(x);

/**
 * The maximum mean discrepancy between the rows of `x` `[n, D]` and of `y` `[n, D]` under a
 * sum of five Gaussian kernels, `exp(-d^2 / (b * 2^i))` for i = 0..4, with the base bandwidth
 * `b` the mean pairwise squared distance over both sets divided by 4 (a constant for the
 * gradient): `mean(K_xx + K_yy - K_xy - K_yx)`.
 */
export function mmd(x: tf.Tensor, y: tf.Tensor): tf.Scalar {
  const n = x.shape[0]!;
  const all = tf.concat([x, y], 0); // [2n, D]
  const sq = tf.sum(tf.square(all), 1); // [2n]
  const gram = tf.matMul(all, all, false, true); // [2n, 2n]
  const d2 = tf.relu(tf.sub(tf.add(tf.expandDims(sq, 1), tf.expandDims(sq, 0)), tf.mul(gram, 2))); // [2n, 2n]
  const m = 2 * n;
  const mean = tf.div(tf.sum(d2), m * m - m);
  const base = stopGradient(tf.div(mean, KERNEL_RATIO ** Math.floor(KERNELS / 2)));
  const kernels = Array.from(
    { length: KERNELS },
    (_, i) => tf.exp(tf.neg(tf.div(d2, tf.mul(base, KERNEL_RATIO ** i)))),
  );
  const k = tf.addN(kernels); // [2n, 2n]
  const block = (r: number, c: number) => tf.slice(k, [r * n, c * n], [n, n]); // [n, n]
  const sum = tf.sub(tf.add(block(0, 0), block(1, 1)), tf.add(block(0, 1), block(1, 0)));
  return tf.mean(sum) as tf.Scalar;
}

/**
 * The noise term: for each layer's output `[B, T, C]`, the MMD between its rows at the target
 * positions (others zeroed, each sample flattened to one row) and standard normal noise
 * masked the same way; the mean over layers. `seed` fixes the noise.
 */
export function noiseTerm(
  hidden: readonly tf.Tensor[],
  targets: tf.Tensor,
  seed: number,
): tf.Scalar {
  const terms = hidden.map((h, layer) => {
    const b = h.shape[0]!;
    const m = tf.reshape(targets, [...targets.shape, 1]); // [B, T, 1]
    const masked = tf.mul(h, m); // [B, T, C]
    const rand = seededRandom(deriveSeed(seed, `repnoise:${layer}`));
    const values = new Float32Array(h.size);
    for (let i = 0; i < values.length; i += 2) {
      // Box-Muller: two standard normals per pair of uniforms.
      const r = Math.sqrt(-2 * Math.log(1 - rand()));
      const t = 2 * Math.PI * rand();
      values[i] = r * Math.cos(t);
      if (i + 1 < values.length) values[i + 1] = r * Math.sin(t);
    }
    const noise = tf.mul(tf.tensor(values, h.shape), m); // [B, T, C]
    return mmd(tf.reshape(masked, [b, -1]), tf.reshape(noise, [b, -1]));
  });
  return tf.div(tf.addN(terms), terms.length) as tf.Scalar;
}

/** The three parts of the RepNoise objective on one pair of batches (inside a tidy). */
export interface RepNoiseParts {
  /** Loss on the safe answers. */
  readonly retain: tf.Scalar;
  /** Mean over layers of the MMD between harmful-answer representations and noise. */
  readonly noise: tf.Scalar;
  /** Mean over layers of the harmful answers' logit-lens loss. */
  readonly ascent: tf.Scalar;
}

/** The parts of the objective; `noiseSeed` fixes this step's noise. */
export function repNoiseParts<B>(
  problem: TrainingProblem<B>,
  safe: B,
  harmful: B,
  noiseSeed: number,
): RepNoiseParts {
  if (!problem.features) throw new Error("repnoise: the problem must provide features()");
  const retain = problem.loss(safe);
  const f = problem.features(harmful, { lens: true });
  const lens = f.lensLosses ?? [f.loss];
  return {
    retain,
    noise: noiseTerm(f.hidden, f.targets, noiseSeed),
    ascent: tf.div(tf.addN([...lens]), lens.length) as tf.Scalar,
  };
}

/** RepNoise. Throws `TrainOptionInvalid` for a negative alpha or beta. */
export function repnoise(options: RepNoiseOptions = {}): Method {
  const alpha = nonNegative("repnoise.alpha", options.alpha ?? REPNOISE_DEFAULTS.alpha);
  const beta = nonNegative("repnoise.beta", options.beta ?? REPNOISE_DEFAULTS.beta);
  const seed = options.seed ?? 0;
  return {
    ...singleState("repnoise", "alignment", true),
    harmfulBatchAt: () => true,
    objective<B>(ctx: MethodContext<B>): () => Objective {
      const { problem, batch, step } = ctx;
      const harmful = ctx.harmfulBatch;
      if (harmful === undefined) throw new Error("repnoise: the step has no harmful batch");
      return () => {
        const p = repNoiseParts(problem, batch, harmful, deriveSeed(seed, `step:${step}`));
        // beta * noise - alpha * log(1 + ascent)
        const penalty = tf.sub(tf.mul(p.noise, beta), tf.mul(tf.log(tf.add(p.ascent, 1)), alpha));
        return { loss: p.retain, penalty: penalty as tf.Scalar };
      };
    },
  };
}
