/**
 * The config a resumed run continues with: the one it started with, recorded in its folder. A
 * checkpoint made under one learning rate or seed is never continued under another, so any
 * difference is refused with the fields named: an edited `config.json`, a flag, or a `--config`
 * file (applied explicitly: accepted when it matches the recorded run, refused naming what
 * differs). Only the backend, the checkpoint and log cadence, and a sweep's grid may change.
 *
 * @module
 */
import { Effect } from "effect";
import {
  configChanges,
  ConfigInvalid,
  describeChanges,
  type ExperimentConfig,
  resolveConfig,
} from "../config/mod.ts";
import { pathExistsSync } from "../io/mod.ts";
import { readRunMarker } from "./rundir.ts";

/** What a resumed command was asked to continue with. */
export interface ResumeRequest {
  /** The run folder (`--resume DIR`). */
  readonly runDir: string;
  /** The command (`run`, `sweep`, ...): a sweep may widen its grid. */
  readonly command: string;
  /** `--config FILE`, or null. */
  readonly configFile: string | null;
  /** Flag overrides `[dotted path, raw text]`. */
  readonly overrides: ReadonlyArray<readonly [string, string | true]>;
}

/**
 * Fields a resumed run may change: they do not change what it trains. `eval.split` evaluates
 * a finished run again on the other held-out split (answers and metrics go to their own folder).
 */
export function mayChangeOnResume(path: string, command: string): boolean {
  if (
    path === "backend" || path === "output.logEvery" || path === "output.checkpointEvery" ||
    path === "eval.split"
  ) {
    return true;
  }
  return command === "sweep" && (path.startsWith("sweep.") || path === "method.compare");
}

/**
 * Resolve the config `request` continues with and check it against the run's record: fails
 * with {@link ConfigInvalid} naming every field that differs from the config the run started
 * with (and, when `config.json` itself was edited, saying so).
 */
export function resumedConfig(
  request: ResumeRequest,
): Effect.Effect<ExperimentConfig, ConfigInvalid> {
  return Effect.gen(function* () {
    const recordedFile = `${request.runDir}/config.json`;
    if (!pathExistsSync(recordedFile)) {
      return yield* new ConfigInvalid({
        path: "",
        source: `--resume ${request.runDir}`,
        detail: "not a run folder (it has no config.json); nothing to resume",
      });
    }
    const onFile = yield* resolveConfig({ configFile: recordedFile });
    const marker = readRunMarker(request.runDir);
    const recorded = marker?.config ?? onFile;
    const edited = configChanges(recorded, onFile);
    if (edited.length > 0) {
      return yield* new ConfigInvalid({
        path: edited[0]!.path,
        source: recordedFile,
        detail: `was edited after the run started (${describeChanges(edited)}); a run ` +
          "continues with the config it started with: undo the edit, or start a new run",
      });
    }
    const requested = yield* resolveConfig({
      configFile: request.configFile ?? recordedFile,
      overrides: request.overrides,
    });
    const changed = configChanges(recorded, requested).filter((c) =>
      !mayChangeOnResume(c.path, request.command)
    );
    if (changed.length > 0) {
      const from = request.configFile
        ? `--config ${request.configFile}`
        : `flag --${changed[0]!.path}`;
      return yield* new ConfigInvalid({
        path: changed[0]!.path,
        source: from,
        detail: `differs from the config the run started with (${describeChanges(changed)}); ` +
          "a resumed run keeps its recorded config (only --backend, --output.checkpointEvery, " +
          "--output.logEvery, --eval.split and, for a sweep, --sweep.* and --method.compare may change)",
      });
    }
    return requested;
  });
}
