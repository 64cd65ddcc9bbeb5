/**
 * The one small interface every training method implements. A method decides which data
 * source each optimizer step draws from (via its state schedule), what it adds to the loss,
 * and how strong Lisa's proximal pull is; the shared step (`step.ts`) does the rest.
 *
 * @module
 */
import type { Effect } from "effect";
import type { Backend, tf } from "../../../backends/mod.ts";
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
  /**
   * A batch of the provider's harmful data (harmful prompt + harmful answer), drawn for the
   * steps where the method's {@link Method.harmfulBatchAt} says so (Booster, RepNoise,
   * T-Vaccine), and absent otherwise.
   */
  readonly harmfulBatch?: B;
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
  /**
   * Whether step `step` needs a batch of the provider's harmful data; absent means never. A
   * method that answers true needs a `harmful` source.
   */
  harmfulBatchAt?(step: number): boolean;
  /**
   * Runs before step `step` builds its objective, outside its tidy: the place for work that
   * must read values back from the device (T-Vaccine's choice of layers). Tensors it keeps
   * belong to the method.
   */
  beforeStep?<B>(ctx: MethodContext<B>): Effect.Effect<void, never, Backend>;
  /**
   * The trainable parameters step `step` updates, by name, asked after {@link objective};
   * absent or null means all of them. The others are frozen for that step: no gradient, no
   * update, no weight decay, their optimizer moments kept (T-Vaccine's layer selection).
   */
  activeParameters?(step: number): readonly string[] | null;
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

/**
 * The fields every single-state method shares: it trains in one stage on one source, with no
 * Bi-State schedule, no proximal term and no mixing; a method spreads this and adds its own.
 */
export function singleState(
  name: MethodName,
  stage: "alignment" | "finetune",
  needsAlignmentData: boolean,
): Pick<
  Method,
  | "name"
  | "stage"
  | "needsAlignmentData"
  | "skipsAlignmentStage"
  | "mixAlignmentSamples"
  | "rho"
  | "proximalWarmup"
  | "stateAt"
> {
  return {
    name,
    stage,
    needsAlignmentData,
    skipsAlignmentStage: false,
    mixAlignmentSamples: 0,
    rho: 0,
    proximalWarmup: 0,
    stateAt: () => stage,
  };
}
