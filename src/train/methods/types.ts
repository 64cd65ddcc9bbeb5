/**
 * The one small interface every training method implements. A method decides which data
 * source each optimizer step draws from (via its state schedule), what it adds to the loss,
 * and how strong Lisa's proximal pull is; the shared step (`step.ts`) does the rest.
 *
 * @module
 */
import type { tf } from "../../../backends/mod.ts";
import type { TrainingProblem } from "../problem.ts";
import type { LisaState } from "../schedule.ts";
import type { MethodName } from "./registry.ts";

/** What one step's objective consists of (scalars built inside the step's tape). */
export interface Objective {
  /** The data loss of the batch. */
  readonly loss: tf.Scalar;
  /** A method's regulariser (EWC, KL), already weighted; absent when the method has none. */
  readonly penalty?: tf.Scalar;
}

/** What a method sees when it builds a step's objective. */
export interface MethodContext<B> {
  /** The problem being trained. */
  readonly problem: TrainingProblem<B>;
  /** This step's batch, from the source of `state`. */
  readonly batch: B;
  /** This step's Lisa state. */
  readonly state: LisaState;
  /** This step (0-based). */
  readonly step: number;
}

/** A training method. */
export interface Method {
  /** Its name. */
  readonly name: MethodName;
  /** The pipeline stage it trains in. */
  readonly stage: "alignment" | "finetune";
  /** Whether it needs the alignment dataset (its own steps, Fisher, or mixing). */
  readonly needsAlignmentData: boolean;
  /** True for NA-SFT: the pipeline skips the alignment stage and tunes the base model. */
  readonly skipsAlignmentStage: boolean;
  /** Vlguard: alignment samples the data stage mixes into the user data (0 otherwise). */
  readonly mixAlignmentSamples: number;
  /** Strength of Lisa's proximal term (0 disables it). */
  readonly rho: number;
  /** Fraction of all steps during which the proximal term is off. */
  readonly proximalWarmup: number;
  /** The state (data source) of optimizer step `step`. */
  stateAt(step: number): LisaState;
  /**
   * Build the objective of one step. Runs inside the step's `tf.tidy` but outside the gradient
   * tape; the returned closure runs on the tape, so a method may do extra passes here first.
   */
  objective<B>(ctx: MethodContext<B>): () => Objective;
  /** Run once before the first step of a fresh run (e.g. EWC's Fisher). */
  prepare?<B>(problem: TrainingProblem<B>, alignmentBatches: Iterable<B>): void;
  /** Tensors a checkpoint must hold for an exact resume (e.g. EWC's Fisher and w0). */
  tensors?(): Record<string, tf.Tensor>;
  /** Restore what {@link tensors} returned (takes ownership). */
  restore?(tensors: Record<string, tf.Tensor>): void;
  /** Free any tensors the method holds. */
  dispose?(): void;
}

/** The objective of plain supervised training: the batch loss and nothing else. */
export function plainObjective<B>(ctx: MethodContext<B>): () => Objective {
  return () => ({ loss: ctx.problem.loss(ctx.batch) });
}
