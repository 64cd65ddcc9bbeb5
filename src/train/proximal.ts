/**
 * Lisa's proximal correction: `rho/2 * sum_params ||w - w_anchor||^2`, whose gradient is
 * `rho * (w - w_anchor)`. The anchor is the snapshot of the trainable weights taken at the most
 * recent switch, i.e. where the current state began, and the term is off during a warm-up
 * fraction of all steps (the reference notes it slows early convergence).
 *
 * @module
 */
import { tf } from "../../backends/mod.ts";

/** Weight snapshots by parameter name (kept tensors, owned by whoever took them). */
export type Anchors = Record<string, tf.Tensor>;

/** The default fraction of all steps during which the proximal term is off. */
export const DEFAULT_PROXIMAL_WARMUP = 0.1;

/**
 * `rho/2 * sum ||w - anchor||^2` over every trainable parameter. Differentiable in `trainable`;
 * call inside `tf.tidy` (or dispose the result).
 */
export function proximalTerm(
  trainable: Record<string, tf.Variable | tf.Tensor>,
  anchors: Anchors,
  rho: number,
): tf.Scalar {
  return tf.tidy(() => {
    let sum: tf.Scalar = tf.scalar(0);
    for (const [name, w] of Object.entries(trainable)) {
      const a = anchors[name];
      if (!a) throw new Error(`proximalTerm: no anchor for parameter '${name}'`);
      sum = tf.add(sum, tf.sum(tf.square(tf.sub(w, a))));
    }
    return tf.mul(sum, rho / 2);
  });
}

/**
 * Whether the proximal term is on at `step` (0-based) of `totalSteps`: off for the first
 * `ceil(warmup * totalSteps)` steps.
 */
export function proximalGate(
  step: number,
  totalSteps: number,
  warmup: number = DEFAULT_PROXIMAL_WARMUP,
): boolean {
  return step >= Math.ceil(warmup * totalSteps);
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
export async function squaredDistance(a: Anchors, b: Record<string, tf.Tensor>): Promise<number> {
  const total = tf.tidy(() => {
    let sum: tf.Scalar = tf.scalar(0);
    for (const [name, x] of Object.entries(a)) {
      const y = b[name];
      if (!y) throw new Error(`squaredDistance: no tensor '${name}' in the second record`);
      sum = tf.add(sum, tf.sum(tf.square(tf.sub(x, y))));
    }
    return sum;
  });
  try {
    return (await total.data())[0]!;
  } finally {
    total.dispose();
  }
}
