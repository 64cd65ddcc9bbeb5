/**
 * Run directories: one per experiment, never reused unless asked; small JSON files written
 * atomically so an interrupted run leaves whole files behind.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { Data, Effect } from "effect";
import type { ExperimentConfig } from "../config/mod.ts";
import { errorText, pathExistsSync, readJsonChecked, writeFileAtomic } from "../io/mod.ts";
import { fingerprintChanges, type InputFingerprint } from "./fingerprint.ts";

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

/** The file that marks a folder as a run folder this tool made; only such folders are replaced. */
export const RUN_MARKER = ".lisa-run.json";

/** What {@link RUN_MARKER} holds. */
export interface RunMarker {
  /** Which tool made the folder. */
  readonly tool: "lisa-safe-finetune";
  /** The marker's layout version. */
  readonly format: 1;
  /** The command that made the folder (`run`, `align`, `sweep`, a method list). */
  readonly label: string;
  /**
   * The config the run started with (a resumed run must match it; a sweep that widens its grid
   * updates it). `config.json` is the readable copy; this one shows whether it was edited.
   */
  readonly config?: unknown;
  /** Checksums of the data and model files the run trains on, from its first start. */
  readonly inputs?: InputFingerprint;
}

/** Where a command will write, decided (and checked) before anything is written. */
export interface RunDirPlan {
  /** The run folder. */
  readonly dir: string;
  /** Continue the run already in `dir`. */
  readonly resume: boolean;
  /** `dir` holds a run of this tool that `output.overwrite` replaces. */
  readonly replace: boolean;
  /**
   * The name was generated (`<label>-<timestamp>`, or `-2`, `-3`, ... when a run started in the
   * same second): if another run takes it before this one starts, the next free one is used.
   */
  readonly generated: boolean;
  /** The label recorded in the marker. */
  readonly label: string;
}

const invalid = (path: string, detail: string) => new RunDirInvalid({ path, detail });

function lstatOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return null;
    throw e;
  }
}

/** The {@link RUN_MARKER} of `dir`, or null when it has none (or an unreadable one). */
export function readRunMarker(dir: string): RunMarker | null {
  const info = lstatOrNull(`${dir}/${RUN_MARKER}`);
  if (!info?.isFile) return null;
  try {
    const m = JSON.parse(Deno.readTextFileSync(`${dir}/${RUN_MARKER}`)) as RunMarker;
    return m.tool === "lisa-safe-finetune" ? m : null;
  } catch {
    return null;
  }
}

/** Is `dir` a run folder this tool made (it holds a readable {@link RUN_MARKER})? */
export function isRunFolder(dir: string): boolean {
  return readRunMarker(dir) !== null;
}

const writeMarker = (dir: string, marker: RunMarker) =>
  writeFileAtomic(`${dir}/${RUN_MARKER}`, JSON.stringify(marker, null, 2) + "\n");

/**
 * Record the run's input checksums when it first runs, or check them when it continues: a run
 * is never continued on other data or another model. Fails with {@link RunDirInvalid} naming
 * every input that changed (a held-out split seen for the first time is added to the record). A
 * folder without a marker (not made by `openRunDir`) is left alone.
 */
export function recordOrCheckInputs(
  dir: string,
  inputs: InputFingerprint,
): Effect.Effect<void, RunDirInvalid> {
  return Effect.tryPromise({
    try: async () => {
      const marker = readRunMarker(dir);
      if (marker === null) return;
      if (!marker.inputs) return await writeMarker(dir, { ...marker, inputs });
      const changes = fingerprintChanges(marker.inputs, inputs);
      if (changes.length > 0) {
        throw invalid(
          dir,
          `the inputs changed since this run started: ${changes.join(", ")}; a run continues ` +
            "only on the data and model it started with (start a new run to use these)",
        );
      }
      // A split evaluated for the first time: record its held-out sets from now on.
      const added = Object.keys(inputs.data).filter((k) => !(k in marker.inputs!.data));
      if (added.length > 0) {
        const data = { ...marker.inputs.data, ...inputs.data };
        await writeMarker(dir, { ...marker, inputs: { ...marker.inputs, data } });
      }
    },
    catch: (e) => e instanceof RunDirInvalid ? e : invalid(dir, errorText(e)),
  });
}

