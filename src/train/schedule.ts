/**
 * The Bi-State Optimization schedule of Lisa: start in the alignment state, run `K1` alignment
 * steps, then `K2` fine-tune steps, and repeat. Steps are optimizer steps, counted from 0.
 * `K1 = 0` never aligns, which is plain SFT.
 *
 * @module
 */

/** The two states of Bi-State Optimization. */
export type LisaState = "alignment" | "finetune";

/**
 * The state of optimizer step `step` (0-based) for `alignmentSteps` (K1) and
 * `finetuneSteps` (K2).
 *
 * @example
 * ```ts
 * stateAt(0, 2, 3); // "alignment"
 * stateAt(2, 2, 3); // "finetune"
 * stateAt(5, 2, 3); // "alignment"
 * ```
 */
export function stateAt(step: number, alignmentSteps: number, finetuneSteps: number): LisaState {
  const period = alignmentSteps + finetuneSteps;
  if (period <= 0) throw new RangeError("alignmentSteps + finetuneSteps must be positive");
  return step % period < alignmentSteps ? "alignment" : "finetune";
}

/** The states of steps `0 .. totalSteps-1`. */
export function stateSequence(
  totalSteps: number,
  alignmentSteps: number,
  finetuneSteps: number,
): LisaState[] {
  return Array.from({ length: totalSteps }, (_, i) => stateAt(i, alignmentSteps, finetuneSteps));
}

/**
 * True when step `step` begins a new state, i.e. a switch happens just before it. Step 0 is not
 * a switch: the run simply starts in its first state (anchors are taken there too, see
 * `proximal.ts`).
 */
export function isSwitch(step: number, stateOf: (step: number) => LisaState): boolean {
  return step > 0 && stateOf(step) !== stateOf(step - 1);
}

/** The first step of the state run that contains `step` (where the current state began). */
export function stateStart(step: number, stateOf: (step: number) => LisaState): number {
  let s = step;
  while (s > 0 && stateOf(s - 1) === stateOf(step)) s--;
  return s;
}
