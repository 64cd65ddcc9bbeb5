/**
 * Option checks shared by the method factories. Each throws {@link TrainOptionInvalid} naming the
 * option, so a bad config fails before any work starts.
 *
 * @module
 */
import { TrainOptionInvalid } from "../errors.ts";

/** `value` must be a finite number >= 0. */
export function nonNegative(field: string, value: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new TrainOptionInvalid({ field, expected: "a finite number >= 0", found: value });
  }
  return value;
}

/** `value` must be an integer >= 0. */
export function count(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new TrainOptionInvalid({ field, expected: "an integer >= 0", found: value });
  }
  return value;
}

/** `value` must lie in [0, 1]. */
export function fraction(field: string, value: number): number {
  if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
    throw new TrainOptionInvalid({ field, expected: "a number in [0, 1]", found: value });
  }
  return value;
}

/** K1 and K2 must be counts with a positive sum. */
export function biStateSteps(prefix: string, alignmentSteps: number, finetuneSteps: number): void {
  count(`${prefix}.alignmentSteps`, alignmentSteps);
  count(`${prefix}.finetuneSteps`, finetuneSteps);
  if (alignmentSteps + finetuneSteps === 0) {
    throw new TrainOptionInvalid({
      field: `${prefix}.alignmentSteps + ${prefix}.finetuneSteps`,
      expected: "a positive sum (K1 + K2 > 0)",
      found: 0,
    });
  }
}