/** `output.name` must be one plain folder name: never a path, `.`/`..`, or absolute. */
function checkName(name: string): void {
  if (name === "") return;
  if (
    name.includes("/") || name.includes("\\") || name === "." || name === ".." ||
    name.trim() !== name || name.includes("\0")
  ) {
    throw invalid(
      `output.name ${JSON.stringify(name)}`,
      "must be one folder name (no '/', '\\', '.', '..' or surrounding spaces); " +
        "choose the parent folder with output.dir",
    );
  }
}

/** The nearest existing folder at or above `path` must accept new files. */
function checkWritable(path: string): void {
  let dir = resolve(path);
  let info = lstatOrNull(dir);
  while (info === null && dirname(dir) !== dir) {
    dir = dirname(dir);
    info = lstatOrNull(dir);
  }
  let isDir = info?.isDirectory ?? false;
  if (info?.isSymlink) {
    try {
      isDir = Deno.statSync(dir).isDirectory;
    } catch {
      isDir = false;
    }
  }
  if (!isDir) {
    throw invalid(path, `cannot hold run folders: ${dir} is not a folder`);
  }
  const probe = `${dir}/.lisa-write-probe-${Deno.pid}`;
  try {
    Deno.writeTextFileSync(probe, "", { createNew: true });
    Deno.removeSync(probe);
  } catch (e) {
    throw invalid(path, `cannot write run folders in ${dir}: ${errorText(e)}`);
  }
}

/**
 * Decide and check where a command writes, writing nothing: the run to resume (it must hold a
 * `config.json`), or a new folder `output.dir/output.name` (or `<label>-<timestamp>`) in a
 * writable `output.dir`. An existing non-empty folder is refused unless `output.overwrite` is
 * set, and even then only when it is a run folder this tool made ({@link RUN_MARKER}), not a
 * symlink, and inside `output.dir`.
 */
export function planRunDir(
  cfg: ExperimentConfig,
  label: string,
  resumeDir: string | null,
): Effect.Effect<RunDirPlan, RunDirInvalid> {
  return Effect.try({
    try: (): RunDirPlan => {
      if (resumeDir) {
        if (!pathExistsSync(`${resumeDir}/config.json`)) {
          throw invalid(resumeDir, "not a run directory (no config.json); nothing to resume");
        }
        return { dir: resumeDir, resume: true, replace: false, generated: false, label };
      }
      checkName(cfg.output.name);
      checkWritable(cfg.output.dir);
      const generated = cfg.output.name === "";
      let dir = `${cfg.output.dir}/${cfg.output.name || `${label}-${timestamp()}`}`;
      if (generated) dir = freeName(dir);
      const info = lstatOrNull(dir);
      const plan = { dir, resume: false, replace: false, generated, label };
      if (info === null || generated) return plan;
      if (info.isSymlink) {
        throw invalid(dir, "is a symbolic link; a run folder is never reached through a link");
      }
      if (!info.isDirectory) throw invalid(dir, "exists and is not a folder");
      if ([...Deno.readDirSync(dir)].length === 0) return plan;
      if (!cfg.output.overwrite) {
        throw invalid(
          dir,
          "already holds a run; pick another output.name, resume it with --resume, or pass " +
            "--output.overwrite=true",
        );
      }
      const real = Deno.realPathSync(dir);
      const parent = Deno.realPathSync(cfg.output.dir);
      if (dirname(real) !== parent) {
        throw invalid(dir, `resolves to ${real}, outside output.dir (${parent}); not replaced`);
      }
      if (!isRunFolder(dir)) {
        throw invalid(
          dir,
          `is not a run folder this tool made (no ${RUN_MARKER}), so --output.overwrite will ` +
            "not delete it; move it away or pick another output.name",
        );
      }
      return { ...plan, replace: true };
    },
    catch: (e) => e instanceof RunDirInvalid ? e : invalid(cfg.output.dir, errorText(e)),
  });
}

