/**
 * Tagged errors of the data stage. Every message names the place (file, line or row, field)
 * and says what was expected and what was found.
 *
 * @module
 */
import { Data } from "effect";

/** A record in a data file does not have the expected shape. */
export class DataInvalid extends Data.TaggedError("DataInvalid")<{
  /** The file (or source name). */
  readonly file: string;
  /** 1-based line for text formats, 1-based row for Parquet and JSON arrays; 0 for the file. */
  readonly line: number;
  /** The field (dotted path) at fault, or `""` for the whole record. */
  readonly field: string;
  /** What was expected there. */
  readonly expected: string;
  /** What was found, truncated. */
  readonly found: string;
}> {
  /** A one-line description naming the place, what was expected and what was found. */
  override get message(): string {
    const where = this.line > 0 ? `${this.file}:${this.line}` : this.file;
    const field = this.field === "" ? "" : ` field "${this.field}"`;
    return `${where}:${field} expected ${this.expected}, found ${this.found}`;
  }
}

/** A source holds fewer examples than a mixing or split stage asked for. */
export class SourceTooSmall extends Data.TaggedError("SourceTooSmall")<{
  /** Which source (e.g. `"harmful"`, `"task"`, `"alignment"`). */
  readonly source: string;
  /** How many examples were needed. */
  readonly needed: number;
  /** How many the source has. */
  readonly available: number;
}> {
  /** A one-line description naming the place, what was expected and what was found. */
  override get message(): string {
    // A bare name (`task`) reads "the task source"; a described one names itself.
    const subject = this.source.includes(" ") ? this.source : `the ${this.source} source`;
    return `${subject} has ${this.available} examples, ${this.needed} are needed`;
  }
}

/** A training set and an evaluation set share a prompt (by normalised prompt text). */
export class SplitOverlap extends Data.TaggedError("SplitOverlap")<{
  /** Name of the training set. */
  readonly train: string;
  /** Name of the evaluation set. */
  readonly evaluation: string;
  /** How many shared prompts there are. */
  readonly count: number;
  /** The first shared prompt, truncated. */
  readonly example: string;
  /** Where the first shared prompt sits in each set. */
  readonly trainRow: number;
  /** Row of the first shared prompt in the evaluation set. */
  readonly evaluationRow: number;
}> {
  /** A one-line description naming the place, what was expected and what was found. */
  override get message(): string {
    return `${this.count} prompt(s) of evaluation set "${this.evaluation}" also appear in ` +
      `training set "${this.train}" (first: train row ${this.trainRow}, evaluation row ` +
      `${this.evaluationRow}: ${JSON.stringify(this.example)})`;
  }
}

/** Describe a found value for an error message: its type and a truncated rendering. */
export function describeFound(value: unknown, max = 60): string {
  if (value === undefined) return "nothing (field missing)";
  if (value === null) return "null";
  if (typeof value === "string") {
    const s = value.length > max ? `${value.slice(0, max)}…` : value;
    return `string ${JSON.stringify(s)}`;
  }
  if (typeof value === "number" || typeof value === "boolean") return `${typeof value} ${value}`;
  if (Array.isArray(value)) return `array of length ${value.length}`;
  if (typeof value === "object") {
    const keys = Object.keys(value as object);
    const shown = keys.slice(0, 6).join(", ");
    return `object with keys [${shown}${keys.length > 6 ? ", …" : ""}]`;
  }
  return typeof value;
}
