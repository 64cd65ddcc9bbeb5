/**
 * NA-SFT: SFT on the base model, with no alignment stage before it. The training step is
 * SFT's; the flag tells the pipeline to skip the alignment stage.
 *
 * @module
 */
import { sft } from "./sft.ts";
import type { Method } from "./types.ts";

/** SFT without an alignment stage. */
export function naSft(): Method {
  return { ...sft(), name: "na-sft", skipsAlignmentStage: true };
}
