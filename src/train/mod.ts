/**
 * The Lisa training engine, generic over the model: the Bi-State schedule, the proximal term,
 * AdamW with clipping and learning-rate schedules, one optimizer step, the methods (SFT,
 * NA-SFT, BSO, Lisa, Vlguard, EWC, KL, LDIFS; Vaccine, Booster, RepNoise, T-Vaccine in the
 * alignment stage), checkpoints and the Effect training loop.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { batchSource, lisa, Progress, train } from "./src/train/mod.ts";
 * const alignment = batchSource(safeExamples, { batchSize: 5, seed: 1, collate });
 * const user = batchSource(userExamples, { batchSize: 5, seed: 2, collate });
 * const result = await Effect.runPromise(
 *   train(problem, lisa({ rho: 1 }), { alignment, user }, {
 *     totalSteps: 2000, lr: 1e-5, runDir: "runs/lisa", checkpointEvery: 500,
 *   }).pipe(Effect.provide(Progress.auto())),
 * );
 * ```
 *
 * @module
 */
export * from "./problem.ts";
export * from "./schedule.ts";
export * from "./proximal.ts";
export * from "./optimizer.ts";
export * from "./lr_schedule.ts";
export * from "./step.ts";
export * from "./sources.ts";
export * from "./errors.ts";
export * from "./checkpoint.ts";
export * from "./progress.ts";
export * from "./validate.ts";
export * from "./trainer.ts";
export * from "./loop.ts";
export * from "./methods/mod.ts";
