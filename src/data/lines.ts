/**
 * The lines of a text file, split on bytes and decoded one line at a time, in time linear in
 * the file's size however long a line is (a line spread over many read chunks is joined once,
 * when its end arrives). Invalid UTF-8 is never silent: each invalid sequence becomes U+FFFD
 * and is counted in a {@link Utf8Tally} (file and first line), or, under `strictUtf8`, fails
 * naming the line and byte.
 *
 * @module
 */

/** One line of a text file, 1-based, without its line terminator. */
export interface Line {
  /** The line's text, decoded. */
  readonly text: string;
  /** Its 1-based number. */
  readonly line: number;
}

/** Invalid UTF-8 met while reading a file (each invalid sequence was replaced by U+FFFD). */
export interface Utf8Tally {
  /** Invalid sequences replaced. */
  sequences: number;
  /** Lines holding at least one. */
  lines: number;
  /** The first such line (1-based), or 0 when none. */
  firstLine: number;
}

/** A fresh, empty tally. */
export function emptyUtf8Tally(): Utf8Tally {
  return { sequences: 0, lines: 0, firstLine: 0 };
}

/** Options of the line readers. */
export interface LineOptions {
  /** Fail at the first invalid UTF-8 sequence instead of replacing and counting it. */
  readonly strictUtf8?: boolean;
  /** Where invalid UTF-8 is counted (when not strict). */
  readonly utf8?: Utf8Tally;
}

/** Thrown (as a plain value) when `strictUtf8` meets invalid UTF-8; loaders name the file. */
export interface InvalidUtf8 {
  /** Marks a structural error of a reader (see `isStructureError`). */
  readonly structure: true;
  /** The 1-based line (or Parquet row). */
  readonly line: number;
  /** What was expected there. */
  readonly expected: string;
  /** The offending bytes and where they are. */
  readonly found: string;
}

/** Bytes read per chunk. */
const CHUNK = 1 << 20;

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenient = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/**
 * Byte offset of the first invalid UTF-8 sequence in `b` (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), or -1 when `b` is valid.
 */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return i;
    const second = b[i + 1];
    if (second === undefined || second < lo || second > hi) return i;
    for (let k = 2; k <= n; k++) {
      const x = b[i + k];
      if (x === undefined || x < 0x80 || x > 0xbf) return i;
    }
    i += n + 1;
  }
  return -1;
}

/** Occurrences of U+FFFD's own encoding (EF BF BD) in `b`: replacement characters that were in the file. */
function literalReplacements(b: Uint8Array): number {
  let n = 0;
  let i = b.indexOf(0xef);
  while (i >= 0 && i + 2 < b.length) {
    if (b[i + 1] === 0xbf && b[i + 2] === 0xbd) n++;
    i = b.indexOf(0xef, i + 1);
  }
  return n;
}

function countChar(s: string, ch: string): number {
  let n = 0;
  for (let i = s.indexOf(ch); i >= 0; i = s.indexOf(ch, i + 1)) n++;
  return n;
}

/** Bytes decoded as UTF-8: the text, and how many invalid sequences became U+FFFD. */
export interface Decoded {
  /** The decoded text (each invalid sequence as U+FFFD). */
  readonly text: string;
  /** Invalid sequences replaced (0 for valid UTF-8). */
  readonly invalid: number;
  /** Byte offset of the first one, or -1. */
  readonly at: number;
}

/** Decode UTF-8, replacing each invalid sequence with U+FFFD and counting them. */
export function decodeUtf8(bytes: Uint8Array): Decoded {
  try {
    return { text: strict.decode(bytes), invalid: 0, at: -1 };
  } catch {
    const text = lenient.decode(bytes);
    const invalid = Math.max(1, countChar(text, "\uFFFD") - literalReplacements(bytes));
    return { text, invalid, at: firstInvalidUtf8(bytes) };
  }
}

/** The error `strictUtf8` raises for `d` (invalid) at `line`; `where` adds a column name. */
export function invalidUtf8Error(
  bytes: Uint8Array,
  d: Decoded,
  line: number,
  where = "the line",
): InvalidUtf8 {
  // The offending byte and the continuation bytes after it (at most a sequence's length).
  let end = d.at + 1;
  while (end < d.at + 4 && end < bytes.length && (bytes[end]! & 0xc0) === 0x80) end++;
  const shown = [...bytes.subarray(d.at, end)].map((x) => x.toString(16).padStart(2, "0"));
  return {
    structure: true,
    line,
    expected: "valid UTF-8 (data.strictUtf8 is on)",
    found: `invalid byte sequence ${shown.join(" ")} at byte ${d.at + 1} of ${where}`,
  };
}

/** Count `invalid` sequences found on `line` in `tally`. */
export function tallyInvalid(tally: Utf8Tally | undefined, invalid: number, line: number): void {
  if (!tally || invalid === 0) return;
  tally.sequences += invalid;
  tally.lines++;
  if (tally.firstLine === 0) tally.firstLine = line;
}

/** Decode one line's bytes, counting (or, when strict, refusing) invalid UTF-8. */
export function decodeLine(bytes: Uint8Array, line: number, options: LineOptions = {}): string {
  const d = decodeUtf8(bytes);
  if (d.invalid > 0) {
    if (options.strictUtf8) throw invalidUtf8Error(bytes, d, line);
    tallyInvalid(options.utf8, d.invalid, line);
  }
  return d.text;
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * The raw bytes of each line of `path` (split on `\n`, a final `\r` and a leading BOM
 * removed from the first line); the empty line after a final `\n` is not yielded. Each line is read once and
 * joined once, so the cost is linear in the file's size.
 */
export async function* readByteLines(
  path: string,
): AsyncGenerator<{ readonly bytes: Uint8Array; readonly line: number }> {
  using file = await Deno.open(path, { read: true });
  let parts: Uint8Array[] = [];
  let partsLength = 0;
  let line = 0;
  const emit = (tail: Uint8Array) => {
    let bytes = partsLength === 0 ? tail : concat([...parts, tail], partsLength + tail.length);
    parts = [];
    partsLength = 0;
    if (line === 0 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
      bytes = bytes.subarray(3);
    }
    if (bytes.length > 0 && bytes[bytes.length - 1] === 13) bytes = bytes.subarray(0, -1);
    return { bytes, line: ++line };
  };
  while (true) {
    const buf = new Uint8Array(CHUNK);
    const n = await file.read(buf);
    if (n === null) break;
    const chunk = buf.subarray(0, n);
    let start = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
      yield emit(chunk.subarray(start, nl));
      start = nl + 1;
    }
    if (start < chunk.length) {
      parts.push(chunk.subarray(start));
      partsLength += chunk.length - start;
    }
  }
  if (partsLength > 0) yield emit(new Uint8Array(0));
}

/**
 * The lines of a text file, `\n` or `\r\n` terminated; the empty line after a final `\n` is
 * not yielded. Invalid UTF-8 is counted in `options.utf8`, or fails under `strictUtf8`.
 */
export async function* readLines(path: string, options: LineOptions = {}): AsyncGenerator<Line> {
  for await (const { bytes, line } of readByteLines(path)) {
    yield { text: decodeLine(bytes, line, options), line };
  }
}
