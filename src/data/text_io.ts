/**
 * Streaming text readers: lines (BOM, CRLF and trailing blank lines handled), the elements of a
 * top-level JSON array, and delimited records (RFC 4180 quoting). Each reads the file in chunks,
 * so memory is bounded by the largest record, not by the file.
 *
 * @module
 */

/** One line of a text file, 1-based, without its line terminator. */
export interface Line {
  readonly text: string;
  readonly line: number;
}

/** Decoded text chunks of a file (UTF-8, a leading BOM dropped). */
export async function* textChunks(path: string): AsyncGenerator<string> {
  const file = await Deno.open(path, { read: true });
  // TextDecoderStream drops a leading BOM by default (ignoreBOM: false).
  const reader = file.readable.pipeThrough(new TextDecoderStream("utf-8")).getReader();
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      if (value) yield value;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** The lines of a text file, `\n` or `\r\n` terminated; the empty line after a final `\n` is not yielded. */
export async function* readLines(path: string): AsyncGenerator<Line> {
  let carry = "";
  let line = 0;
  let first = true;
  for await (let chunk of textChunks(path)) {
    if (first && chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    first = false;
    carry += chunk;
    let start = 0;
    let nl: number;
    while ((nl = carry.indexOf("\n", start)) >= 0) {
      const end = nl > start && carry.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      yield { text: carry.slice(start, end), line: ++line };
      start = nl + 1;
    }
    carry = carry.slice(start);
  }
  if (carry.length > 0) {
    yield { text: carry.endsWith("\r") ? carry.slice(0, -1) : carry, line: ++line };
  }
}

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
  return typeof e === "object" && e !== null && (e as StructureError).structure === true;
}

/**
 * The elements of a top-level JSON array, split without parsing the whole file: the scanner
 * tracks strings, escapes and nesting depth, so only one element is held at a time.
 * An empty file yields nothing.
 */
export async function* readJsonArray(path: string): AsyncGenerator<JsonElement> {
  let state: "before" | "between" | "in" | "after" = "before";
  let depth = 0;
  let inString = false;
  let escape = false;
  let buf = "";
  let line = 1;
  let startLine = 1;
  let row = 0;
  let expectValue = true;
  let scalar = false;
  for await (const chunk of textChunks(path)) {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i] as string;
      if (c === "\n") line++;
      if (state === "in") {
        if (scalar) {
          if (c === "," || c === "]" || /\s/.test(c)) {
            // A scalar element (number, true, null) ended: re-read the delimiter "between".
            yield { text: buf, line: startLine, row: ++row };
            buf = "";
            state = "between";
            expectValue = false;
            if (c === "\n") line--;
            i--;
          } else buf += c;
          continue;
        }
        buf += c;
        let ended = false;
        if (inString) {
          if (escape) escape = false;
          else if (c === "\\") escape = true;
          else if (c === '"') {
            inString = false;
            ended = depth === 0;
          }
        } else if (c === '"') inString = true;
        else if (c === "{" || c === "[") depth++;
        else if (c === "}" || c === "]") ended = --depth === 0;
        if (ended) {
          yield { text: buf, line: startLine, row: ++row };
          buf = "";
          state = "between";
          expectValue = false;
        }
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
      buf = c;
      depth = c === "{" || c === "[" ? 1 : 0;
      inString = c === '"';
      scalar = depth === 0 && !inString;
      escape = false;
    }
  }
  if (state === "in" && scalar) yield { text: buf, line: startLine, row: ++row };
  if (state === "in" && !scalar) {
    throw structureError(startLine, "a complete array element", "end of file");
  }
  if (state === "between" || (state === "in" && scalar)) {
    throw structureError(line, `"]" closing the array`, "end of file");
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
 * keeps them. Blank lines are skipped.
 */
export async function* readDelimited(
  path: string,
  delimiter: "," | "\t",
  quoting: boolean,
): AsyncGenerator<DelimitedRecord> {
  let fields: string[] = [];
  let field = "";
  let inQuotes = false;
  let startLine = 0;
  for await (const { text, line } of readLines(path)) {
    if (!inQuotes) {
      if (text.trim() === "") continue;
      startLine = line;
      fields = [];
      field = "";
    } else {
      field += "\n";
    }
    if (!inQuotes && (!quoting || !text.includes('"'))) {
      // Fast path: no quoting on this line.
      yield { fields: text.split(delimiter), line: startLine };
      continue;
    }
    let i = 0;
    let fieldStart = !inQuotes;
    while (i < text.length) {
      const c = text[i] as string;
      if (inQuotes) {
        if (c === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          inQuotes = false;
          i++;
          continue;
        }
        field += c;
        i++;
        continue;
      }
      if (c === delimiter) {
        fields.push(field);
        field = "";
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
      fieldStart = false;
      field += c;
      i++;
    }
    if (!inQuotes) {
      fields.push(field);
      yield { fields, line: startLine };
    }
  }
  if (inQuotes) throw structureError(startLine, "a closing quote", "end of file");
}
