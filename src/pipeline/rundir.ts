/**
 * Run directories: one per experiment, never reused unless asked; small JSON files written
 * atomically so an interrupted run leaves whole files behind.
 *
 * @module
 */
import { Data, Effect } from "effect";
import type { ExperimentConfig } from "../config/mod.ts";
import { errorText, pathExistsSync, readJsonChecked, writeFileAtomic } from "../io/mod.ts";

/** A run directory could not be created or written. */
export class RunDirInvalid extends Data.TaggedError("RunDirInvalid")<{
  readonly path: string;
  readonly detail: string;
}> {
  /** One line naming the folder. */
  override get message(): string {
    return `${this.path}: ${this.detail}`;
  }
}

const exists = async (p: string): Promise<boolean> => {
  try {
    await Deno.stat(p);
    return true;
  } catch {
    return false;
  }
};

/** `YYYYmmdd-HHMMSS` in UTC. */
export function timestamp(d: Date = new Date()): string {
  return d.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
}

/**
 * Read a record a finished phase left in a run folder (a regular JSON file of at most 16 MiB),
 * or null when there is none. A file that is unreadable, not JSON, or not what `is` accepts
 * fails with {@link RunDirInvalid} naming it: a damaged run is reported, never half-trusted.
 */
export function readRunRecord<T>(
  path: string,
  what: string,
  is: (x: unknown) => x is T,
): Effect.Effect<T | null, RunDirInvalid> {
  return Effect.gen(function* () {
    if (!pathExistsSync(path)) return null;
    const json = yield* Effect.tryPromise({
      try: () => readJsonChecked(path, { what }),
      catch: (e) => new RunDirInvalid({ path, detail: `unreadable ${what}: ${errorText(e)}` }),
    });
    if (!is(json)) {
      return yield* new RunDirInvalid({
        path,
        detail:
          `not a ${what} (written by another version, or damaged); remove it to redo that phase`,
      });
    }
    return json;
  });
}

/**
 * Create the run directory for `cfg` (or reopen `resumeDir`) and record the resolved config.
 * A fresh run refuses an existing non-empty folder unless `output.overwrite` is set.
 */
export function openRunDir(
  cfg: ExperimentConfig,
  label: string,
  resumeDir: string | null,
): Effect.Effect<string, RunDirInvalid> {
  return Effect.tryPromise({
    try: async () => {
      if (resumeDir) {
        if (!(await exists(`${resumeDir}/config.json`))) {
          throw new RunDirInvalid({
            path: resumeDir,
            detail: "not a run directory (no config.json); nothing to resume",
          });
        }
        // Record the config the resumed run continues with (a sweep may have widened its grid).
        await writeFileAtomic(`${resumeDir}/config.json`, JSON.stringify(cfg, null, 2) + "\n");
        return resumeDir;
      }
      const name = cfg.output.name || `${label}-${timestamp()}`;
      const dir = `${cfg.output.dir}/${name}`;
      if (await exists(dir)) {
        const entries = [...Deno.readDirSync(dir)];
        if (entries.length > 0 && !cfg.output.overwrite) {
          throw new RunDirInvalid({
            path: dir,
            detail: "already holds a run; pick another output.name, resume it with " +
              "--resume, or pass --output.overwrite=true",
          });
        }
        // Asked to overwrite: start clean, so no stale result of the old run is reused.
        if (entries.length > 0) await Deno.remove(dir, { recursive: true });
      }
      await Deno.mkdir(dir, { recursive: true });
      await writeFileAtomic(`${dir}/config.json`, JSON.stringify(cfg, null, 2) + "\n");
      return dir;
    },
    catch: (e) =>
      e instanceof RunDirInvalid
        ? e
        : new RunDirInvalid({ path: cfg.output.dir, detail: String(e) }),
  });
}
