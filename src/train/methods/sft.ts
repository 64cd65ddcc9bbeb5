/**
 * SFT: plain training on one data source. In the fine-tuning stage that is the user's (mixed)
 * data; with `stage: "alignment"` it is the alignment stage's own training on the alignment
 * data.
 *
 * @module
 */
import { type Method, plainObjective } from "./types.ts";

/** SFT options. */
export interface SftOptions {
  /** Which stage it trains (default `finetune`). */
  readonly stage?: "alignment" | "finetune";
}

/** Plain supervised fine-tuning. */
export function sft(options: SftOptions = {}): Method {
  const stage = options.stage ?? "finetune";
  return {
    name: "sft",
    stage,
    needsAlignmentData: stage === "alignment",
    skipsAlignmentStage: false,
    mixAlignmentSamples: 0,
    rho: 0,
    proximalWarmup: 0,
    stateAt: () => stage,
    objective: plainObjective,
  };
}
