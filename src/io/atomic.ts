/**
 * Atomic file writes: the bytes go to a temporary file beside the target, which is then renamed
 * over it, so a reader never sees a half-written checkpoint.
 *
 * @module
 */
import { faultPoint } from "./fault.ts";

let counter = 0;

/** Write `data` to `path` atomically (temporary file in the same folder, then rename). */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${Deno.pid}.${counter++}.tmp`;
  try {
    if (typeof data === "string") await Deno.writeTextFile(tmp, data);
    else await Deno.writeFile(tmp, data);
    faultPoint("atomic-write");
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}
