import { Data } from "effect";

/** What exactly is wrong with a safetensors file. */
export type SafetensorsProblem =
  | "truncated"
  | "header_too_long"
  | "header_not_json"
  | "offsets_out_of_range"
  | "overlapping"
  | "dtype_mismatch"
  | "unsupported_dtype";

/**
 * A safetensors file failed validation. `problem` names the check that failed, `tensor` the
 * tensor it concerns (when one does), and `expected`/`found` give the numbers involved.
 */
export class SafetensorsInvalid extends Data.TaggedError("SafetensorsInvalid")<{
  readonly file: string;
  readonly problem: SafetensorsProblem;
  readonly tensor?: string;
  readonly expected?: string;
  readonly found?: string;
  readonly detail: string;
}> {
  /** One line: file, tensor, the failed check, expected vs found. */
  override get message(): string {
    const where = this.tensor === undefined ? this.file : `${this.file}, tensor '${this.tensor}'`;
    const ef = this.expected !== undefined || this.found !== undefined
      ? ` (expected ${this.expected ?? "?"}, found ${this.found ?? "?"})`
      : "";
    return `${where}: ${this.problem}: ${this.detail}${ef}`;
  }
}

/** Why a file was refused before (or while) it was read. */
export type FileProblem = "missing" | "not_a_file" | "too_large" | "unreadable" | "not_json";

/**
 * A file the project reads is absent, is not a regular file (a folder, a device, a FIFO, or a
 * symlink to one), exceeds its size cap, cannot be read, or is not valid JSON.
 */
export class FileInvalid extends Data.TaggedError("FileInvalid")<{
  readonly file: string;
  /** What the file is for (`model config`, `adapter weights`, ...). */
  readonly what: string;
  readonly problem: FileProblem;
  readonly expected: string;
  readonly found: string;
}> {
  /** One line: the file, what it is, expected vs found. */
  override get message(): string {
    return `${this.file} (${this.what}): expected ${this.expected}, found ${this.found}`;
  }
}
/** A file operation failed (missing folder, permission, disk full...). */
export class IOFailed extends Data.TaggedError("IOFailed")<{
  /** The file or folder involved. */
  readonly path: string;
  /** What was being done: `read`, `write`, `mkdir`, `remove`, `rename`, `stat`. */
  readonly operation: string;
  /** The underlying error text. */
  readonly reason: string;
}> {
  /** One line: the operation, the path and why it failed. */
  override get message(): string {
    return `cannot ${this.operation} ${this.path}: ${this.reason}`;
  }
}

/** The text of any thrown value, for an error's `reason` field. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
