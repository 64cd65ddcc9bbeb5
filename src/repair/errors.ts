/**
 * The repair stage's tagged error.
 *
 * @module
 */
import { Data } from "effect";

/** A repair method could not be applied to the fine-tuned model. */
export class RepairFailed extends Data.TaggedError("RepairFailed")<{
  /** The repair method. */
  readonly method: string;
  /** What went wrong, naming the module or setting. */
  readonly reason: string;
}> {
  /** One line fit for a terminal. */
  override get message(): string {
    return `repair ${this.method} failed: ${this.reason}`;
  }
}
