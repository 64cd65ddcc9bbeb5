/**
 * The one SHA-256 helper: checkpoints, shipped assets and the judge's weights are all checked
 * with it.
 *
 * @module
 */

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
