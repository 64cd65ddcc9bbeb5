/**
 * The dataset formats: for each, an Effect Schema for its records and the mapping from a
 * validated record to an `Example` (task instructions and targets as in `templates.ts`).
 *
 * @module
 */
import { Result, Schema } from "effect";
import { DataInvalid, describeFound } from "./errors.ts";
import { agNewsExample, gsm8kExample, sst2Example } from "./templates.ts";
import { CATEGORY_KEYS, type Example, type ExampleKind } from "./types.ts";
import { decodeRecord, type Place } from "./validate.ts";

/** The dataset formats the loaders understand. */
export type Format = "beavertails" | "sst2" | "agnews" | "gsm8k" | "alpaca" | "refusal";

/** All formats, for CLI choices. */
export const FORMATS: readonly Format[] = [
  "beavertails",
  "sst2",
  "agnews",
  "gsm8k",
  "alpaca",
  "refusal",
];

/** BeaverTails-style safety record: `{prompt, response, category: {14 booleans}, is_safe}`. */
export const SafetyRecordSchema = Schema.Struct({
  prompt: Schema.String,
  response: Schema.String,
  category: Schema.Record(Schema.String, Schema.Boolean),
  is_safe: Schema.Boolean,
});

/** SST-2 record: TSV (`label` "0"/"1") or Hugging Face columns (`label` 0/1). */
export const Sst2Schema = Schema.Struct({
  sentence: Schema.String,
  label: Schema.Literals([0, 1, "0", "1"]),
});

/** AG News original CSV record (class 1..4). */
export const AgNewsCsvSchema = Schema.Struct({
  class: Schema.Literals(["1", "2", "3", "4"]),
  title: Schema.String,
  description: Schema.String,
});

/** AG News Hugging Face record (label 0..3). */
export const AgNewsHfSchema = Schema.Struct({
  text: Schema.String,
  label: Schema.Literals([0, 1, 2, 3, "0", "1", "2", "3"]),
});

/** GSM8K record: a question and a worked answer ending with `#### <number>`. */
export const Gsm8kSchema = Schema.Struct({ question: Schema.String, answer: Schema.String });

/** Alpaca-style instruction record (`input` may be absent). */
export const AlpacaSchema = Schema.Struct({
  instruction: Schema.String,
  input: Schema.optionalKey(Schema.String),
  output: Schema.String,
});

/** DecodingTrust-with-refusals record: a prompt object and a refusal transcript. */
export const DecodingTrustSchema = Schema.Struct({
  prompt: Schema.Struct({ text: Schema.String }),
  refusal: Schema.String,
});

/** CSV column names of the original AG News files (no header line). */
export const AGNEWS_CSV_COLUMNS = ["class", "title", "description"] as const;

/** Options that change how records become examples. */
export interface MapOptions {
  /** Override the kind recorded in provenance (default: by format; BeaverTails by `is_safe`). */
  readonly kind?: ExampleKind;
}

/** The result of mapping one record. */
export type Mapped = Result.Result<Example, DataInvalid>;

function hasKey(value: unknown, key: string): boolean {
  return typeof value === "object" && value !== null && key in value;
}

function mapSafety(value: unknown, place: Place, opts: MapOptions): Mapped {
  const r = decodeRecord(SafetyRecordSchema, value, place);
  if (Result.isFailure(r)) return Result.fail(r.failure);
  const rec = r.success;
  const missing = CATEGORY_KEYS.find((k) => !(k in rec.category));
  if (missing !== undefined) {
    return Result.fail(
      new DataInvalid({
        file: place.file,
        line: place.line,
        field: `category.${missing}`,
        expected: "a boolean (all 14 BeaverTails category keys present)",
        found: describeFound(undefined),
      }),
    );
  }
  return Result.succeed({
    instruction: rec.prompt,
    input: "",
    output: rec.response,
    category: rec.category,
    provenance: {
      source: place.file,
      row: place.line,
      kind: opts.kind ?? (rec.is_safe ? "alignment" : "harmful"),
    },
  });
}

function provenance(place: Place, kind: ExampleKind) {
  return { source: place.file, row: place.line, kind };
}

