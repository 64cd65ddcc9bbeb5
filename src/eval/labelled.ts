/**
 * Labelled (prompt, response) pairs for measuring and training judges: BeaverTails-style
 * records (`prompt`, `response`, `is_safe`, `category` of booleans) from JSONL, a JSON array or
 * Parquet, one or several files. Each row keeps where it came from, so a report can point back
 * to it; a malformed row fails with its file, line, field, what was expected and what was found.
 *
 * @module
 */
import { Effect, Result } from "effect";
import { DataInvalid, SafetyRecordSchema } from "../data/mod.ts";
import { containerOf, sourceRows } from "../data/sources.ts";
import { decodeRecord } from "../data/validate.ts";
import type { ModerationRow } from "./classifier_data.ts";

/** One labelled pair and where it came from. */
export interface LabelledRow extends ModerationRow {
  /** The file it was read from. */
  readonly file: string;
  /** Its 1-based line (JSONL) or row (JSON array, Parquet). */
  readonly line: number;
}

/** True for the harmful class (the positive class of every judge metric). */
export function isHarmful(row: Pick<ModerationRow, "isSafe">): boolean {
  return !row.isSafe;
}

/** Read one labelled file; the container comes from its extension. */
export function readLabelledFile(path: string): Effect.Effect<LabelledRow[], DataInvalid> {
  return Effect.tryPromise({
    try: async () => {
      const container = containerOf(path);
      if (container !== "jsonl" && container !== "json" && container !== "parquet") {
        throw new DataInvalid({
          file: path,
          line: 0,
          field: "",
          expected: "a .jsonl, .json or .parquet file of BeaverTails-style records",
          found: container ? `a .${container} file` : "an unknown extension",
        });
      }
      const rows: LabelledRow[] = [];
      for await (const r of sourceRows(path, container)) {
        if (r._tag === "Bad") throw r.error;
        const decoded = decodeRecord(SafetyRecordSchema, r.value, { file: path, line: r.line });
        if (Result.isFailure(decoded)) throw decoded.failure;
        const rec = decoded.success;
        rows.push({
          prompt: rec.prompt,
          response: rec.response,
          category: rec.category,
          isSafe: rec.is_safe,
          file: path,
          line: r.line,
        });
      }
      if (rows.length === 0) {
        throw new DataInvalid({
          file: path,
          line: 0,
          field: "",
          expected: "at least one labelled record",
          found: "none",
        });
      }
      return rows;
    },
    catch: (e) =>
      e instanceof DataInvalid ? e : new DataInvalid({
        file: path,
        line: 0,
        field: "",
        expected: "a readable file",
        found: e instanceof Error ? e.message : String(e),
      }),
  });
}

/**
 * Read several labelled files, concatenated in the order given.
 *
 * @example
 * ```ts
 * const rows = await Effect.runPromise(
 *   readLabelledFiles(["../shared/data/beavertails/safe.jsonl", "../shared/data/beavertails/unsafe.jsonl"]),
 * );
 * ```
 */
export function readLabelledFiles(
  paths: readonly string[],
): Effect.Effect<LabelledRow[], DataInvalid> {
  return Effect.forEach(paths, readLabelledFile).pipe(Effect.map((parts) => parts.flat()));
}

/** Counts of a labelled set, for reports. */
export interface LabelledSummary {
  /** Rows. */
  readonly n: number;
  /** Harmful rows. */
  readonly harmful: number;
  /** Distinct prompts. */
  readonly prompts: number;
  /** The files, in order. */
  readonly files: readonly string[];
}

/** Summarise a labelled set. */
export function summariseLabelled(rows: readonly LabelledRow[]): LabelledSummary {
  return {
    n: rows.length,
    harmful: rows.filter(isHarmful).length,
    prompts: new Set(rows.map((r) => r.prompt)).size,
    files: [...new Set(rows.map((r) => r.file))],
  };
}
