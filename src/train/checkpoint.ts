/**
 * Checkpoints: one directory per saved step under `<runDir>/checkpoints/`, written into a
 * temporary directory (every file fsynced) and renamed into place, so a reader never sees a
 * half-written one. `manifest.json` lists each file's SHA-256; loading verifies them all and
 * fails with {@link CheckpointCorrupt} naming the file. Only the newest `keep` are kept.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { Effect } from "effect";
import type { tf } from "../../backends/mod.ts";
import {
  MAX_CONFIG_JSON_BYTES,
  MAX_SAFETENSORS_BYTES,
  readFileCheckedSync,
  readTextCheckedSync,
} from "../io/read.ts";
import { CheckpointCorrupt, TrainIOError } from "./errors.ts";
import type { AdamWState } from "./optimizer.ts";
import type { Anchors } from "./proximal.ts";
import type { LisaState } from "./schedule.ts";
import { decodeTensors, encodeTensors } from "./tensor_file.ts";

/** Everything needed to continue a run exactly. Tensors are read, never disposed, on save. */
export interface CheckpointData {
  /** The next step to run (= steps completed). */
  readonly step: number;
  /** The state of the last completed step. */
  readonly state: LisaState;
  /** Trainable weights by name. */
  readonly weights: Record<string, tf.Tensor>;
  /** The shared AdamW's step and moments. */
  readonly optimizer: AdamWState;
  /** Weights where the current state began (null before the first step). */
  readonly anchors: Anchors | null;
  /** Method tensors (EWC's Fisher and w0). */
  readonly methodTensors: Record<string, tf.Tensor>;
  /** RNG state of the problem (dropout etc.), opaque JSON. */
  readonly rng: unknown;
  /** Data cursors, opaque JSON. */
  readonly cursors: unknown;
  /** Anything else worth recording (the resolved config), opaque JSON. */
  readonly meta?: unknown;
}

const FILES = ["weights.bin", "optimizer.bin", "anchors.bin", "method.bin", "state.json"] as const;

