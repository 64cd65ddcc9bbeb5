/**
 * One optimizer step of the current Lisa state: the method's objective (+ the proximal term
 * when gated on) → gradients of the trainable weights → global-norm clipping → AdamW, all
 * inside `tf.tidy`. Returns plain numbers, read back with one asynchronous download per step
 * (WebGPU has no synchronous read in Deno). A non-finite loss or gradient norm skips the update
 * and is reported with `finite: false`, so the weights stay those of the last good step.
 *
 * @module
 */
import { tf } from "../../backends/mod.ts";
import { learningRate, type LrOptions } from "./lr_schedule.ts";
import type { Method } from "./methods/types.ts";
import type { AdamW } from "./optimizer.ts";
import { clipByGlobalNorm } from "./optimizer.ts";
import type { TrainingProblem } from "./problem.ts";
import { type Anchors, proximalGate, proximalTerm } from "./proximal.ts";
import type { LisaState } from "./schedule.ts";

/** What one step reports (one line of the run log). */
export interface StepRecord {
  /** Optimizer step (0-based). */
  readonly step: number;
  /** Lisa state of the step. */
  readonly state: LisaState;
  /** Data loss of the batch. */
  readonly loss: number;
  /** The method's weighted regulariser (EWC, KL), 0 when none. */
  readonly penalty: number;
  /** Proximal term value (0 when off or rho = 0). */
  readonly proximal: number;
  /** Global gradient norm before clipping. */
  readonly gradNorm: number;
  /** Learning rate used. */
  readonly lr: number;
  /** False when the loss or gradient norm was NaN/Inf (the update was skipped). */
  readonly finite: boolean;
}

/** Everything one step needs. */
export interface StepInput<B> {
  /** The problem being trained. */
  readonly problem: TrainingProblem<B>;
  /** The method deciding the objective and the proximal strength. */
  readonly method: Method;
  /** The one optimizer shared by both states. */
  readonly optimizer: AdamW;
  /** The batch of this step, from the source of its state. */
  readonly batch: B;
  /** This step (0-based). */
  readonly step: number;
  /** Learning-rate schedule (its `totalSteps` is also the proximal gate's total). */
  readonly lr: LrOptions;
  /** Weights where the current state began, or null. */
  readonly anchors: Anchors | null;
  /** Global-norm clip (default 1.0; 0 or Infinity disables). */
  readonly maxGradNorm?: number;
}

/**
 * Run one optimizer step.
 *
 * @example
 * ```ts
 * const rec = await biStateStep({ problem, method, optimizer, batch, step: 0, lr, anchors });
 * console.log(rec.state, rec.loss, rec.gradNorm);
 * ```
 */
export async function biStateStep<B>(input: StepInput<B>): Promise<StepRecord> {
  const { problem, method, optimizer, batch, step, anchors } = input;
  const state = method.stateAt(step);
  const lr = learningRate(step, input.lr);
  const proximalOn = method.rho > 0 && anchors !== null &&
    proximalGate(step, input.lr.totalSteps, method.proximalWarmup);
  const names = Object.keys(problem.trainable);
  const vars = Object.values(problem.trainable);
  const byVar = new Map(vars.map((v, i) => [v.name, names[i]!]));

  // Forward + backward + clip; the clipped gradients and the step's numbers leave the tidy.
  const { grads, numbers } = tf.tidy(() => {
    const objective = method.objective({ problem, batch, state, step });
    let parts: tf.Scalar[] = [];
    const { value, grads } = tf.variableGrads(() => {
      const o = objective();
      const prox = proximalOn ? proximalTerm(problem.trainable, anchors!, method.rho) : null;
      const terms = [o.loss, ...(o.penalty ? [o.penalty] : []), ...(prox ? [prox] : [])];
      // Kept so their values survive the tape's own tidy; disposed below.
      parts = [o.loss, o.penalty ?? tf.scalar(0), prox ?? tf.scalar(0)].map((t) => tf.keep(t));
      return (terms.length === 1 ? terms[0]! : tf.addN(terms)) as tf.Scalar;
    }, vars);
    const byName: Record<string, tf.Tensor> = {};
    for (const [vname, g] of Object.entries(grads)) {
      const key = byVar.get(vname);
      if (key) byName[key] = g;
    }
    const clipped = clipByGlobalNorm(byName, input.maxGradNorm ?? 1.0);
    const numbers = tf.keep(tf.stack([value, ...parts, clipped.norm])); // [5]
    tf.dispose(parts);
    for (const g of Object.values(clipped.grads)) tf.keep(g);
    return { grads: clipped.grads, numbers };
  });
  try {
    const [total, loss, penalty, proximal, gradNorm] = Array.from(await numbers.data());
    const finite = Number.isFinite(total) && Number.isFinite(gradNorm);
    if (finite) tf.tidy(() => optimizer.apply(grads, lr));
    return {
      step,
      state,
      lr,
      loss: loss!,
      penalty: penalty!,
      proximal: proximal!,
      gradNorm: gradNorm!,
      finite,
    };
  } finally {
    numbers.dispose();
    tf.dispose(Object.values(grads));
  }
}
