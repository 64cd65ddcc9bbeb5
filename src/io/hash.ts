/**
 * The one SHA-256 helper: checkpoints, shipped assets and the judge's weights are all checked
 * with it.
 *
 * @module
 */
import { createHash } from "node:crypto";

/**
 * Hex SHA-256 of bytes.
 *
 * @example
 * ```ts
 * await sha256Hex(new TextEncoder().encode("abc")); // "ba7816bf..."
 * ```
 */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Hex SHA-256 of a file, read in chunks (memory stays small for a multi-gigabyte weight file).
 * The same digest as {@link sha256Hex} of its bytes.
 */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path, { read: true });
  const buf = new Uint8Array(8 * 2 ** 20);
  while (true) {
    const n = await file.read(buf);
    if (n === null) break;
    hash.update(buf.subarray(0, n));
  }
  return hash.digest("hex");
}
