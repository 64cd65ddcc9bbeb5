/**
 * Checks of the trainer and loop options against the method and the sources, run before any
 * work starts (no run directory is created for a bad option).
 *
 * @module
 */
import { Effect } from "effect";
import { TrainOptionInvalid } from "./errors.ts";
import type { TrainOptions } from "./loop.ts";
import type { Method } from "./methods/types.ts";
import { isStreamSource } from "./sources.ts";
import type { TrainerOptions, TrainSources } from "./trainer.ts";

/** Fail with {@link TrainOptionInvalid} on the first bad option, before any work starts. */
export function validateTrainerOptions<B, E>(
  method: Method,
  sources: TrainSources<B, E>,
  o: TrainerOptions,
): Effect.Effect<void, TrainOptionInvalid> {
  const bad = (field: string, expected: string, found: unknown) =>
    Effect.fail(new TrainOptionInvalid({ field, expected, found }));
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
  if (
    o.fisherBatches !== undefined && !(Number.isInteger(o.fisherBatches) && o.fisherBatches >= 0)
  ) {
    return bad("fisherBatches", "an integer >= 0", o.fisherBatches);
  }
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
  if (!sources.harmful && method.harmfulBatchAt) {
    for (let s = 0; s < o.totalSteps; s++) {
      if (method.harmfulBatchAt(s)) {
        return bad(
          "sources.harmful",
          `the provider's harmful data (method ${method.name} draws a harmful batch at step ${s})`,
          null,
        );
      }
    }
  }
  if (
    method.prepare && sources.alignment && isStreamSource(sources.alignment) &&
    o.fisherBatches === undefined
  ) {
    return bad("fisherBatches", "a batch count (the alignment source is a Stream)", undefined);
  }
  return Effect.void;
}

/** Fail with {@link TrainOptionInvalid} on the first bad trainer or loop option. */
export function validateTrainOptions<B, E>(
  method: Method,
  sources: TrainSources<B, E>,
  o: TrainOptions,
): Effect.Effect<void, TrainOptionInvalid> {
  const bad = (field: string, expected: string, found: unknown) =>
    Effect.fail(new TrainOptionInvalid({ field, expected, found }));
  const isCount = (x: unknown) => Number.isInteger(x) && typeof x === "number" && x >= 0;
  for (const k of ["checkpointEvery", "haltAfter"] as const) {
    if (o[k] !== undefined && !isCount(o[k])) return bad(k, "an integer >= 0", o[k]);
  }
  if (o.keepCheckpoints !== undefined && !(isCount(o.keepCheckpoints) && o.keepCheckpoints >= 1)) {
    return bad("keepCheckpoints", "an integer >= 1", o.keepCheckpoints);
  }
  if (o.runDir !== undefined && o.runDir === "") {
    return bad("runDir", "a directory path (or no runDir for a run in memory)", o.runDir);
  }
  if (o.resume && o.runDir === undefined) {
    return bad("resume", "a runDir to resume from", o.resume);
  }
  return validateTrainerOptions(method, sources, o);
}
