/**
 * BeaverTails-style labelled rows for the moderation classifier, and their JSONL parser:
 * one object per line with `prompt`, `response`, `category` (category → boolean) and
 * `is_safe`. Errors name the file, line, field, what was expected and what was found.
 *
 * @module
 */
import { Data, Effect } from "effect";

/** One labelled (prompt, response) pair. */
export interface ModerationRow {
  /** The user prompt. */
  readonly prompt: string;
  /** The assistant response being judged. */
  readonly response: string;
  /** Which harm categories the response falls under. */
  readonly category: Readonly<Record<string, boolean>>;
  /** False when the response is harmful. */
  readonly isSafe: boolean;
}

/** A labelled row is missing a field or has one of the wrong type. */
export class ModerationDataInvalid extends Data.TaggedError("ModerationDataInvalid")<{
  readonly file: string;
  readonly line: number;
  readonly field: string;
  readonly expected: string;
  readonly found: string;
}> {
  /** One line: file, line, field, expected and found. */
  override get message(): string {
    return `${this.file}:${this.line}: field '${this.field}' expected ${this.expected}, ` +
      `found ${this.found}`;
  }
}

function describe(v: unknown): string {
  if (v === undefined) return "nothing (missing)";
  const s = JSON.stringify(v) ?? String(v);
  return `${typeof v} ${s.length > 40 ? s.slice(0, 40) + "…" : s}`;
}

/**
 * Parse one JSON object into a row; `file` and `line` only label errors.
 */
export function parseModerationRow(
  value: unknown,
  file: string,
  line: number,
): ModerationRow | ModerationDataInvalid {
  const bad = (field: string, expected: string, found: unknown) =>
    new ModerationDataInvalid({ file, line, field, expected, found: describe(found) });
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return bad("(row)", "a JSON object", value);
  }
  const r = value as Record<string, unknown>;
  if (typeof r.prompt !== "string") return bad("prompt", "a string", r.prompt);
  if (typeof r.response !== "string") return bad("response", "a string", r.response);
  if (typeof r.is_safe !== "boolean") return bad("is_safe", "a boolean", r.is_safe);
  const cat = r.category;
  if (typeof cat !== "object" || cat === null || Array.isArray(cat)) {
    return bad("category", "an object of category → boolean", cat);
  }
  const category: Record<string, boolean> = {};
  for (const [k, v] of Object.entries(cat)) {
    if (typeof v !== "boolean") return bad(`category.${k}`, "a boolean", v);
    category[k] = v;
  }
  return { prompt: r.prompt, response: r.response, category, isSafe: r.is_safe };
}

/**
 * Parse BeaverTails-style JSONL text (blank lines skipped).
 *
 * @example
 * ```ts
 * const rows = await Effect.runPromise(parseModerationJsonl(text, "unsafe.jsonl"));
 * ```
 */
export function parseModerationJsonl(
  text: string,
  file: string,
): Effect.Effect<ModerationRow[], ModerationDataInvalid> {
  return Effect.suspend(() => {
    const rows: ModerationRow[] = [];
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const raw = lines[i]!.trim();
      if (raw === "") continue;
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch (e) {
        return Effect.fail(
          new ModerationDataInvalid({
            file,
            line: i + 1,
            field: "(row)",
            expected: "valid JSON",
            found: e instanceof Error ? e.message : String(e),
          }),
        );
      }
      const row = parseModerationRow(value, file, i + 1);
      if (row instanceof ModerationDataInvalid) return Effect.fail(row);
      rows.push(row);
    }
    return Effect.succeed(rows);
  });
}

/** Read and parse a BeaverTails-style JSONL file. */
export function readModerationJsonl(
  path: string,
): Effect.Effect<ModerationRow[], ModerationDataInvalid> {
  return Effect.tryPromise({
    try: () => Deno.readTextFile(path),
    catch: (e) =>
      new ModerationDataInvalid({
        file: path,
        line: 0,
        field: "(file)",
        expected: "a readable file",
        found: e instanceof Error ? e.message : String(e),
      }),
  }).pipe(Effect.flatMap((text) => parseModerationJsonl(text, path)));
}
