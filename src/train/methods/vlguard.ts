/**
 * Vlguard / SafeInstr: mix `k` alignment samples into the user data, then SFT. The mixing is
 * a data-stage function; this method only carries `k` so the pipeline knows to do it.
 *
 * @module
 */
import { count } from "./_validate.ts";
import { sft } from "./sft.ts";
import type { Method } from "./types.ts";

/** Vlguard's knob. */
export interface VlguardOptions {
  /**
   * Alignment samples mixed into the user data (default 1000; the reference scripts take it
   * as an argument, `guide_data_num`).
   */
  readonly alignmentSamples?: number;
}

/** Vlguard. Throws `TrainOptionInvalid` for a negative or fractional sample count. */
export function vlguard(options: VlguardOptions = {}): Method {
  const k = count("vlguard.alignmentSamples", options.alignmentSamples ?? 1000);
  return { ...sft(), name: "vlguard", needsAlignmentData: true, mixAlignmentSamples: k };
}
