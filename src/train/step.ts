/**
 * One optimizer step of the current Lisa state: the method's objective → gradients of the
 * trainable weights, plus the proximal gradient `rho * (w - anchor)` when the term is gated on
 * → global-norm clipping → AdamW, all inside `tf.tidy`. The proximal gradient is added in
 * closed form rather than through the tape, so the data and proximal gradient norms (both
 * before clipping) are logged apart: their ratio says how hard the term pulls. Returns plain numbers, read back with one asynchronous download per step
 * (WebGPU has no synchronous read in Deno). A non-finite loss or gradient norm skips the update
 * and is reported with `finite: false`, so the weights stay those of the last good step.
 *
 * @module
 */
import { Effect } from "effect";
import { Backend, type tf } from "../../backends/mod.ts";
import { learningRate, type LrOptions } from "./lr_schedule.ts";
import type { Method } from "./methods/types.ts";
import type { AdamW } from "./optimizer.ts";
import { clipByGlobalNorm, globalNorm } from "./optimizer.ts";
import type { TrainingProblem } from "./problem.ts";
import { type Anchors, proximalGate, proximalGradient } from "./proximal.ts";
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
  /** Global norm of the whole gradient (data + penalty + proximal) before clipping. */
  readonly gradNorm: number;
  /** Global norm of the objective's gradient (data loss + the method's penalty), before clipping. */
  readonly dataGradNorm: number;
  /** Global norm of the proximal gradient `rho * (w - anchor)` (0 when off), before clipping. */
  readonly proximalGradNorm: number;
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
  /** A batch of the provider's harmful data, when the method asked for one this step. */
  readonly harmfulBatch?: B;
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
 * The `biStateStep` stage: one optimizer step of the current Lisa state. The step is
 * uninterruptible (an interruption lands between steps, never between the gradient and the
 * update), so the weights, moments and anchors always describe a whole number of steps.
 *
 * @example
 * ```ts
 * const rec = yield* biStateStep({ problem, method, optimizer, batch, step: 0, lr, anchors });
 * console.log(rec.state, rec.loss, rec.gradNorm);
 * ```
 */
export function biStateStep<B>(input: StepInput<B>): Effect.Effect<StepRecord, never, Backend> {
  return Effect.gen(function* () {
    const { tf } = yield* Backend;
    const { problem, method, optimizer, batch, step, anchors } = input;
    const state = method.stateAt(step);
    const lr = learningRate(step, input.lr);
    const proximalOn = method.rho > 0 && anchors !== null &&
      proximalGate(step, input.lr.totalSteps, method.proximalWarmup, (s) => method.stateAt(s));
    const ctx = {
      problem,
      batch,
      state,
      step,
      ...(input.harmfulBatch === undefined ? {} : { harmfulBatch: input.harmfulBatch }),
    };
    let active: ReadonlySet<string> | undefined;

    // Forward + backward + clip; the clipped gradients and the step's numbers leave the tidy.
    const { grads, numbers } = tf.tidy(() => {
      const objective = method.objective(ctx);
      // A method may freeze some parameters for this step (T-Vaccine): they get no gradient.
      const chosen = method.activeParameters?.(step) ?? null;
      if (chosen) active = new Set(chosen);
      const names = Object.keys(problem.trainable).filter((n) => !active || active.has(n));
      const vars = names.map((n) => problem.trainable[n]!);
      const byVar = new Map(vars.map((v, i) => [v.name, names[i]!]));
      let parts: tf.Scalar[] = [];
      const { value, grads } = tf.variableGrads(() => {
        const o = objective();
        // Kept so their values survive the tape's own tidy; disposed below.
        parts = [o.loss, o.penalty ?? tf.scalar(0)].map((t) => tf.keep(t));
        return (o.penalty ? tf.add(o.loss, o.penalty) : o.loss) as tf.Scalar;
      }, vars);
      const data: Record<string, tf.Tensor> = {};
      for (const [vname, g] of Object.entries(grads)) {
        const key = byVar.get(vname);
        if (key) data[key] = g;
      }
      const dataNorm = globalNorm(data);
      let total = data;
      let proximal: tf.Scalar = tf.scalar(0);
      let proximalNorm: tf.Scalar = tf.scalar(0);
      if (proximalOn) {
        const live = Object.fromEntries(names.map((n) => [n, problem.trainable[n]!]));
        const prox = proximalGradient(live, anchors!, method.rho);
        proximal = prox.value;
        proximalNorm = prox.norm;
        total = {};
        for (const name of names) {
          const g = prox.grads[name]!;
          total[name] = data[name] ? tf.add(data[name]!, g) : g;
        }
      }
      const clipped = clipByGlobalNorm(total, input.maxGradNorm ?? 1.0);
      const objectiveValue = tf.add(value, proximal);
      const numbers = tf.keep(
        tf.stack([objectiveValue, ...parts, proximal, clipped.norm, dataNorm, proximalNorm]),
      ); // [7]
      tf.dispose(parts);
      for (const g of Object.values(clipped.grads)) tf.keep(g);
      return { grads: clipped.grads, numbers };
    });
    // A failed download is a backend defect; the tensors are freed either way.
    const values = yield* Effect.promise(() => numbers.data()).pipe(
      Effect.ensuring(Effect.sync(() => numbers.dispose())),
      Effect.onExit((exit) =>
        exit._tag === "Success" ? Effect.void : Effect.sync(() => tf.dispose(Object.values(grads)))
      ),
    );
    const [total, loss, penalty, proximal, gradNorm, dataGradNorm, proximalGradNorm] = Array.from(
      values,
    );
    const finite = Number.isFinite(total) && Number.isFinite(gradNorm);
    try {
      if (finite) tf.tidy(() => optimizer.apply(grads, lr, active));
    } finally {
      tf.dispose(Object.values(grads));
    }
    return {
      step,
      state,
      lr,
      loss: loss!,
      penalty: penalty!,
      proximal: proximal!,
      gradNorm: gradNorm!,
      dataGradNorm: dataGradNorm!,
      proximalGradNorm: proximalGradNorm!,
      finite,
    };
  }).pipe(Effect.uninterruptible);
}
