/**
 * Lisa's proximal correction: `rho/2 * sum_params ||w - w_anchor||^2`, whose gradient is
 * `rho * (w - w_anchor)`. The anchor is the snapshot of the trainable weights taken at the most
 * recent switch, i.e. where the current state began, and the term is off during a warm-up
 * fraction of all steps (the reference notes it slows early convergence), switching on at the
 * next state start. Its gradient `rho * (w - anchor)` is added analytically to the data
 * gradient (see `step.ts`), so both norms can be logged apart.
 *
 * @module
 */
import { Effect } from "effect";
import { Backend, tf } from "../../backends/mod.ts";
import { isSwitch, type LisaState } from "./schedule.ts";

/** Weight snapshots by parameter name (kept tensors, owned by whoever took them). */
export type Anchors = Record<string, tf.Tensor>;

/** The default fraction of all steps during which the proximal term is off. */
export const DEFAULT_PROXIMAL_WARMUP = 0.1;

/**
 * The proximal term as a differentiable tensor: `rho/2 * sum ||w - anchor||^2` over every
 * trainable parameter, for use inside a gradient tape; call inside `tf.tidy` (or dispose the
 * result). The {@link proximalTerm} stage returns its value.
 */
export function proximalPenalty(
  trainable: Record<string, tf.Variable | tf.Tensor>,
  anchors: Anchors,
  rho: number,
): tf.Scalar {
  return tf.tidy(() => {
    let sum: tf.Scalar = tf.scalar(0);
    for (const [name, w] of Object.entries(trainable)) {
      const a = anchors[name];
      if (!a) throw new Error(`proximalPenalty: no anchor for parameter '${name}'`);
      sum = tf.add(sum, tf.sum(tf.square(tf.sub(w, a))));
    }
    return tf.mul(sum, rho / 2);
  });
}

/** The input of the {@link proximalTerm} stage. */
export interface ProximalInput {
  /** The current trainable weights by name. */
  readonly weights: Record<string, tf.Variable | tf.Tensor>;
  /** Where the current state began, by the same names. */
  readonly anchors: Anchors;
  /** The proximal strength. */
  readonly rho: number;
}

/**
 * The `proximalTerm` stage: the value of `rho/2 * sum ||w - anchor||^2`. (The training step
 * adds its gradient `rho * (w - anchor)` in closed form, see {@link proximalGradient}.)
 *
 * @example
 * ```ts
 * const value = yield* proximalTerm({ weights: problem.trainable, anchors, rho: 1 });
 * ```
 */
export function proximalTerm(input: ProximalInput): Effect.Effect<number, never, Backend> {
  return Effect.gen(function* () {
    const { tf } = yield* Backend;
    const t = tf.tidy(() => proximalPenalty(input.weights, input.anchors, input.rho));
    return yield* readScalar(t);
  });
}

/** Download a scalar and dispose it (a failed download is a backend defect). */
function readScalar(t: tf.Tensor): Effect.Effect<number> {
  return Effect.promise(() => t.data()).pipe(
    Effect.map((v) => v[0]!),
    Effect.ensuring(Effect.sync(() => t.dispose())),
  );
}

/** The proximal term's value and closed-form gradient at the current weights. */
export interface ProximalGradient {
  /** `rho/2 * S` with `S = sum ||w - anchor||^2`. */
  readonly value: tf.Scalar;
  /** `rho * sqrt(S)`: the global norm of the gradient below. */
  readonly norm: tf.Scalar;
  /** `rho * (w - anchor)` per parameter: the gradient of {@link proximalPenalty}. */
  readonly grads: Record<string, tf.Tensor>;
}

/**
 * The proximal term with its gradient in closed form (no tape), so a step can add it to the
 * data gradient and report the two norms apart. Call inside `tf.tidy`.
 */
export function proximalGradient(
  trainable: Record<string, tf.Variable | tf.Tensor>,
  anchors: Anchors,
  rho: number,
): ProximalGradient {
  const grads: Record<string, tf.Tensor> = {};
  const squares: tf.Scalar[] = [];
  for (const [name, w] of Object.entries(trainable)) {
    const a = anchors[name];
    if (!a) throw new Error(`proximalGradient: no anchor for parameter '${name}'`);
    const d = tf.sub(w, a);
    squares.push(tf.sum(tf.square(d)));
    grads[name] = tf.mul(d, rho);
  }
  const S = (squares.length ? tf.addN(squares) : tf.scalar(0)) as tf.Scalar;
  return { value: tf.mul(S, rho / 2), norm: tf.mul(tf.sqrt(S), rho), grads };
}

/**
 * The step at which the proximal term switches on: the first state start (step 0 or a
 * switch) at or after `ceil(warmup * totalSteps)`. Opening the gate at a state start means the
 * anchor is always where the current state began when the term first counts; a gate opening
 * in the middle of a state would pull back, in one jump, every step taken since that state's
 * anchor (the reference's 10% of 20,000 steps lands on a cycle boundary, 2,000 = 2 x 1,000).
 * Returns `totalSteps` (never on) when no state starts in `[ceil(warmup * totalSteps),
 * totalSteps)`, e.g. a single-state schedule (K1 = 0) with a positive warm-up.
 *
 * @example
 * ```ts
 * const of = (s: number) => stateAt(s, 10, 90);
 * proximalGateStep(300, 0.1, of); // 100: the warm-up ends at 30, the next state starts at 100
 * proximalGateStep(300, 0, of); // 0
 * ```
 */
export function proximalGateStep(
  totalSteps: number,
  warmup: number,
  stateOf: (step: number) => LisaState,
): number {
  for (let s = Math.ceil(warmup * totalSteps); s < totalSteps; s++) {
    if (s === 0 || isSwitch(s, stateOf)) return s;
  }
  return totalSteps;
}

/**
 * Whether the proximal term is on at `step` (0-based) of `totalSteps`: from
 * {@link proximalGateStep} on.
 */
export function proximalGate(
  step: number,
  totalSteps: number,
  warmup: number,
  stateOf: (step: number) => LisaState,
): boolean {
  return step >= proximalGateStep(totalSteps, warmup, stateOf);
}

/** A kept copy of every trainable weight (the caller disposes it with {@link disposeAll}). */
export function snapshot(trainable: Record<string, tf.Variable | tf.Tensor>): Anchors {
  const out: Anchors = {};
  for (const [name, w] of Object.entries(trainable)) out[name] = tf.keep(w.clone());
  return out;
}

/** Dispose every tensor of a record. */
export function disposeAll(tensors: Record<string, tf.Tensor> | null | undefined): void {
  if (tensors) { for (const t of Object.values(tensors)) t.dispose(); }
}

/** `sum ||a - b||^2` over matching names: the drift logged at each switch. */
export function squaredDistance(
  a: Anchors,
  b: Record<string, tf.Tensor>,
): Effect.Effect<number, never, Backend> {
  return Effect.gen(function* () {
    const { tf } = yield* Backend;
    const total = tf.tidy(() => {
      let sum: tf.Scalar = tf.scalar(0);
      for (const [name, x] of Object.entries(a)) {
        const y = b[name];
        if (!y) throw new Error(`squaredDistance: no tensor '${name}' in the second record`);
        sum = tf.add(sum, tf.sum(tf.square(tf.sub(x, y))));
      }
      return sum;
    });
    return yield* readScalar(total);
  });
}
