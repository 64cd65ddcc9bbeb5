/**
 * Dataset loaders as Effect Streams: read a file record by record (bounded memory), validate
 * each record with its format's schema and map it to an `Example`. The format is given or
 * inferred from the extension and the first record's columns.
 *
 * @module
 */
import { Effect, Result, Stream } from "effect";
import { DataInvalid } from "./errors.ts";
import {
  AGNEWS_CSV_COLUMNS,
  type Format,
  formatFromKeys,
  type MapOptions,
  toExample,
} from "./formats.ts";
import { type Container, containerOf, type SourceRow, sourceRows } from "./sources.ts";
import type { Example } from "./types.ts";
import { emptyUtf8Tally, type LineOptions, type Utf8Tally } from "./lines.ts";

/**
 * Options of the loaders. Invalid UTF-8 is replaced by U+FFFD and counted in `utf8`, or fails
 * the load (file and line named) under `strictUtf8`.
 */
export interface LoadOptions extends MapOptions, LineOptions {
  /** The dataset format; inferred from the extension and the first record when absent. */
  readonly format?: Format;
  /** The container; inferred from the extension when absent. */
  readonly container?: Container;
  /** Skip invalid records instead of failing (each skip is reported to `onSkip`). */
  readonly skipInvalid?: boolean;
  /** Called with every skipped record's error when `skipInvalid` is set. */
  readonly onSkip?: (error: DataInvalid) => void;
  /** BeaverTails only: keep only safe (`true`) or only unsafe (`false`) records. */
  readonly isSafe?: boolean;
  /** Rows read from Parquet at a time. */
  readonly parquetChunk?: number;
}

/** Parquet integers may come back as bigint; the schemas expect numbers. */
function plain(value: unknown): unknown {
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = plain(v);
    return out;
  }
  return value;
}

function resolveContainer(file: string, options: LoadOptions): Container {
  const c = options.container ?? containerOf(file);
  if (c === null) {
    throw new DataInvalid({
      file,
      line: 0,
      field: "",
      expected: "an extension .jsonl, .json, .parquet, .tsv or .csv (or an explicit container)",
      found: `"${file.split("/").pop() ?? file}"`,
    });
  }
  return c;
}

async function* examplesOf(file: string, options: LoadOptions): AsyncGenerator<Example> {
  const container = resolveContainer(file, options);
  let format: Format | null = options.format ??
    (container === "csv" ? "agnews" : container === "tsv" ? "sst2" : null);
  const columns = container === "csv" && format === "agnews" ? AGNEWS_CSV_COLUMNS : undefined;
  const rows: AsyncGenerator<SourceRow> = sourceRows(file, container, {
    ...(columns ? { columns } : {}),
    ...(options.strictUtf8 ? { strictUtf8: true } : {}),
    ...(options.utf8 ? { utf8: options.utf8 } : {}),
    ...(options.parquetChunk ? { parquetChunk: options.parquetChunk } : {}),
  });
  let first = true;
  for await (const row of rows) {
    let result: Result.Result<Example, DataInvalid>;
    if (row._tag === "Bad") {
      result = Result.fail(row.error);
    } else {
      const value = container === "parquet" ? plain(row.value) : row.value;
      if (first && columns && !/^\s*\d+\s*$/.test(String((value as { class?: unknown }).class))) {
        // A header line ("Class Index,Title,Description") in an AG News CSV.
        first = false;
        continue;
      }
      if (format === null) {
        format = formatFromKeys(value);
        if (format === null) {
          throw new DataInvalid({
            file,
            line: row.line,
            field: "",
            expected:
              "a record of a known format (BeaverTails, SST-2, AG News, GSM8K, Alpaca, refusal)",
            found: describeKeys(value),
          });
        }
      }
      result = toExample(format, value, { file, line: row.line }, options);
      if (
        Result.isSuccess(result) && options.isSafe !== undefined &&
        (value as { is_safe?: unknown }).is_safe !== options.isSafe
      ) {
        first = false;
        continue;
      }
    }
    first = false;
    if (Result.isSuccess(result)) {
      yield result.success;
    } else if (options.skipInvalid) {
      options.onSkip?.(result.failure);
    } else {
      throw result.failure;
    }
  }
}

function describeKeys(value: unknown): string {
  if (typeof value !== "object" || value === null) return typeof value;
  return `keys [${Object.keys(value).slice(0, 8).join(", ")}]`;
}

function asDataInvalid(file: string) {
  return (e: unknown): DataInvalid =>
    e instanceof DataInvalid ? e : new DataInvalid({
      file,
      line: 0,
      field: "",
      expected: "a readable data file",
      found: e instanceof Error ? e.message : String(e),
    });
}

/**
 * The examples of a data file as a stream, read record by record.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect";
 * const first10 = await Effect.runPromise(
 *   Stream.runCollect(Stream.take(loadExamples("data/dev.tsv", { format: "sst2" }), 10)),
 * );
 * ```
 */
export function loadExamples(
  file: string,
  options: LoadOptions = {},
): Stream.Stream<Example, DataInvalid> {
  return Stream.suspend(() =>
    Stream.fromAsyncIterable(examplesOf(file, options), asDataInvalid(file))
  );
}

/** What `loadAll` collected. */
export interface Loaded {
  /** The examples read. */
  readonly examples: Example[];
  /** How many invalid records were skipped (only with `skipInvalid`). */
  readonly skipped: number;
  /** The first skipped record's error, for a report. */
  readonly firstSkipped?: DataInvalid;
  /** Invalid UTF-8 replaced by U+FFFD (all zero when the file was clean). */
  readonly invalidUtf8: Utf8Tally;
}

/** Options of `loadAll`. */
export interface LoadAllOptions extends LoadOptions {
  /** Stop after this many examples (reading stops too). */
  readonly limit?: number;
}

/** Collect the examples of a file (up to `limit`), counting skipped records. */
export function loadAll(
  file: string,
  options: LoadAllOptions = {},
): Effect.Effect<Loaded, DataInvalid> {
  return Effect.suspend(() => {
    let skipped = 0;
    let firstSkipped: DataInvalid | undefined;
    const onSkip = (e: DataInvalid) => {
      skipped++;
      firstSkipped ??= e;
      options.onSkip?.(e);
    };
    const invalidUtf8 = options.utf8 ?? emptyUtf8Tally();
    let stream = loadExamples(file, { ...options, onSkip, utf8: invalidUtf8 });
    if (options.limit !== undefined) stream = Stream.take(stream, options.limit);
    return Effect.map(Stream.runCollect(stream), (examples) => ({
      examples: Array.from(examples),
      skipped,
      invalidUtf8,
      ...(firstSkipped ? { firstSkipped } : {}),
    }));
  });
}

/** `loadAll` as a Promise (rejects with the `DataInvalid`). */
export function loadAllPromise(file: string, options: LoadAllOptions = {}): Promise<Loaded> {
  return Effect.runPromise(loadAll(file, options));
}
