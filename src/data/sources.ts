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
import { isStructureError, readDelimited, readJsonArray, readLines } from "./text_io.ts";

/** The container formats a file can be in. */
export type Container = "jsonl" | "json" | "parquet" | "tsv" | "csv";

/** One record of a source, or the reason it could not be parsed. */
export type SourceRow =
  | { readonly _tag: "Row"; readonly value: unknown; readonly line: number; readonly row: number }
  | { readonly _tag: "Bad"; readonly error: DataInvalid };

/** Options of the row sources. */
export interface SourceOptions {
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

async function* jsonlRows(file: string): AsyncGenerator<SourceRow> {
  for await (const { text, line } of readLines(file)) {
    if (text.trim() === "") continue;
    yield parseJson(text, file, line, line, "one JSON value per line");
  }
}

async function* jsonArrayRows(file: string): AsyncGenerator<SourceRow> {
  for await (const el of readJsonArray(file)) {
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
  for await (const rec of readDelimited(file, sep, container === "csv")) {
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
  for (let start = 0; start < total; start += chunk) {
    const rows = await parquetReadObjects({
      file: buffer,
      metadata,
      rowStart: start,
      rowEnd: Math.min(total, start + chunk),
    });
    for (let i = 0; i < rows.length; i++) {
      yield { _tag: "Row", value: rows[i], line: start + i + 1, row: start + i + 1 };
    }
  }
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
        yield* jsonlRows(file);
        return;
      case "json":
        yield* jsonArrayRows(file);
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
