/**
 * Checkpoints: one directory per saved step under `<runDir>/checkpoints/`, written into a
 * temporary directory (every file fsynced) and renamed into place, so a reader never sees a
 * half-written one. Tensors are stored as safetensors (the project's one tensor file format,
 * float32, so a resumed run is bit-identical); `manifest.json` lists each file's SHA-256, and
 * loading verifies them all, failing with {@link CheckpointCorrupt} naming the file. Only the
 * newest `keep` are kept.
 *
 * @module
 */
import { Effect } from "effect";
import { tf } from "../../backends/mod.ts";
import {
  IOFailed,
  MAX_CONFIG_JSON_BYTES,
  MAX_SAFETENSORS_BYTES,
  parseSafetensors,
  readFileChecked,
  readTextChecked,
  serializeSafetensors,
  sha256Hex,
  type TensorData,
} from "../io/mod.ts";
import { errorText } from "../io/errors.ts";
import { faultPoint } from "../io/fault.ts";
import { CheckpointCorrupt } from "./errors.ts";
import type { AdamWState } from "./optimizer.ts";
import type { Anchors } from "./proximal.ts";
import type { LisaState } from "./schedule.ts";

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

/** The checkpoint layout version written in `manifest.json`. */
export const CHECKPOINT_FORMAT = 2;

const TENSOR_FILES = [
  "weights.safetensors",
  "optimizer.safetensors",
  "anchors.safetensors",
  "method.safetensors",
] as const;
const FILES = [...TENSOR_FILES, "state.json"] as const;
type FileName = (typeof FILES)[number];
type TensorFile = (typeof TENSOR_FILES)[number];