/** The temporary name {@link writeFileAtomic} gives a file before renaming it into place. */
const ATOMIC_TEMP = /\.\d+\.\d+\.tmp$/;

/**
 * Remove the temporary files that writes cut short by a kill left in a run folder (only names
 * {@link writeFileAtomic} makes, only inside the run): a resumed run writes them again whole.
 */
function removeStaleTemps(dir: string): void {
  for (const e of Deno.readDirSync(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) removeStaleTemps(path);
    else if (e.isFile && ATOMIC_TEMP.test(e.name)) Deno.removeSync(path);
  }
}

/** `base`, or `base-2`, `base-3`, ...: the first that does not exist. */
function freeName(base: string): string {
  let dir = base;
  for (let n = 2; lstatOrNull(dir) !== null; n++) dir = `${base}-${n}`;
  return dir;
}

/** Claim `dir` (a new folder, or an empty one); false when another run took the name first. */
function claim(dir: string, mayExistEmpty: boolean): boolean {
  Deno.mkdirSync(dirname(dir), { recursive: true });
  try {
    Deno.mkdirSync(dir);
    return true;
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    return mayExistEmpty && [...Deno.readDirSync(dir)].length === 0;
  }
}

/**
 * Carry out a {@link planRunDir} plan: replace the old run (only now, after the inputs were
 * checked), claim the folder (a generated name that another run took in the same second gets
 * `-2`, `-3`, ...), write the marker and the resolved config. Returns the folder.
 */
export function createRunDir(
  cfg: ExperimentConfig,
  plan: RunDirPlan,
): Effect.Effect<string, RunDirInvalid> {
  return Effect.tryPromise({
    try: async () => {
      if (plan.resume) {
        removeStaleTemps(plan.dir);
        // Record the config the resumed run continues with (a sweep may have widened its grid).
        const marker = readRunMarker(plan.dir);
        await writeMarker(plan.dir, {
          tool: "lisa-safe-finetune",
          format: 1,
          label: marker?.label ?? plan.label,
          config: cfg,
          ...(marker?.inputs ? { inputs: marker.inputs } : {}),
        });
        await writeFileAtomic(`${plan.dir}/config.json`, JSON.stringify(cfg, null, 2) + "\n");
        return plan.dir;
      }
      // A replaced run's files must not be reused: remove it whole (it is marked as ours).
      if (plan.replace) await Deno.remove(plan.dir, { recursive: true });
      let dir = plan.dir;
      while (!claim(dir, !plan.generated)) {
        if (!plan.generated) {
          throw invalid(dir, "was taken by another run while this one started; pick another name");
        }
        dir = freeName(plan.dir);
      }
      await writeMarker(dir, {
        tool: "lisa-safe-finetune",
        format: 1,
        label: plan.label,
        config: cfg,
      });
      await writeFileAtomic(`${dir}/config.json`, JSON.stringify(cfg, null, 2) + "\n");
      return dir;
    },
    catch: (e) => e instanceof RunDirInvalid ? e : invalid(plan.dir, errorText(e)),
  });
}

/**
 * Remove `dir` when it holds nothing but what {@link createRunDir} wrote (the marker and
 * `config.json`): a command that failed before writing anything else leaves nothing behind.
 * Anything else (a folder with results, one without the marker) is left as it is.
 */
export function removeIfUntouched(dir: string): Effect.Effect<void> {
  return Effect.sync(() => {
    try {
      const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
      if (isRunFolder(dir) && names.every((n) => n === RUN_MARKER || n === "config.json")) {
        Deno.removeSync(dir, { recursive: true });
      }
    } catch {
      // Nothing to tidy (already gone, or unreadable): leave it.
    }
  });
}

/**
 * Create the run directory for `cfg` (or reopen `resumeDir`) and record the resolved config:
 * {@link planRunDir}, then {@link createRunDir}.
 */
export function openRunDir(
  cfg: ExperimentConfig,
  label: string,
  resumeDir: string | null,
): Effect.Effect<string, RunDirInvalid> {
  return Effect.flatMap(planRunDir(cfg, label, resumeDir), (plan) => createRunDir(cfg, plan));
}
