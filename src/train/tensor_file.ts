/**
 * A small binary format for named tensors, in the spirit of safetensors: an 8-byte
 * little-endian header length, a UTF-8 JSON header `{ name: { dtype, shape, offset, length } }`
 * (offsets in bytes from the start of the data section), then the raw little-endian data.
 *
 * @module
 */
import { tf } from "../../backends/mod.ts";

/** The element types we store. */
export type StoredDtype = "float32" | "int32";

interface Entry {
  dtype: StoredDtype;
  shape: number[];
  offset: number;
  length: number;
}

/** Serialise named tensors (read asynchronously; the tensors are not disposed). */
export async function encodeTensors(tensors: Record<string, tf.Tensor>): Promise<Uint8Array> {
  const header: Record<string, Entry> = {};
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const name of Object.keys(tensors).sort()) {
    const t = tensors[name]!;
    if (t.dtype !== "float32" && t.dtype !== "int32") {
      throw new TypeError(`encodeTensors: '${name}' has unsupported dtype ${t.dtype}`);
    }
    const data = (await t.data()) as Float32Array | Int32Array;
    const bytes = new Uint8Array(
      data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
    );
    header[name] = { dtype: t.dtype, shape: [...t.shape], offset, length: bytes.byteLength };
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  const head = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + head.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.byteLength), true);
  out.set(head, 8);
  let at = 8 + head.byteLength;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** Parse what {@link encodeTensors} wrote; throws an Error saying what is malformed. */
export function decodeTensors(bytes: Uint8Array): Record<string, tf.Tensor> {
  if (bytes.byteLength < 8) throw new Error("shorter than its 8-byte header length");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headLen = Number(view.getBigUint64(0, true));
  if (8 + headLen > bytes.byteLength) throw new Error(`header length ${headLen} past end of file`);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headLen))) as Record<
    string,
    Entry
  >;
  const base = 8 + headLen;
  const out: Record<string, tf.Tensor> = {};
  for (const [name, e] of Object.entries(header)) {
    const start = base + e.offset;
    if (start + e.length > bytes.byteLength) throw new Error(`tensor '${name}' past end of file`);
    const raw = bytes.slice(start, start + e.length).buffer;
    const data = e.dtype === "int32" ? new Int32Array(raw) : new Float32Array(raw);
    const size = e.shape.reduce((a, b) => a * b, 1);
    if (data.length !== size) {
      throw new Error(`tensor '${name}': ${data.length} values for shape [${e.shape}]`);
    }
    out[name] = tf.tensor(data, e.shape, e.dtype);
  }
  return out;
}