/** The directory name of the checkpoint of `step`. */
export function checkpointName(step: number): string {
  return `step-${String(step).padStart(8, "0")}`;
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

/** Download named float32 tensors and serialise them as safetensors. */
async function encodeTensors(tensors: Record<string, tf.Tensor>): Promise<Uint8Array> {
  const out: Record<string, TensorData> = {};
  for (const [name, t] of Object.entries(tensors)) {
    if (t.dtype !== "float32") {
      throw new TypeError(
        `checkpoint tensor '${name}' has dtype ${t.dtype}; only float32 is saved`,
      );
    }
    const data = await t.data();
    out[name] = { shape: [...t.shape], data: Float32Array.from(data) };
  }
  return serializeSafetensors(out);
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
  const contents: Record<FileName, Uint8Array> = {
    "weights.safetensors": await encodeTensors(data.weights),
    "optimizer.safetensors": await encodeTensors(optTensors),
    "anchors.safetensors": await encodeTensors(data.anchors ?? {}),
    "method.safetensors": await encodeTensors(data.methodTensors),
    "state.json": new TextEncoder().encode(JSON.stringify(state, null, 2)),
  };
  Deno.mkdirSync(root, { recursive: true });
  removeIfPresent(tmp);
  Deno.mkdirSync(tmp);
  const manifest: Record<string, string> = {};
  for (const name of FILES) {
    writeSynced(`${tmp}/${name}`, contents[name]);
    faultPoint("checkpoint-write");
    manifest[name] = await sha256Hex(contents[name]);
  }
  writeSynced(
    `${tmp}/manifest.json`,
    new TextEncoder().encode(
      JSON.stringify({ format: CHECKPOINT_FORMAT, sha256: manifest }, null, 2),
    ),
  );
  faultPoint("checkpoint-rename");
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
): Effect.Effect<string, IOFailed> {
  return Effect.tryPromise({
    try: () => writeCheckpoint(runDir, data, keep),
    catch: (e) =>
      new IOFailed({
        path: `${runDir}/checkpoints`,
        operation: "write a checkpoint in",
        reason: errorText(e),
      }),
  });
}

/** A checkpoint read back: tensors are fresh (the caller owns and disposes them). */
export interface LoadedCheckpoint extends CheckpointData {
  /** The directory it was read from. */
  readonly dir: string;
}

type Decoded = Record<string, TensorData>;

/** Read every file, check its SHA-256 and parse it, before any tensor exists. */
async function readVerified(
  dir: string,
): Promise<{ state: unknown; tensors: Record<TensorFile, Decoded> }> {
  const bad = (file: string, reason: string) => new CheckpointCorrupt({ file, reason });
  let manifest: { format?: unknown; sha256?: Record<string, string> };
  try {
    manifest = JSON.parse(
      await readTextChecked(`${dir}/manifest.json`, {
        maxBytes: MAX_CONFIG_JSON_BYTES,
        what: "checkpoint manifest",
      }),
    );
  } catch (e) {
    throw bad(`${dir}/manifest.json`, `unreadable: ${errorText(e)}`);
  }
  if (manifest.format !== CHECKPOINT_FORMAT) {
    throw bad(
      `${dir}/manifest.json`,
      `checkpoint format ${JSON.stringify(manifest.format)}, this version reads format ` +
        `${CHECKPOINT_FORMAT} (written by another version of the tool)`,
    );
  }
  const bytes: Partial<Record<FileName, Uint8Array>> = {};
  for (const name of FILES) {
    const path = `${dir}/${name}`;
    const want = manifest.sha256?.[name];
    if (!want) throw bad(`${dir}/manifest.json`, `no checksum for ${name}`);
    let b: Uint8Array;
    try {
      b = await readFileChecked(path, { maxBytes: MAX_SAFETENSORS_BYTES, what: "checkpoint" });
    } catch (e) {
      throw bad(path, `unreadable: ${errorText(e)}`);
    }
    const got = await sha256Hex(b);
    if (got !== want) throw bad(path, `SHA-256 ${got} does not match the manifest's ${want}`);
    bytes[name] = b;
  }
  const decode = (name: TensorFile): Decoded => {
    const path = `${dir}/${name}`;
    try {
      return Object.fromEntries(parseSafetensors(bytes[name]!, path).tensors);
    } catch (e) {
      throw bad(path, errorText(e));
    }
  };
  const tensors = {
    "weights.safetensors": decode("weights.safetensors"),
    "optimizer.safetensors": decode("optimizer.safetensors"),
    "anchors.safetensors": decode("anchors.safetensors"),
    "method.safetensors": decode("method.safetensors"),
  };
  let state: unknown;
  try {
    state = JSON.parse(new TextDecoder().decode(bytes["state.json"]!));
  } catch (e) {
    throw bad(`${dir}/state.json`, `not valid JSON: ${errorText(e)}`);
  }
  return { state, tensors };
}

const toTensors = (d: Decoded): Record<string, tf.Tensor> =>
  Object.fromEntries(Object.entries(d).map(([k, t]) => [k, tf.tensor(t.data, [...t.shape])]));

interface SavedState {
  readonly step: number;
  readonly state: LisaState;
  readonly optimizerStep: number;
  readonly hasAnchors: boolean;
  readonly rng: unknown;
  readonly cursors: unknown;
  readonly meta: unknown;
}

function isSavedState(x: unknown): x is SavedState {
  if (typeof x !== "object" || x === null) return false;
  const o: Record<string, unknown> = { ...x };
  return Number.isInteger(o.step) && (o.state === "alignment" || o.state === "finetune") &&
    Number.isInteger(o.optimizerStep) && typeof o.hasAnchors === "boolean";
}

/**
 * Read and verify the checkpoint in `dir`. Fails with {@link CheckpointCorrupt} naming the
 * first file that is missing, unreadable, malformed or whose SHA-256 differs from the manifest;
 * no tensor is created unless every file checks out.
 */
export function loadCheckpoint(dir: string): Effect.Effect<LoadedCheckpoint, CheckpointCorrupt> {
  return Effect.gen(function* () {
    const { state, tensors } = yield* Effect.tryPromise({
      try: () => readVerified(dir),
      catch: (e) =>
        e instanceof CheckpointCorrupt
          ? e
          : new CheckpointCorrupt({ file: dir, reason: errorText(e) }),
    });
    if (!isSavedState(state)) {
      return yield* new CheckpointCorrupt({
        file: `${dir}/state.json`,
        reason: "expected step, state, optimizerStep and hasAnchors",
      });
    }
    const opt = tensors["optimizer.safetensors"];
    const m: Decoded = {};
    const v: Decoded = {};
    for (const [k, t] of Object.entries(opt)) {
      if (k.startsWith("m.")) m[k.slice(2)] = t;
      else v[k.slice(2)] = t;
    }
    return {
      dir,
      step: state.step,
      state: state.state,
      weights: toTensors(tensors["weights.safetensors"]),
      optimizer: { step: state.optimizerStep, m: toTensors(m), v: toTensors(v) },
      anchors: state.hasAnchors ? toTensors(tensors["anchors.safetensors"]) : null,
      methodTensors: toTensors(tensors["method.safetensors"]),
      rng: state.rng,
      cursors: state.cursors,
      meta: state.meta,
    };
  });
}

/**
 * The newest checkpoint of `runDir` that passes its checks, or null when the run has none. A
 * newest checkpoint that fails (a damaged file, a checksum mismatch) is skipped with
 * `warn(reason)` and the one before it is used: a run keeps two for this. Fails with the newest
 * checkpoint's {@link CheckpointCorrupt} only when every checkpoint fails.
 */
export function loadNewestIntact(
  runDir: string,
  warn: (message: string) => void,
): Effect.Effect<LoadedCheckpoint | null, CheckpointCorrupt> {
  return Effect.gen(function* () {
    const all = listCheckpoints(runDir).reverse();
    let newestError: CheckpointCorrupt | null = null;
    for (const [i, dir] of all.entries()) {
      const loaded = yield* Effect.result(loadCheckpoint(dir));
      if (loaded._tag === "Success") return loaded.success;
      newestError ??= loaded.failure;
      const older = all[i + 1];
      warn(
        `checkpoint ${dir} failed its check (${loaded.failure.message})` +
          (older ? `; resuming from the previous one, ${older}` : ""),
      );
    }
    if (newestError) return yield* Effect.fail(newestError);
    return null;
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
