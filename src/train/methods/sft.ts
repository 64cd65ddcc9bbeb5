/**
 * SFT: plain training on one data source. In the fine-tuning stage that is the user's (mixed)
 * data; with `stage: "alignment"` it is the alignment stage's own training on the alignment
 * data.
 *
 * @module
 */
import { type Method, plainObjective, singleState } from "./types.ts";

/** SFT options. */
export interface SftOptions {
  /** Which stage it trains (default `finetune`). */
  readonly stage?: "alignment" | "finetune";
}

/** Plain supervised fine-tuning. */
export function sft(options: SftOptions = {}): Method {
  const stage = options.stage ?? "finetune";
  return { ...singleState("sft", stage, stage === "alignment"), objective: plainObjective };
}
