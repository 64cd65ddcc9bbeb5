/**
 * Learning-rate schedules with linear warm-up, matching the Hugging Face schedulers
 * (`get_constant_schedule_with_warmup`, `get_cosine_schedule_with_warmup` with half a cycle).
 * As there, optimizer step `step` (0-based) uses the multiplier of `step`, so the first step of
 * a warm-up has learning rate 0.
 *
 * @module
 */

/** The schedules we support. */
export type LrSchedule = "constant" | "cosine";

/** Everything that determines the learning rate of a step. */
export interface LrOptions {
  /** Peak learning rate. */
  readonly lr: number;
  /** Shape after warm-up. */
  readonly schedule: LrSchedule;
  /** Fraction of all steps spent warming up linearly from 0; steps = ceil(ratio * total). */
  readonly warmupRatio: number;
  /** Total optimizer steps of the run. */
  readonly totalSteps: number;
}

/** Warm-up steps for a ratio, rounded up as the Hugging Face trainer does. */
export function warmupSteps(warmupRatio: number, totalSteps: number): number {
  return Math.ceil(warmupRatio * totalSteps);
}

/**
 * The learning rate of optimizer step `step` (0-based).
 *
 * @example
 * ```ts
 * learningRate(5, { lr: 1e-3, schedule: "cosine", warmupRatio: 0.1, totalSteps: 100 });
 * ```
 */
export function learningRate(step: number, o: LrOptions): number {
  const warm = warmupSteps(o.warmupRatio, o.totalSteps);
  if (step < warm) return o.lr * (step / Math.max(1, warm));
  if (o.schedule === "constant") return o.lr;
  const progress = (step - warm) / Math.max(1, o.totalSteps - warm);
  return o.lr * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
}
