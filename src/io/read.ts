/**
 * Guarded reads of the files the project loads (configs, tokenizers, adapters, weights,
 * checkpoints): the path must name a regular file (a symlink to one is fine, as in the Hugging
 * Face cache; a device, FIFO or folder is refused before it is opened) no larger than a cap,
 * so `config.json -> /dev/zero` fails at once with a message instead of filling memory.
 *
 * @module
 */
import { FileInvalid } from "./errors.ts";

const MiB = 2 ** 20;

/** Cap on small JSON files: model and adapter configs, shard indexes, run records. */
export const MAX_CONFIG_JSON_BYTES = 16 * MiB;

/** Cap on `tokenizer.json` (large vocabularies with merges take tens of MB). */
export const MAX_TOKENIZER_JSON_BYTES = 256 * MiB;

/** Cap on one safetensors file when nothing tighter is known (e.g. no model config yet). */
export const MAX_SAFETENSORS_BYTES = 64 * 1024 * MiB;

/** Options of the guarded readers. */
export interface ReadOptions {
  /** Refuse files larger than this many bytes. */
  readonly maxBytes: number;
  /** What the file is, for messages (`model config`, `adapter weights`). */
  readonly what?: string;
}

const kind = (s: Deno.FileInfo): string =>
  s.isDirectory
    ? "a folder"
    : s.isCharDevice
    ? "a character device"
    : s.isBlockDevice
    ? "a block device"
    : s.isFifo
    ? "a FIFO (named pipe)"
    : s.isSocket
    ? "a socket"
    : "not a regular file";

const human = (n: number): string =>
  n >= MiB ? `${(n / MiB).toFixed(n >= 100 * MiB ? 0 : 1)} MiB` : `${n} bytes`;

function describeTarget(path: string, info: Deno.FileInfo, real: string | null): string {
  return real !== null && real !== path
    ? `a symlink to ${real}, which is ${kind(info)}`
    : kind(info);
}

function refuse(
  path: string,
  opts: ReadOptions,
  problem: FileInvalid["problem"],
  expected: string,
  found: string,
): never {
  throw new FileInvalid({ file: path, what: opts.what ?? "file", problem, expected, found });
}

function checkInfo(
  path: string,
  info: Deno.FileInfo,
  real: () => string | null,
  opts: ReadOptions,
): number {
  if (!info.isFile) {
    refuse(path, opts, "not_a_file", "a regular file", describeTarget(path, info, real()));
  }
  if (info.size > opts.maxBytes) {
    refuse(path, opts, "too_large", `at most ${human(opts.maxBytes)}`, human(info.size));
  }
  return info.size;
}

/** The file gave exactly the `size` bytes it had when opened (`extra`: a read past them). */
function checkComplete(
  path: string,
  opts: ReadOptions,
  size: number,
  read: number,
  extra: number | null,
): void {
  if (read !== size || (extra !== null && extra > 0)) {
    refuse(
      path,
      opts,
      "unreadable",
      `${size} bytes (its size when opened)`,
      "a file that changed while read",
    );
  }
}

function missing(path: string, opts: ReadOptions, e: unknown): never {
  if (e instanceof FileInvalid) throw e;
  if (e instanceof Deno.errors.NotFound) refuse(path, opts, "missing", "a file", "nothing");
  return refuse(
    path,
    opts,
    "unreadable",
    "a readable file",
    e instanceof Error ? e.message : `${e}`,
  );
}

/**
 * Is `path` present (anything at all, even a broken symlink)? Lets optional files be told
 * apart from files that exist but cannot be read.
 */
export function pathExistsSync(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Check that `path` is a regular file (or a symlink to one) before a streaming reader opens
 * it: a device or FIFO would stream forever or block.
 *
 * @throws {FileInvalid} `missing`, `not_a_file` or `unreadable`
 */
export async function assertRegularFile(path: string, what = "file"): Promise<void> {
  const opts = { maxBytes: Infinity, what };
  try {
    checkInfo(path, await Deno.stat(path), () => realPathOrNull(path), opts);
  } catch (e) {
    missing(path, opts, e);
  }
}

/**
 * The bytes of a regular file of at most `opts.maxBytes`.
 *
 * @throws {FileInvalid} `missing`, `not_a_file` (folder, device, FIFO, or a symlink to one),
 *   `too_large`, or `unreadable`
 */
export async function readFileChecked(path: string, opts: ReadOptions): Promise<Uint8Array> {
  try {
    const size = checkInfo(path, await Deno.stat(path), () => realPathOrNull(path), opts);
    using file = await Deno.open(path, { read: true });
    // Check the opened file too: the path may have been swapped since the stat.
    checkInfo(path, await file.stat(), () => realPathOrNull(path), opts);
    const out = new Uint8Array(size);
    let off = 0;
    while (off < size) {
      const n = await file.read(out.subarray(off));
      if (n === null) break;
      off += n;
    }
    checkComplete(path, opts, size, off, await file.read(new Uint8Array(1)));
    return out;
  } catch (e) {
    return missing(path, opts, e);
  }
}

/** The synchronous {@link readFileChecked}. */
export function readFileCheckedSync(path: string, opts: ReadOptions): Uint8Array {
  try {
    const size = checkInfo(path, Deno.statSync(path), () => realPathOrNull(path), opts);
    using file = Deno.openSync(path, { read: true });
    checkInfo(path, file.statSync(), () => realPathOrNull(path), opts);
    const out = new Uint8Array(size);
    let off = 0;
    while (off < size) {
      const n = file.readSync(out.subarray(off));
      if (n === null) break;
      off += n;
    }
    checkComplete(path, opts, size, off, file.readSync(new Uint8Array(1)));
    return out;
  } catch (e) {
    return missing(path, opts, e);
  }
}

const decoder = new TextDecoder();

/** The text (UTF-8) of a regular file of at most `opts.maxBytes`. */
export async function readTextChecked(path: string, opts: ReadOptions): Promise<string> {
  return decoder.decode(await readFileChecked(path, opts));
}

/** The synchronous {@link readTextChecked}. */
export function readTextCheckedSync(path: string, opts: ReadOptions): string {
  return decoder.decode(readFileCheckedSync(path, opts));
}

function parseJson(path: string, text: string, opts: ReadOptions): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    return refuse(path, opts, "not_json", "valid JSON", e instanceof Error ? e.message : `${e}`);
  }
}

/**
 * A JSON file, parsed (default cap {@link MAX_CONFIG_JSON_BYTES}).
 *
 * @throws {FileInvalid} as {@link readFileChecked}, or `not_json`
 */
export async function readJsonChecked(
  path: string,
  opts: Partial<ReadOptions> = {},
): Promise<unknown> {
  const o = { maxBytes: MAX_CONFIG_JSON_BYTES, ...opts };
  return parseJson(path, await readTextChecked(path, o), o);
}

/** The synchronous {@link readJsonChecked}. */
export function readJsonCheckedSync(path: string, opts: Partial<ReadOptions> = {}): unknown {
  const o = { maxBytes: MAX_CONFIG_JSON_BYTES, ...opts };
  return parseJson(path, readTextCheckedSync(path, o), o);
}

function realPathOrNull(path: string): string | null {
  try {
    return Deno.realPathSync(path);
  } catch {
    return null;
  }
}