/** The directory name of the checkpoint of `step`. */
export function checkpointName(step: number): string {
  return `step-${String(step).padStart(8, "0")}`;
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function writeSynced(path: string, bytes: Uint8Array): void {
  const f = Deno.openSync(path, { write: true, create: true, truncate: true });
  try {
    let n = 0;
    while (n < bytes.byteLength) n += f.writeSync(bytes.subarray(n));
    f.syncSync();
  } finally {
    f.close();
  }
}

/** Checkpoint directories of a run, oldest first. */
export function listCheckpoints(runDir: string): string[] {
  const dir = `${runDir}/checkpoints`;
  try {
    return [...Deno.readDirSync(dir)]
      .filter((e) => e.isDirectory && /^step-\d{8}$/.test(e.name))
      .map((e) => e.name)
      .sort()
      .map((name) => `${dir}/${name}`);
  } catch {
    return [];
  }
}

/** The newest checkpoint directory of a run, or null. */
export function latestCheckpoint(runDir: string): string | null {
  return listCheckpoints(runDir).at(-1) ?? null;
}

function removeIfPresent(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

async function writeCheckpoint(
  runDir: string,
  data: CheckpointData,
  keep: number,
): Promise<string> {
  const root = `${runDir}/checkpoints`;
  const final = `${root}/${checkpointName(data.step)}`;
  const tmp = `${root}/.tmp-${checkpointName(data.step)}`;
  const opt = data.optimizer;
  const optTensors: Record<string, tf.Tensor> = {};
  for (const [k, t] of Object.entries(opt.m)) optTensors[`m.${k}`] = t;
  for (const [k, t] of Object.entries(opt.v)) optTensors[`v.${k}`] = t;
  const state = {
    step: data.step,
    state: data.state,
    optimizerStep: opt.step,
    hasAnchors: data.anchors !== null,
    rng: data.rng ?? null,
    cursors: data.cursors ?? null,
    meta: data.meta ?? null,
  };
  const contents: Record<(typeof FILES)[number], Uint8Array> = {
    "weights.bin": await encodeTensors(data.weights),
    "optimizer.bin": await encodeTensors(optTensors),
    "anchors.bin": await encodeTensors(data.anchors ?? {}),
    "method.bin": await encodeTensors(data.methodTensors),
    "state.json": new TextEncoder().encode(JSON.stringify(state, null, 2)),
  };
  Deno.mkdirSync(root, { recursive: true });
  removeIfPresent(tmp);
  Deno.mkdirSync(tmp);
  const manifest: Record<string, string> = {};
  for (const name of FILES) {
    writeSynced(`${tmp}/${name}`, contents[name]);
    manifest[name] = sha256(contents[name]);
  }
  writeSynced(
    `${tmp}/manifest.json`,
    new TextEncoder().encode(JSON.stringify({ format: 1, sha256: manifest }, null, 2)),
  );
  removeIfPresent(final); // only a re-save of the same step (after a resume) gets here
  Deno.renameSync(tmp, final);
  const all = listCheckpoints(runDir);
  for (const old of all.slice(0, Math.max(0, all.length - Math.max(1, keep)))) {
    removeIfPresent(old);
  }
  return final;
}

/**
 * Write `data` as the checkpoint of `data.step` under `runDir`, then drop all but the newest
 * `keep` (default 2). Returns the checkpoint's directory.
 */
export function saveCheckpoint(
  runDir: string,
  data: CheckpointData,
  keep = 2,
): Effect.Effect<string, TrainIOError> {
  return Effect.tryPromise({
    try: () => writeCheckpoint(runDir, data, keep),
    catch: (e) => new TrainIOError({ path: `${runDir}/checkpoints`, cause: String(e) }),
  });
}

/** A checkpoint read back: tensors are fresh (the caller owns and disposes them). */
export interface LoadedCheckpoint extends CheckpointData {
  /** The directory it was read from. */
  readonly dir: string;
}

function readVerified(dir: string): LoadedCheckpoint {
  const bad = (file: string, reason: string) => new CheckpointCorrupt({ file, reason });
  let manifest: { sha256?: Record<string, string> };
  try {
    manifest = JSON.parse(
      readTextCheckedSync(`${dir}/manifest.json`, {
        maxBytes: MAX_CONFIG_JSON_BYTES,
        what: "checkpoint manifest",
      }),
    );
  } catch (e) {
    throw bad(`${dir}/manifest.json`, `unreadable: ${e instanceof Error ? e.message : e}`);
  }
  const bytes: Record<string, Uint8Array> = {};
  for (const name of FILES) {
    const path = `${dir}/${name}`;
    const want = manifest.sha256?.[name];
    if (!want) throw bad(`${dir}/manifest.json`, `no checksum for ${name}`);
    let b: Uint8Array;
    try {
      b = readFileCheckedSync(path, { maxBytes: MAX_SAFETENSORS_BYTES, what: "checkpoint" });
    } catch (e) {
      throw bad(path, `unreadable: ${e instanceof Error ? e.message : e}`);
    }
    const got = sha256(b);
    if (got !== want) throw bad(path, `SHA-256 ${got} does not match the manifest's ${want}`);
    bytes[name] = b;
  }
  const decode = (name: string) => {
    try {
      return decodeTensors(bytes[name]!);
    } catch (e) {
      throw bad(`${dir}/${name}`, e instanceof Error ? e.message : String(e));
    }
  };
  const state = JSON.parse(new TextDecoder().decode(bytes["state.json"]!));
  const opt = decode("optimizer.bin");
  const m: Record<string, tf.Tensor> = {};
  const v: Record<string, tf.Tensor> = {};
  for (const [k, t] of Object.entries(opt)) {
    if (k.startsWith("m.")) m[k.slice(2)] = t;
    else v[k.slice(2)] = t;
  }
  const anchors = decode("anchors.bin");
  return {
    dir,
    step: state.step,
    state: state.state,
    weights: decode("weights.bin"),
    optimizer: { step: state.optimizerStep, m, v },
    anchors: state.hasAnchors ? anchors : null,
    methodTensors: decode("method.bin"),
    rng: state.rng,
    cursors: state.cursors,
    meta: state.meta,
  };
}

/**
 * Read and verify the checkpoint in `dir`. Fails with {@link CheckpointCorrupt} naming the
 * first file that is missing, unreadable or whose SHA-256 differs from the manifest.
 */
export function loadCheckpoint(dir: string): Effect.Effect<LoadedCheckpoint, CheckpointCorrupt> {
  return Effect.try({
    try: () => readVerified(dir),
    catch: (e) =>
      e instanceof CheckpointCorrupt ? e : new CheckpointCorrupt({ file: dir, reason: String(e) }),
  });
}

/** Dispose every tensor of a loaded checkpoint (after its values were assigned). */
export function disposeCheckpoint(c: CheckpointData): void {
  const all = [
    ...Object.values(c.weights),
    ...Object.values(c.optimizer.m),
    ...Object.values(c.optimizer.v),
    ...Object.values(c.anchors ?? {}),
    ...Object.values(c.methodTensors),
  ];
  for (const t of all) t.dispose();
}
