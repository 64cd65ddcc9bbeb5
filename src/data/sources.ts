/**
 * Row sources: the records of a file as plain values, one at a time, for each container
 * format (JSONL, JSON array, Parquet, TSV with a header, CSV with or without a header).
 * A record that cannot be parsed comes out as a `DataInvalid` (skippable); a file that cannot be
 * read or whose structure is broken fails the whole source.
 *
 * @module
 */
import { assertRegularFile, FileInvalid } from "../io/mod.ts";
import { parquetMetadataAsync, parquetReadObjects } from "hyparquet";
import { DataInvalid } from "./errors.ts";
import { isStructureError, readDelimited, readJsonArray } from "./text_io.ts";
import {
  type Decoded,
  decodeUtf8,
  invalidUtf8Error,
  type LineOptions,
  readLines,
  tallyInvalid,
} from "./lines.ts";

/** The container formats a file can be in. */
export type Container = "jsonl" | "json" | "parquet" | "tsv" | "csv";

/** One record of a source, or the reason it could not be parsed. */
export type SourceRow =
  | { readonly _tag: "Row"; readonly value: unknown; readonly line: number; readonly row: number }
  | { readonly _tag: "Bad"; readonly error: DataInvalid };

/** Options of the row sources (invalid UTF-8: counted in `utf8`, or fails under `strictUtf8`). */
export interface SourceOptions extends LineOptions {
  /** CSV/TSV column names when the file has no header line (otherwise the first line is the header). */
  readonly columns?: readonly string[];
  /** Rows read from Parquet at a time (bounds memory). Default 1024. */
  readonly parquetChunk?: number;
}

/** Guess the container from the file extension, or null. */
export function containerOf(path: string): Container | null {
  const lower = path.toLowerCase();
  if (lower.endsWith(".jsonl") || lower.endsWith(".ndjson")) return "jsonl";
  if (lower.endsWith(".json")) return "json";
  if (lower.endsWith(".parquet")) return "parquet";
  if (lower.endsWith(".tsv")) return "tsv";
  if (lower.endsWith(".csv")) return "csv";
  return null;
}

function parseJson(text: string, file: string, line: number, row: number, what: string): SourceRow {
  try {
    return { _tag: "Row", value: JSON.parse(text), line, row };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const error = new DataInvalid({
      file,
      line,
      field: "",
      expected: what,
      found: `invalid JSON (${msg})`,
    });
    return { _tag: "Bad", error };
  }
}

async function* jsonlRows(file: string, options: LineOptions): AsyncGenerator<SourceRow> {
  for await (const { text, line } of readLines(file, options)) {
    if (text.trim() === "") continue;
    yield parseJson(text, file, line, line, "one JSON value per line");
  }
}

async function* jsonArrayRows(file: string, options: LineOptions): AsyncGenerator<SourceRow> {
  for await (const el of readJsonArray(file, options)) {
    yield parseJson(el.text, file, el.line, el.row, "a valid JSON array element");
  }
}

async function* delimitedRows(
  file: string,
  container: "tsv" | "csv",
  options: SourceOptions,
): AsyncGenerator<SourceRow> {
  const sep = container === "tsv" ? "\t" : ",";
  let header: readonly string[] | null = options.columns ?? null;
  for await (const rec of readDelimited(file, sep, container === "csv", options)) {
    if (header === null) {
      header = rec.fields.map((f) => f.trim());
      continue;
    }
    if (rec.fields.length !== header.length) {
      const name = container === "tsv" ? "tab-separated" : "comma-separated";
      yield {
        _tag: "Bad",
        error: new DataInvalid({
          file,
          line: rec.line,
          field: "",
          expected: `${header.length} ${name} columns (${header.join(", ")})`,
          found: `${rec.fields.length} columns`,
        }),
      };
      continue;
    }
    const value: Record<string, string> = {};
    header.forEach((name, i) => (value[name] = rec.fields[i] ?? ""));
    yield { _tag: "Row", value, line: rec.line, row: rec.line };
  }
}

