/**
 * File operations as Effects that fail with {@link IOFailed} naming the path and the
 * operation, so a pipeline never turns a missing folder or a full disk into a defect.
 *
 * @module
 */
import { Effect } from "effect";
import { writeFileAtomic } from "./atomic.ts";
import { errorText, IOFailed } from "./errors.ts";
import { faultPoint } from "./fault.ts";

/** Run `f` on `path`; a rejection becomes {@link IOFailed} for `operation`. */
export function attemptIO<A>(
  path: string,
  operation: string,
  f: () => Promise<A>,
): Effect.Effect<A, IOFailed> {
  return Effect.tryPromise({
    try: f,
    catch: (e) => new IOFailed({ path, operation, reason: errorText(e) }),
  });
}

/** Read a text file. */
export function readText(path: string): Effect.Effect<string, IOFailed> {
  return attemptIO(path, "read", () => Deno.readTextFile(path));
}

/** Read a text file, or succeed with null when it does not exist. */
export function readTextOrNull(path: string): Effect.Effect<string | null, IOFailed> {
  return attemptIO(path, "read", async () => {
    try {
      return await Deno.readTextFile(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      throw e;
    }
  });
}

/** Create a folder and its parents (no error when it exists). */
export function makeDir(path: string): Effect.Effect<void, IOFailed> {
  return attemptIO(path, "create the folder", () => Deno.mkdir(path, { recursive: true }));
}

/** Write `data` to `path` atomically (temporary file beside it, then rename). */
export function writeAtomic(
  path: string,
  data: Uint8Array | string,
): Effect.Effect<void, IOFailed> {
  return attemptIO(path, "write", () => writeFileAtomic(path, data));
}

/** Write `value` as indented JSON (with a final newline), atomically. */
export function writeJsonFile(path: string, value: unknown): Effect.Effect<void, IOFailed> {
  return writeAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

/** Append one line to a text file, creating it when missing. */
export function appendLine(path: string, line: string): Effect.Effect<void, IOFailed> {
  return Effect.try({
    try: () => {
      Deno.writeTextFileSync(path, line + "\n", { append: true });
      faultPoint("log-append");
    },
    catch: (e) => new IOFailed({ path, operation: "append to", reason: errorText(e) }),
  });
}

/** Whether `path` exists (a failure other than "not found" is an {@link IOFailed}). */
export function pathExists(path: string): Effect.Effect<boolean, IOFailed> {
  return attemptIO(path, "stat", async () => {
    try {
      await Deno.stat(path);
      return true;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return false;
      throw e;
    }
  });
}
