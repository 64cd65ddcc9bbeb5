/**
 * Atomic file writes: write a temporary file beside the target, then rename it over the target,
 * so a reader never sees half a report or half a set of weights.
 *
 * @module
 */

function tempPath(path: string): string {
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : path.slice(0, slash) || "/";
  const base = path.slice(slash + 1);
  const tag = crypto.getRandomValues(new Uint32Array(2)).join("");
  return `${dir}/.${base}.${tag}.tmp`;
}

/**
 * Write bytes to `path` atomically (temporary file + rename in the same folder).
 *
 * @example
 * ```ts
 * await writeBytesAtomic("out/model.bin", new Uint8Array([1, 2, 3]));
 * ```
 */
export async function writeBytesAtomic(path: string, data: Uint8Array): Promise<void> {
  const tmp = tempPath(path);
  try {
    await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/**
 * Write text to `path` atomically (UTF-8).
 *
 * @example
 * ```ts
 * await writeTextAtomic("out/report.md", "# Report\n");
 * ```
 */
export function writeTextAtomic(path: string, text: string): Promise<void> {
  return writeBytesAtomic(path, new TextEncoder().encode(text));
}