/** An hyparquet AsyncBuffer over a local file that reads only the byte ranges asked for. */
async function fileBuffer(path: string) {
  const { size } = await Deno.stat(path);
  return {
    byteLength: size,
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      const stop = end ?? size;
      const out = new Uint8Array(Math.max(0, stop - start));
      const f = await Deno.open(path, { read: true });
      try {
        await f.seek(start, Deno.SeekMode.Start);
        let off = 0;
        while (off < out.length) {
          const n = await f.read(out.subarray(off));
          if (n === null) break;
          off += n;
        }
      } finally {
        f.close();
      }
      return out.buffer;
    },
  };
}

async function* parquetRows(file: string, options: SourceOptions): AsyncGenerator<SourceRow> {
  const buffer = await fileBuffer(file);
  if (buffer.byteLength === 0) return;
  let metadata;
  try {
    metadata = await parquetMetadataAsync(buffer);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new DataInvalid({ file, line: 0, field: "", expected: "a Parquet file", found: msg });
  }
  const total = Number(metadata.num_rows);
  const chunk = options.parquetChunk ?? 1024;
  // Strings that held invalid UTF-8, so each can be charged to its row and column below.
  const bad = new Map<string, { bytes: Uint8Array; decoded: Decoded }>();
  const stringFromBytes = (bytes: Uint8Array): string => {
    const decoded = decodeUtf8(bytes);
    if (decoded.invalid > 0) bad.set(decoded.text, { bytes, decoded });
    return decoded.text;
  };
  for (let start = 0; start < total; start += chunk) {
    bad.clear();
    const rows = await parquetReadObjects({
      file: buffer,
      metadata,
      rowStart: start,
      rowEnd: Math.min(total, start + chunk),
      parsers: { stringFromBytes },
    });
    for (let i = 0; i < rows.length; i++) {
      const row = start + i + 1;
      if (bad.size > 0) checkUtf8(rows[i], row, bad, options);
      yield { _tag: "Row", value: rows[i], line: row, row };
    }
  }
}

/** Charge the invalid UTF-8 in `value`'s string columns to `row` (or fail when strict). */
function checkUtf8(
  value: unknown,
  row: number,
  bad: ReadonlyMap<string, { bytes: Uint8Array; decoded: Decoded }>,
  options: LineOptions,
): void {
  if (typeof value !== "object" || value === null) return;
  let invalid = 0;
  for (const [column, v] of Object.entries(value)) {
    const hit = typeof v === "string" ? bad.get(v) : undefined;
    if (!hit) continue;
    if (options.strictUtf8) {
      throw invalidUtf8Error(hit.bytes, hit.decoded, row, `column "${column}"`);
    }
    invalid += hit.decoded.invalid;
  }
  tallyInvalid(options.utf8, invalid, row);
}

/**
 * The records of `file` in `container` format. Fails (throws `DataInvalid`) when the file cannot
 * be read or its structure is broken; yields `Bad` rows for records that cannot be parsed.
 */
export async function* sourceRows(
  file: string,
  container: Container,
  options: SourceOptions = {},
): AsyncGenerator<SourceRow> {
  try {
    // A device or FIFO would stream forever or block: refuse it before opening.
    await assertRegularFile(file, "data file");
    switch (container) {
      case "jsonl":
        yield* jsonlRows(file, options);
        return;
      case "json":
        yield* jsonArrayRows(file, options);
        return;
      case "tsv":
      case "csv":
        yield* delimitedRows(file, container, options);
        return;
      case "parquet":
        yield* parquetRows(file, options);
        return;
    }
  } catch (e) {
    if (e instanceof DataInvalid) throw e;
    if (isStructureError(e)) {
      throw new DataInvalid({
        file,
        line: e.line,
        field: "",
        expected: e.expected,
        found: e.found,
      });
    }
    if (e instanceof FileInvalid && e.problem !== "missing") {
      throw new DataInvalid({ file, line: 0, field: "", expected: e.expected, found: e.found });
    }
    if (e instanceof Deno.errors.NotFound || e instanceof FileInvalid) {
      throw new DataInvalid({
        file,
        line: 0,
        field: "",
        expected: "an existing file",
        found: "no such file",
      });
    }
    const msg = e instanceof Error ? e.message : String(e);
    throw new DataInvalid({ file, line: 0, field: "", expected: "a readable file", found: msg });
  }
}
