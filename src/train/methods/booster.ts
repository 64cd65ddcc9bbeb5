/**
 * Booster (alignment stage). Huang et al., "Booster: Tackling Harmful Fine-tuning for Large
 * Language Models via Attenuating Harmful Perturbation", ICLR 2025 (arXiv 2409.01586); the
 * authors' code is git-disl/Booster.
 *
 * The objective is the alignment loss `f(w)` plus
 * `lambda * [h(w) - h(w - alpha * g_h / ||g_h||)]`, with `h` the loss on a batch of harmful
 * data (harmful prompt + harmful answer) and `g_h = grad h(w)`. The bracket is how much one
 * normalised step of harmful fine-tuning would lower the harmful loss; Booster trains the
 * aligned model so that such a step achieves little.
 *
 * The gradient is the reference's: `grad f(w) + lambda * (g_h - grad h(w'))` with
 * `w' = w - alpha * g_h / ||g_h||`, the perturbation direction held constant. Three backward
 * passes per step, as in the reference: `h` at `w`, `h` at `w'` (weights moved, then restored
 * exactly), and `f` at `w` on the gradient tape. The two harmful passes run before the tape,
 * so the bracket enters the objective as its value plus a term that is exactly 0 at `w` and
 * whose gradient is `lambda * (g_h - grad h(w'))`: the logged penalty is the finite
 * difference itself.
 *
 * @module
 */
import { tf } from "../../../backends/mod.ts";
import { globalNorm } from "../optimizer.ts";
import type { TrainingProblem } from "../problem.ts";
import { nonNegative } from "./_validate.ts";
import { type Method, type MethodContext, type Objective, singleState } from "./types.ts";

/** Booster's knobs, with the reference defaults (git-disl/Booster `smooth_align.sh`). */
export interface BoosterOptions {
  /** Weight lambda of the harmful-loss drop (default 5). */
  readonly lambda?: number;
  /** Step size alpha of the simulated harmful step (default 0.1). */
  readonly alpha?: number;
}

/** The reference defaults. */
export const BOOSTER_DEFAULTS = { lambda: 5, alpha: 0.1 } as const;

/** What {@link harmfulDrop} computed: the bracket's value and its gradient by parameter. */
export interface HarmfulDrop {
  /** `h(w)`. */
  readonly before: tf.Scalar;
  /** `h(w - alpha * g_h / ||g_h||)`. */
  readonly after: tf.Scalar;
  /** `grad h(w) - grad h(w')` per trainable parameter. */
  readonly gradient: Record<string, tf.Tensor>;
}

/**
 * The harmful loss before and after one normalised harmful step of size `alpha`, and the
 * difference of its gradients at the two points. The weights are moved for the second pass
 * and then set back to exactly their values. Call inside `tf.tidy`.
 */
export function harmfulDrop<B>(
  problem: TrainingProblem<B>,
  harmful: B,
  alpha: number,
): HarmfulDrop {
  const names = Object.keys(problem.trainable);
  const vars = names.map((n) => problem.trainable[n]!);
  const byVar = new Map(vars.map((v, i) => [v.name, names[i]!]));
  const byName = (grads: Record<string, tf.Tensor>) => {
    const out: Record<string, tf.Tensor> = {};
    for (const [vname, g] of Object.entries(grads)) out[byVar.get(vname)!] = g;
    return out;
  };
  const first = tf.variableGrads(() => problem.loss(harmful), vars);
  const g = byName(first.grads);
  const scale = tf.div(alpha, tf.add(globalNorm(g), 1e-7)); // alpha / ||g_h||
  const start = vars.map((v) => tf.clone(v));
  try {
    vars.forEach((v, i) => {
      const gi = g[names[i]!];
      if (gi) v.assign(tf.sub(start[i]!, tf.mul(gi, scale)));
    });
    const second = tf.variableGrads(() => problem.loss(harmful), vars);
    const g2 = byName(second.grads);
    const gradient: Record<string, tf.Tensor> = {};
    for (const n of names) {
      const a = g[n];
      const b = g2[n];
      if (a && b) gradient[n] = tf.sub(a, b);
      else if (a) gradient[n] = a;
      else if (b) gradient[n] = tf.neg(b);
    }
    return { before: first.value, after: second.value, gradient };
  } finally {
    vars.forEach((v, i) => v.assign(start[i]!));
  }
}

/** Booster. Throws `TrainOptionInvalid` for a negative lambda or alpha. */
export function booster(options: BoosterOptions = {}): Method {
  const lambda = nonNegative("booster.lambda", options.lambda ?? BOOSTER_DEFAULTS.lambda);
  const alpha = nonNegative("booster.alpha", options.alpha ?? BOOSTER_DEFAULTS.alpha);
  return {
    ...singleState("booster", "alignment", true),
    harmfulBatchAt: () => lambda > 0,
    objective<B>(ctx: MethodContext<B>): () => Objective {
      const { problem, batch } = ctx;
      if (lambda === 0) return () => ({ loss: problem.loss(batch) });
      const harmful = ctx.harmfulBatch;
      if (harmful === undefined) throw new Error("booster: the step has no harmful batch");
      const drop = harmfulDrop(problem, harmful, alpha);
      const names = Object.keys(drop.gradient);
      const at = names.map((n) => tf.clone(problem.trainable[n]!)); // w, off the tape
      const value = tf.mul(tf.sub(drop.before, drop.after), lambda); // lambda [h(w) - h(w')]
      return () => {
        const loss = problem.loss(batch);
        // sum <lambda (g_h - g_h'), w - w_now>: exactly 0 here, gradient lambda (g_h - g_h').
        const linear = names.map((n, i) =>
          tf.sum(tf.mul(drop.gradient[n]!, tf.sub(problem.trainable[n]!, at[i]!)))
        );
        const zero = linear.length ? tf.mul(tf.addN(linear), lambda) : tf.scalar(0);
        return { loss, penalty: tf.add(value, zero) as tf.Scalar };
      };
    },
  };
}
