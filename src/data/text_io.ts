/**
 * Streaming structure readers over {@link readLines}: the elements of a top-level JSON array and
 * delimited records (RFC 4180 quoting). Memory is bounded by the largest record, not by the
 * file, and the time is linear in the file's size (a record is assembled from slices, never a
 * character at a time).
 *
 * @module
 */
import { type LineOptions, readLines } from "./lines.ts";

export { readLines } from "./lines.ts";
export type { Line, LineOptions, Utf8Tally } from "./lines.ts";

/** One element of a top-level JSON array: its source text and where it starts. */
export interface JsonElement {
  readonly text: string;
  /** 1-based line where the element starts. */
  readonly line: number;
  /** 1-based index of the element in the array. */
  readonly row: number;
}

/** Thrown (as a plain value) by the structural readers; the loaders turn it into `DataInvalid`. */
export interface StructureError {
  readonly structure: true;
  readonly line: number;
  readonly expected: string;
  readonly found: string;
}

function structureError(line: number, expected: string, found: string): StructureError {
  return { structure: true, line, expected, found };
}

/** Is `e` a structural error from these readers? */
export function isStructureError(e: unknown): e is StructureError {
  return typeof e === "object" && e !== null && "structure" in e && e.structure === true;
}

const SPECIAL_IN_STRING = /["\\]/g;

/**
 * The elements of a top-level JSON array, split without parsing the whole file: the scanner
 * tracks strings, escapes and nesting depth, so only one element is held at a time.
 * An empty file yields nothing. Invalid UTF-8 is handled as {@link readLines} does.
 */
export async function* readJsonArray(
  path: string,
  options: LineOptions = {},
): AsyncGenerator<JsonElement> {
  let state = "before" as "before" | "between" | "in" | "after";
  let depth = 0;
  let inString = false;
  let escape = false;
  let parts: string[] = [];
  let startLine = 1;
  let row = 0;
  let expectValue = true;
  let scalar = false;
  let line = 0;
  for await (const l of readLines(path, options)) {
    line = l.line;
    const text = l.text + "\n";
    // Where the current element's text begins in this line (elements may span lines).
    let from = 0;
    const finish = (end: number): JsonElement => {
      parts.push(text.slice(from, end));
      const el = { text: parts.join(""), line: startLine, row: ++row };
      parts = [];
      state = "between";
      expectValue = false;
      return el;
    };
    for (let i = 0; i < text.length; i++) {
      const c = text[i] as string;
      if (state === "in") {
        if (scalar) {
          // A scalar element (number, true, null) ends at a delimiter, which is read "between".
          if (c === "," || c === "]" || c === " " || c === "\t" || c === "\n" || c === "\r") {
            yield finish(i);
            i--;
          }
          continue;
        }
        let ended = false;
        if (inString) {
          if (escape) escape = false;
          else if (c === "\\") escape = true;
          else if (c === '"') {
            inString = false;
            ended = depth === 0;
          } else {
            // Skip to the next quote or backslash.
            SPECIAL_IN_STRING.lastIndex = i + 1;
            const next = SPECIAL_IN_STRING.exec(text);
            i = (next ? next.index : text.length) - 1;
          }
        } else if (c === '"') inString = true;
        else if (c === "{" || c === "[") depth++;
        else if (c === "}" || c === "]") ended = --depth === 0;
        if (ended) yield finish(i + 1);
        continue;
      }
      if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\ufeff") continue;
      if (state === "before") {
        if (c !== "[") throw structureError(line, "a JSON array starting with [", `"${c}"`);
        state = "between";
        expectValue = true;
        continue;
      }
      if (state === "after") throw structureError(line, "end of file after ]", `"${c}"`);
      // state === "between"
      if (c === "]") {
        state = "after";
        continue;
      }
      if (c === ",") {
        if (expectValue) throw structureError(line, "an array element", `","`);
        expectValue = true;
        continue;
      }
      if (!expectValue) throw structureError(line, `"," or "]"`, `"${c}"`);
      state = "in";
      startLine = line;
      from = i;
      depth = c === "{" || c === "[" ? 1 : 0;
      inString = c === '"';
      scalar = depth === 0 && !inString;
      escape = false;
    }
    if (state === "in") parts.push(text.slice(from));
  }
  if (state === "in") {
    throw structureError(startLine, "a complete array element", "end of file");
  }
  if (state === "between") {
    throw structureError(line || 1, `"]" closing the array`, "end of file");
  }
}

/** One delimited record: its fields and the line it starts on. */
export interface DelimitedRecord {
  readonly fields: string[];
  readonly line: number;
}

/**
 * Delimited records (CSV or TSV). Quoted fields follow RFC 4180 (`""` is a quote, a quoted
 * field may span lines); backslashes are kept as they are, as the Hugging Face copy of AG News
 * keeps them. Blank lines are skipped. Invalid UTF-8 is handled as {@link readLines} does.
 */
export async function* readDelimited(
  path: string,
  delimiter: "," | "\t",
  quoting: boolean,
  options: LineOptions = {},
): AsyncGenerator<DelimitedRecord> {
  let fields: string[] = [];
  let field: string[] = [];
  let inQuotes = false;
  let startLine = 0;
  for await (const { text, line } of readLines(path, options)) {
    if (!inQuotes) {
      if (text.trim() === "") continue;
      startLine = line;
      fields = [];
      field = [];
    } else {
      field.push("\n");
    }
    if (!inQuotes && (!quoting || !text.includes('"'))) {
      // Fast path: no quoting on this line.
      yield { fields: text.split(delimiter), line: startLine };
      continue;
    }
    let i = 0;
    let fieldStart = !inQuotes;
    while (i < text.length) {
      if (inQuotes) {
        // The quoted run ends at a quote that is not doubled ("" is an escaped quote).
        let q = text.indexOf('"', i);
        while (q >= 0 && text[q + 1] === '"') q = text.indexOf('"', q + 2);
        const run = text.slice(i, q < 0 ? text.length : q);
        field.push(run.includes('""') ? run.split('""').join('"') : run);
        if (q < 0) break;
        inQuotes = false;
        i = q + 1;
        continue;
      }
      const c = text[i] as string;
      if (c === delimiter) {
        fields.push(field.join(""));
        field = [];
        fieldStart = true;
        i++;
        continue;
      }
      if (quoting && c === '"' && fieldStart) {
        inQuotes = true;
        fieldStart = false;
        i++;
        continue;
      }
      // An unquoted run up to the next delimiter (a quote inside it is kept as it is).
      const end = text.indexOf(delimiter, i);
      const stop = end < 0 ? text.length : end;
      field.push(text.slice(i, stop));
      fieldStart = false;
      i = stop;
    }
    if (!inQuotes) {
      fields.push(field.join(""));
      field = [];
      yield { fields, line: startLine };
    }
  }
  if (inQuotes) throw structureError(startLine, "a closing quote", "end of file");
}
