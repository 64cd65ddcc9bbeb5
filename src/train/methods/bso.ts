/**
 * BSO: Bi-State Optimization alone, i.e. Lisa with `rho = 0` (no proximal term).
 *
 * @module
 */
import { lisa } from "./lisa.ts";
import type { Method } from "./types.ts";

/** BSO's knobs: K1 and K2 (reference defaults 100 and 900). */
export interface BsoOptions {
  /** K1, alignment steps per cycle (default 100). */
  readonly alignmentSteps?: number;
  /** K2, fine-tune steps per cycle (default 900). */
  readonly finetuneSteps?: number;
}

/** BSO. Throws `TrainOptionInvalid` when K1 + K2 = 0. */
export function bso(options: BsoOptions = {}): Method {
  return lisa({ ...options, rho: 0 }, "bso");
}
