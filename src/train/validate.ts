/**
 * Checks of the loop options against the method and the sources, run before any work starts.
 *
 * @module
 */
import { Effect } from "effect";
import { TrainOptionInvalid } from "./errors.ts";
import type { TrainOptions } from "./loop.ts";
import type { Method } from "./methods/types.ts";

/** Fail with {@link TrainOptionInvalid} on the first bad option. */
export function validateTrainOptions(
  method: Method,
  sources: { readonly alignment?: unknown; readonly user?: unknown },
  o: TrainOptions,
): Effect.Effect<void, TrainOptionInvalid> {
  const bad = (field: string, expected: string, found: unknown) =>
    Effect.fail(new TrainOptionInvalid({ field, expected, found }));
  const isCount = (x: unknown) => Number.isInteger(x) && (x as number) >= 0;
  const isNonNeg = (x: unknown) => typeof x === "number" && Number.isFinite(x) && x >= 0;
  if (!Number.isInteger(o.totalSteps) || o.totalSteps < 1) {
    return bad("totalSteps", "a positive integer", o.totalSteps);
  }
  if (!isNonNeg(o.lr)) return bad("lr", "a finite number >= 0", o.lr);
  const schedule: string | undefined = o.schedule;
  if (schedule !== undefined && schedule !== "constant" && schedule !== "cosine") {
    return bad("schedule", "constant or cosine", o.schedule);
  }
  if (o.warmupRatio !== undefined && !(o.warmupRatio >= 0 && o.warmupRatio <= 1)) {
    return bad("warmupRatio", "a number in [0, 1]", o.warmupRatio);
  }
  if (o.weightDecay !== undefined && !isNonNeg(o.weightDecay)) {
    return bad("weightDecay", "a finite number >= 0", o.weightDecay);
  }
  if (o.maxGradNorm !== undefined && !(o.maxGradNorm >= 0)) {
    return bad("maxGradNorm", "a number >= 0 (0 disables clipping)", o.maxGradNorm);
  }
  for (const k of ["checkpointEvery", "fisherBatches", "haltAfter"] as const) {
    if (o[k] !== undefined && !isCount(o[k])) return bad(k, "an integer >= 0", o[k]);
  }
  if (o.keepCheckpoints !== undefined && !(isCount(o.keepCheckpoints) && o.keepCheckpoints >= 1)) {
    return bad("keepCheckpoints", "an integer >= 1", o.keepCheckpoints);
  }
  if (!o.runDir) return bad("runDir", "a directory path", o.runDir);
  // The alignment source feeds alignment-state steps and a method's preparation (EWC's
  // Fisher); Vlguard's alignment samples are mixed into the user data before training.
  let needsAlign = method.prepare !== undefined && method.needsAlignmentData;
  let needsUser = false;
  for (let s = 0; s < o.totalSteps && !(needsAlign && needsUser); s++) {
    if (method.stateAt(s) === "alignment") needsAlign = true;
    else needsUser = true;
  }
  if (needsAlign && !sources.alignment) {
    return bad("sources.alignment", `alignment data (method ${method.name} uses it)`, null);
  }
  if (needsUser && !sources.user) {
    return bad("sources.user", `user data (method ${method.name} trains on it)`, null);
  }
  return Effect.void;
}
