/**
 * EWC: the fine-tuning loss plus `lambda * sum F * (w - w0)^2`, where `w0` are the trainable
 * weights at the start of fine-tuning and `F` (the diagonal Fisher) is the mean of the squared
 * gradients of the alignment loss at `w0`, one gradient per alignment batch.
 *
 * @module
 */
import { tf } from "../../../backends/mod.ts";
import type { TrainingProblem } from "../problem.ts";
import { disposeAll, snapshot } from "../proximal.ts";
import { nonNegative } from "./_validate.ts";
import { type Method, type MethodContext, type Objective, singleState } from "./types.ts";

/** EWC's knob. */
export interface EwcOptions {
  /** Penalty weight (default 1e9, the reference scripts' `lamb`; Fisher entries are tiny). */
  readonly lambda?: number;
}

/** The diagonal Fisher of `problem`'s loss over `batches`: mean of squared gradients. */
export function diagonalFisher<B>(
  problem: TrainingProblem<B>,
  batches: Iterable<B>,
): Record<string, tf.Tensor> {
  const names = Object.keys(problem.trainable);
  const vars = Object.values(problem.trainable);
  const byVar = new Map(vars.map((v, i) => [v.name, names[i]!]));
  let sum: Record<string, tf.Tensor> = Object.fromEntries(
    names.map((n) => [n, tf.keep(tf.zerosLike(problem.trainable[n]!))]),
  );
  let n = 0;
  for (const batch of batches) {
    const next = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => problem.loss(batch), vars);
      value.dispose();
      const out: Record<string, tf.Tensor> = {};
      for (const [vname, g] of Object.entries(grads)) {
        const key = byVar.get(vname);
        if (key) out[key] = tf.keep(tf.add(sum[key]!, tf.square(g)));
      }
      return out;
    });
    for (const k of names) {
      if (next[k]) {
        sum[k]!.dispose();
        sum = { ...sum, [k]: next[k]! };
      }
    }
    n++;
  }
  if (n === 0) throw new Error("diagonalFisher: no alignment batches");
  const fisher = Object.fromEntries(names.map((k) => [k, tf.keep(tf.div(sum[k]!, n))]));
  disposeAll(sum);
  return fisher;
}

/** EWC. Throws `TrainOptionInvalid` for a negative lambda. */
export function ewc(options: EwcOptions = {}): Method {
  const lambda = nonNegative("ewc.lambda", options.lambda ?? 1e9);
  let fisher: Record<string, tf.Tensor> | null = null;
  let w0: Record<string, tf.Tensor> | null = null;
  return {
    ...singleState("ewc", "finetune", true),
    prepare(problem, batches) {
      disposeAll(fisher);
      disposeAll(w0);
      fisher = diagonalFisher(problem, batches);
      w0 = snapshot(problem.trainable);
    },
    objective<B>(ctx: MethodContext<B>): () => Objective {
      const f = fisher;
      const a = w0;
      if (!f || !a) throw new Error("ewc: prepare() must run before the first step");
      return () => {
        const loss = ctx.problem.loss(ctx.batch);
        const terms = Object.entries(ctx.problem.trainable).map(([k, w]) =>
          tf.sum(tf.mul(f[k]!, tf.square(tf.sub(w, a[k]!))))
        );
        const penalty = tf.mul(tf.addN(terms), lambda) as tf.Scalar;
        return { loss, penalty };
      };
    },
    tensors() {
      if (!fisher || !w0) return {};
      const out: Record<string, tf.Tensor> = {};
      for (const [k, t] of Object.entries(fisher)) out[`fisher.${k}`] = t;
      for (const [k, t] of Object.entries(w0)) out[`w0.${k}`] = t;
      return out;
    },
    restore(tensors) {
      disposeAll(fisher);
      disposeAll(w0);
      fisher = {};
      w0 = {};
      for (const [k, t] of Object.entries(tensors)) {
        if (k.startsWith("fisher.")) fisher[k.slice(7)] = t;
        else if (k.startsWith("w0.")) w0[k.slice(3)] = t;
        else t.dispose();
      }
    },
    dispose() {
      disposeAll(fisher);
      disposeAll(w0);
      fisher = w0 = null;
    },
  };
}
