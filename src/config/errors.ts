import { Data } from "effect";

/** A config value, file or flag was rejected. `path` names the offending field. */
export class ConfigInvalid extends Data.TaggedError("ConfigInvalid")<{
  /** Dotted field path (`method.rho`), or "" for the whole config. */
  readonly path: string;
  /** Where the value came from: a file name, `flag --x`, or `defaults`. */
  readonly source: string;
  /** What was expected and what was found. */
  readonly detail: string;
}> {
  /** One line naming the source, the field and the problem. */
  override get message(): string {
    return `invalid config (${this.source})${this.path ? ` at ${this.path}` : ""}: ${this.detail}`;
  }
}
