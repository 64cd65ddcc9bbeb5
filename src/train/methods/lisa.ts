/**
 * Lisa: Bi-State Optimization with a proximal term. Starts in alignment; K1 alignment steps,
 * then K2 fine-tune steps, repeating; in every state `rho/2 * ||w - w_anchor||^2` pulls toward
 * the weights where that state began, after a warm-up fraction of all steps.
 *
 * The user data advances only in fine-tune steps. (The reference trainer also draws, and
 * discards, a user batch in every alignment step; the algorithm does not need that, and we
 * do not do it.)
 *
 * @module
 */
import { DEFAULT_PROXIMAL_WARMUP } from "../proximal.ts";
import { stateAt } from "../schedule.ts";
import { biStateSteps, fraction, nonNegative } from "./_validate.ts";
import { type Method, plainObjective } from "./types.ts";

/** Lisa's knobs, with the reference defaults (SST2). */
export interface LisaOptions {
  /** K1, alignment steps per cycle (default 100). */
  readonly alignmentSteps?: number;
  /** K2, fine-tune steps per cycle (default 900). */
  readonly finetuneSteps?: number;
  /** Proximal strength (default 1; Booster's re-runs use 0.01). */
  readonly rho?: number;
  /** Fraction of all steps with the proximal term off (default 0.1). */
  readonly proximalWarmup?: number;
}

/** The reference defaults. */
export const LISA_DEFAULTS = {
  alignmentSteps: 100,
  finetuneSteps: 900,
  rho: 1,
  proximalWarmup: DEFAULT_PROXIMAL_WARMUP,
} as const;

/** Lisa. Throws `TrainOptionInvalid` for a negative rho or K1 + K2 = 0. */
export function lisa(options: LisaOptions = {}, name: "lisa" | "bso" = "lisa"): Method {
  const k1 = options.alignmentSteps ?? LISA_DEFAULTS.alignmentSteps;
  const k2 = options.finetuneSteps ?? LISA_DEFAULTS.finetuneSteps;
  biStateSteps(name, k1, k2);
  const rho = nonNegative(`${name}.rho`, options.rho ?? LISA_DEFAULTS.rho);
  const warmup = fraction(
    `${name}.proximalWarmup`,
    options.proximalWarmup ?? LISA_DEFAULTS.proximalWarmup,
  );
  return {
    name,
    stage: "finetune",
    needsAlignmentData: k1 > 0,
    skipsAlignmentStage: false,
    mixAlignmentSamples: 0,
    rho,
    proximalWarmup: warmup,
    stateAt: (step) => stateAt(step, k1, k2),
    objective: plainObjective,
  };
}
