/**
 * Validation with Effect Schema, turning a schema failure into a `DataInvalid` that names the
 * field, what was expected and what was found.
 *
 * @module
 */
import { Result, Schema } from "effect";
import { DataInvalid, describeFound } from "./errors.ts";

interface IssueLike {
  readonly _tag: string;
  readonly path?: ReadonlyArray<PropertyKey>;
  readonly issue?: IssueLike;
  readonly issues?: ReadonlyArray<IssueLike>;
}

/** The path to the first leaf issue (fields are reported one at a time). */
function firstPath(issue: IssueLike): PropertyKey[] {
  const path: PropertyKey[] = [];
  let cur: IssueLike | undefined = issue;
  while (cur) {
    if (cur._tag === "Pointer" && cur.path) path.push(...cur.path);
    cur = cur.issue ?? cur.issues?.[0];
  }
  return path;
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let cur = value;
  for (const key of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

/** Where a record sits, for error messages. */
export interface Place {
  /** File or source name. */
  readonly file: string;
  /** 1-based line or row; 0 for the whole file. */
  readonly line: number;
}

/**
 * Decode `value` with `schema`; on failure return a `DataInvalid` for the first bad field.
 *
 * @example
 * ```ts
 * import { Schema } from "effect";
 * const r = decodeRecord(Schema.Struct({ a: Schema.String }), { a: 1 }, { file: "f", line: 3 });
 * // r is a Failure whose error says: f:3: field "a" expected string, found number 1
 * ```
 */
export function decodeRecord<S extends Schema.Codec<unknown, unknown, never, never>>(
  schema: S,
  value: unknown,
  place: Place,
): Result.Result<S["Type"], DataInvalid> {
  const r = Schema.decodeUnknownResult(schema)(value);
  if (Result.isSuccess(r)) return Result.succeed(r.success);
  const error = r.failure;
  const path = firstPath(error.issue as unknown as IssueLike);
  const head = String(error.message).split("\n")[0] ?? "";
  const expected = head.startsWith("Expected ")
    ? head.slice("Expected ".length)
    : head === "Missing key"
    ? "this field to be present"
    : head;
  return Result.fail(
    new DataInvalid({
      file: place.file,
      line: place.line,
      field: path.map(String).join("."),
      expected,
      found: describeFound(valueAt(value, path)),
    }),
  );
}