function mapSst2(value: unknown, place: Place, opts: MapOptions): Mapped {
  const r = decodeRecord(Sst2Schema, value, place);
  if (Result.isFailure(r)) return Result.fail(r.failure);
  const label = Number(r.success.label) as 0 | 1;
  return Result.succeed(
    sst2Example(r.success.sentence, label, provenance(place, opts.kind ?? "task")),
  );
}

function mapAgNews(value: unknown, place: Place, opts: MapOptions): Mapped {
  const prov = provenance(place, opts.kind ?? "task");
  if (hasKey(value, "text")) {
    const r = decodeRecord(AgNewsHfSchema, value, place);
    if (Result.isFailure(r)) return Result.fail(r.failure);
    return Result.succeed(
      agNewsExample(r.success.text, Number(r.success.label) as 0 | 1 | 2 | 3, prov),
    );
  }
  const r = decodeRecord(AgNewsCsvSchema, value, place);
  if (Result.isFailure(r)) return Result.fail(r.failure);
  // The Hugging Face `text` column is the title and the description joined by one space.
  const text = `${r.success.title} ${r.success.description}`;
  return Result.succeed(agNewsExample(text, (Number(r.success.class) - 1) as 0 | 1 | 2 | 3, prov));
}

function mapGsm8k(value: unknown, place: Place, opts: MapOptions): Mapped {
  const r = decodeRecord(Gsm8kSchema, value, place);
  if (Result.isFailure(r)) return Result.fail(r.failure);
  const ex = gsm8kExample(
    r.success.question,
    r.success.answer,
    provenance(place, opts.kind ?? "task"),
  );
  if (ex.label === undefined) {
    return Result.fail(
      new DataInvalid({
        file: place.file,
        line: place.line,
        field: "answer",
        expected: 'a solution ending with "#### <number>"',
        found: describeFound(r.success.answer.slice(-40)),
      }),
    );
  }
  return Result.succeed(ex);
}

function mapAlpaca(value: unknown, place: Place, kind: ExampleKind): Mapped {
  const r = decodeRecord(AlpacaSchema, value, place);
  if (Result.isFailure(r)) return Result.fail(r.failure);
  return Result.succeed({
    instruction: r.success.instruction,
    input: r.success.input ?? "",
    output: r.success.output,
    provenance: provenance(place, kind),
  });
}

function mapRefusal(value: unknown, place: Place, opts: MapOptions): Mapped {
  const kind = opts.kind ?? "alignment";
  if (hasKey(value, "instruction")) return mapAlpaca(value, place, kind);
  const r = decodeRecord(DecodingTrustSchema, value, place);
  if (Result.isFailure(r)) return Result.fail(r.failure);
  // The transcript repeats the prompt, then the model's safe continuation.
  const head = `Prompt: ${r.success.prompt.text}\nContinuation:`;
  const t = r.success.refusal;
  const output = (t.startsWith(head) ? t.slice(head.length) : t).trim();
  return Result.succeed({
    instruction: r.success.prompt.text,
    input: "",
    output,
    provenance: provenance(place, kind),
  });
}

/** Map one raw record of `format` to an example, or a `DataInvalid` for the first bad field. */
export function toExample(
  format: Format,
  value: unknown,
  place: Place,
  opts: MapOptions = {},
): Mapped {
  switch (format) {
    case "beavertails":
      return mapSafety(value, place, opts);
    case "sst2":
      return mapSst2(value, place, opts);
    case "agnews":
      return mapAgNews(value, place, opts);
    case "gsm8k":
      return mapGsm8k(value, place, opts);
    case "alpaca":
      return mapAlpaca(value, place, opts.kind ?? "task");
    case "refusal":
      return mapRefusal(value, place, opts);
  }
}

/** Infer the format from the keys of a first record, or null. */
export function formatFromKeys(value: unknown): Format | null {
  if (typeof value !== "object" || value === null) return null;
  const has = (k: string) => k in value;
  if (has("prompt") && has("response") && has("is_safe")) return "beavertails";
  if (has("sentence") && has("label")) return "sst2";
  if ((has("text") && has("label")) || (has("class") && has("title"))) return "agnews";
  if (has("question") && has("answer")) return "gsm8k";
  if (has("prompt") && has("refusal")) return "refusal";
  if (has("instruction") && has("output")) return "alpaca";
  return null;
}
