/**
 * Tagged errors of the training engine. Each names what is wrong and where.
 *
 * @module
 */
import { Data } from "effect";
import type { LisaState } from "./schedule.ts";

/** A training or method option is invalid; raised before any work starts. */
export class TrainOptionInvalid extends Data.TaggedError("TrainOptionInvalid")<{
  /** The option's path, e.g. `method.rho`. */
  readonly field: string;
  /** What a valid value looks like. */
  readonly expected: string;
  /** What was given. */
  readonly found: unknown;
}> {
  /** One line fit for a terminal. */
  override get message(): string {
    return `invalid config: ${this.field}: expected ${this.expected}, found ${
      JSON.stringify(this.found)
    }`;
  }
}

/** A checkpoint file is missing, unreadable or does not match its recorded checksum. */
export class CheckpointCorrupt extends Data.TaggedError("CheckpointCorrupt")<{
  /** The offending file. */
  readonly file: string;
  /** Why it was rejected. */
  readonly reason: string;
}> {
  /** One line fit for a terminal. */
  override get message(): string {
    return `corrupt checkpoint: ${this.file}: ${this.reason}`;
  }
}

/** The loss (or gradient norm) became NaN or infinite; the last good checkpoint is kept. */
export class NonFiniteLoss extends Data.TaggedError("NonFiniteLoss")<{
  /** Optimizer step (0-based) whose loss was not finite. */
  readonly step: number;
  /** The Lisa state of that step. */
  readonly state: LisaState;
  /** The offending loss value. */
  readonly loss: number;
  /** The gradient norm of that step. */
  readonly gradNorm: number;
  /** The last checkpoint left on disk, if any. */
  readonly lastCheckpoint: string | null;
}> {
  /** One line fit for a terminal. */
  override get message(): string {
    return `non-finite loss ${this.loss} (grad norm ${this.gradNorm}) at step ${this.step} ` +
      `in the ${this.state} state; last good checkpoint: ${this.lastCheckpoint ?? "none"}`;
  }
}

/** The run directory already holds a run and `overwrite` was not asked for. */
export class RunDirExists extends Data.TaggedError("RunDirExists")<{
  /** The directory. */
  readonly dir: string;
}> {
  /** One line fit for a terminal. */
  override get message(): string {
    return `run directory ${this.dir} already holds a run (pass overwrite to replace it, ` +
      `or resume it)`;
  }
}

/** A finite Stream source ran out of batches before the run's last step needed one. */
export class SourceExhausted extends Data.TaggedError("SourceExhausted")<{
  /** Which source: the alignment data, the user data or the provider's harmful data. */
  readonly source: "alignment" | "user" | "harmful";
  /** Batches it gave before it ended. */
  readonly batches: number;
  /** The step that needed another batch. */
  readonly step: number;
}> {
  /** One line fit for a terminal. */
  override get message(): string {
    return `the ${this.source} source ended after ${this.batches} batches; step ${this.step} ` +
      "needs another (give a longer stream, or fewer steps)";
  }
}
