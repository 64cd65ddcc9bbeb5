/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header mapping tensor
 * names to `{dtype, shape, data_offsets}`, then the raw bytes. The reader validates every
 * claim of the header against the file before it touches the data; the writer emits F32 with
 * sorted keys and a space-padded header so the data starts 8-byte aligned.
 *
 * @module
 */
import { SafetensorsInvalid, type SafetensorsProblem } from "./errors.ts";
import { writeFileAtomic } from "./atomic.ts";
import { MAX_SAFETENSORS_BYTES, readFileChecked, type ReadOptions } from "./read.ts";

/** A tensor as plain data: float32 values in row-major order and its shape. */
export interface TensorData {
  /** Dimensions, outermost first. */
  readonly shape: readonly number[];
  /** Values in row-major order. */
  readonly data: Float32Array;
}

/** The parsed content of a safetensors file. */
export interface Safetensors {
  /** Tensors by name, with their stored dtype. */
  readonly tensors: Map<string, TensorData & { readonly dtype: string }>;
  /** The `__metadata__` strings. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** Headers larger than this are refused before parsing (the reference library uses 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

const BYTES_PER_ELEMENT: Readonly<Record<string, number>> = { F32: 4, F16: 2, BF16: 2 };

/** Convert one IEEE half-precision value (as its 16 bits) to a number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function decode(dtype: string, bytes: Uint8Array): Float32Array {
  const copy = bytes.slice(); // aligned private copy
  if (dtype === "F32") return new Float32Array(copy.buffer);
  const halves = new Uint16Array(copy.buffer);
  if (dtype === "BF16") {
    const bits = new Uint32Array(halves.length);
    for (let i = 0; i < halves.length; i++) bits[i] = halves[i]! << 16;
    return new Float32Array(bits.buffer);
  }
  const out = new Float32Array(halves.length);
  for (let i = 0; i < halves.length; i++) out[i] = halfToFloat(halves[i]!);
  return out;
}

/**
 * Parse and validate safetensors bytes. F32, F16 and BF16 tensors are returned as float32.
 *
 * @param file the name used in error messages
 * @throws {SafetensorsInvalid} naming the failed check: truncated, header_too_long,
 *   header_not_json, offsets_out_of_range, overlapping, dtype_mismatch, unsupported_dtype
 */
export function parseSafetensors(bytes: Uint8Array, file = "<bytes>"): Safetensors {
  const fail = (
    problem: SafetensorsProblem,
    detail: string,
    extra: { tensor?: string; expected?: string; found?: string } = {},
  ): never => {
    throw new SafetensorsInvalid({ file, problem, detail, ...extra });
  };
  if (bytes.length < 8) {
    fail("truncated", "file is shorter than the 8-byte header length", {
      expected: ">= 8 bytes",
      found: `${bytes.length} bytes`,
    });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = view.getBigUint64(0, true);
  if (headerLen > BigInt(MAX_HEADER_BYTES)) {
    fail("header_too_long", "header length exceeds the limit", {
      expected: `<= ${MAX_HEADER_BYTES}`,
      found: `${headerLen}`,
    });
  }
  const n = Number(headerLen);
  if (8 + n > bytes.length) {
    fail("header_too_long", "header length runs past the end of the file", {
      expected: `<= ${bytes.length - 8}`,
      found: `${n}`,
    });
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    fail("header_not_json", `header is not valid JSON: ${e instanceof Error ? e.message : e}`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    fail("header_not_json", "header is not a JSON object");
  }
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const entries = Object.entries(header as Record<string, unknown>);
  const metadata: Record<string, string> = {};
  const spans: { name: string; begin: number; end: number }[] = [];
  const tensors = new Map<string, TensorData & { dtype: string }>();
  for (const [name, raw] of entries) {
    if (name === "__metadata__") {
      for (const [k, v] of Object.entries((raw ?? {}) as Record<string, unknown>)) {
        metadata[k] = String(v);
      }
      continue;
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = String(info?.dtype);
    const shape = info?.shape;
    const offsets = info?.data_offsets;
    if (
      !Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0) ||
      !Array.isArray(offsets) || offsets.length !== 2 ||
      !offsets.every((o) => Number.isInteger(o) && o >= 0)
    ) {
      fail("header_not_json", "entry needs integer `shape` and two-element `data_offsets`", {
        tensor: name,
      });
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataLen) {
      fail("offsets_out_of_range", "data_offsets fall outside the data section", {
        tensor: name,
        expected: `0 <= begin <= end <= ${dataLen}`,
        found: `[${begin}, ${end}]`,
      });
    }
    const width = BYTES_PER_ELEMENT[dtype];
    if (width === undefined) {
      fail("unsupported_dtype", "only F32, F16 and BF16 tensors are read", {
        tensor: name,
        expected: "F32 | F16 | BF16",
        found: dtype,
      });
    }
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (count * width! !== end - begin) {
      fail("dtype_mismatch", `byte length does not match ${dtype} x shape [${shape}]`, {
        tensor: name,
        expected: `${count * width!} bytes`,
        found: `${end - begin} bytes`,
      });
    }
    spans.push({ name, begin, end });
    tensors.set(name, {
      dtype,
      shape: shape as number[],
      data: decode(dtype, bytes.subarray(dataStart + begin, dataStart + end)),
    });
  }
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < spans.length; i++) {
    const prev = spans[i - 1]!;
    const cur = spans[i]!;
    if (cur.begin < prev.end) {
      fail("overlapping", `byte range overlaps tensor '${prev.name}'`, {
        tensor: cur.name,
        expected: `begin >= ${prev.end}`,
        found: `[${cur.begin}, ${cur.end}]`,
      });
    }
  }
  return { tensors, metadata };
}

/** Non-finite values (NaN, +-Infinity) in a tensor: how many, and the first one's index. */
export interface NonFinite {
  /** How many values are not finite. */
  readonly count: number;
  /** Index of the first. */
  readonly first: number;
  /** Its value (NaN or an infinity). */
  readonly firstValue: number;
}

/** Scan `data` for NaN or infinite values; null when every value is finite. */
export function findNonFinite(data: Float32Array): NonFinite | null {
  let count = 0;
  let first = -1;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    // v - v is 0 for finite v and NaN for NaN and +-Infinity.
    if (v - v !== 0) {
      if (count++ === 0) first = i;
    }
  }
  return count === 0 ? null : { count, first, firstValue: data[first]! };
}

/**
 * Serialise tensors as F32 safetensors: keys sorted (or in `order`, for a layout another
 * writer fixed), data contiguous in key order, header padded with spaces to a multiple of 8
 * bytes.
 */
export function serializeSafetensors(
  tensors: Readonly<Record<string, TensorData>>,
  metadata?: Readonly<Record<string, string>>,
  order?: readonly string[],
): Uint8Array {
  const names = order ? [...order] : Object.keys(tensors).sort();
  if (order && (names.length !== Object.keys(tensors).length || names.some((n) => !tensors[n]))) {
    throw new Error(`serializeSafetensors: order [${names}] does not list every tensor once`);
  }
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = { ...metadata };
  let offset = 0;
  for (const name of names) {
    const t = tensors[name]!;
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) {
      throw new Error(
        `tensor '${name}': shape [${t.shape}] needs ${count} values, found ${t.data.length}`,
      );
    }
    header[name] = {
      dtype: "F32",
      shape: [...t.shape],
      data_offsets: [offset, offset + count * 4],
    };
    offset += count * 4;
  }
  let json = JSON.stringify(header);
  const raw = new TextEncoder().encode(json);
  json += " ".repeat((8 - ((8 + raw.length) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const name of names) {
    const d = tensors[name]!.data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
    pos += d.byteLength;
  }
  return out;
}

/**
 * Read and validate a safetensors file: a regular file of at most `maxBytes` (default
 * {@link MAX_SAFETENSORS_BYTES}).
 *
 * @throws {FileInvalid} when the path is not a regular file or is too large
 * @throws {SafetensorsInvalid} when its content fails a check
 */
export async function readSafetensors(
  path: string,
  opts: Partial<ReadOptions> = {},
): Promise<Safetensors> {
  const bytes = await readFileChecked(path, {
    maxBytes: MAX_SAFETENSORS_BYTES,
    what: "safetensors weights",
    ...opts,
  });
  return parseSafetensors(bytes, path);
}

/** Write tensors as an F32 safetensors file, atomically. */
export async function writeSafetensors(
  path: string,
  tensors: Readonly<Record<string, TensorData>>,
  metadata?: Readonly<Record<string, string>>,
): Promise<void> {
  await writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}
