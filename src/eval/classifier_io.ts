/**
 * Saving and loading a moderation classifier: a folder holding `model.safetensors` (the
 * safetensors layout: an 8-byte little-endian header length, a JSON header naming each
 * tensor's dtype, shape and byte range, then the raw little-endian float32 data) and
 * `config.json` (the {@link ModerationConfig}, the SHA-256 of the tensor data, and optionally
 * the held-out report). Loading checks the header, the shapes against the config, and the
 * checksum, and names the file and field when anything is off. Writes are atomic.
 *
 * @module
 */
import { Data, Effect } from "effect";
import { writeFileAtomic } from "../io/atomic.ts";
import { sha256Hex } from "../io/hash.ts";
import { SafetensorsInvalid } from "../io/errors.ts";
import { parseSafetensors, type Safetensors, serializeSafetensors } from "../io/safetensors.ts";
import { attemptIO } from "../io/fs.ts";
import type { IOFailed } from "../io/errors.ts";
import {
  MAX_CONFIG_JSON_BYTES,
  MAX_SAFETENSORS_BYTES,
  readFileChecked,
  readTextChecked,
} from "../io/read.ts";
import {
  type ModerationClassifier,
  type ModerationConfig,
  type ModerationWeights,
  weightShapes,
} from "./classifier.ts";
import type { ModerationMetrics } from "./classifier_train.ts";

/** The weights file inside a classifier folder. */
export const WEIGHTS_FILE = "model.safetensors";
/** The config file inside a classifier folder. */
export const CONFIG_FILE = "config.json";

const NAMES: readonly (keyof ModerationWeights)[] = ["w1", "b1", "w2", "b2"];

/** A saved classifier is unreadable, inconsistent or fails its checksum. */
export class ClassifierCorrupt extends Data.TaggedError("ClassifierCorrupt")<{
  readonly file: string;
  readonly field: string;
  readonly expected: string;
  readonly found: string;
}> {
  /** One line: file, field, expected and found. */
  override get message(): string {
    return `${this.file}: '${this.field}' expected ${this.expected}, found ${this.found}`;
  }
}

/** What `config.json` holds. */
export interface SavedModerationConfig extends ModerationConfig {
  /** Format tag. */
  readonly format: "lisa-moderation-classifier/1";
  /** Hex SHA-256 of the tensor data section of the weights file. */
  readonly sha256: string;
  /** Held-out metrics at training time, when known. */
  readonly holdout?: ModerationMetrics;
}

/** The data section of a safetensors file (what the checksum covers). */
function dataSection(file: Uint8Array): Uint8Array {
  const headLen = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  return file.subarray(8 + headLen);
}

/**
 * Encode weights with the project's safetensors writer, in the layout the saved judges have
 * always had (w1, b1, w2, b2); returns the file bytes and the data section.
 */
export function encodeSafetensors(
  config: ModerationConfig,
  weights: ModerationWeights,
): { file: Uint8Array; data: Uint8Array } {
  const shapes = weightShapes(config);
  const tensors = Object.fromEntries(
    NAMES.map((n) => [n, { shape: shapes[n], data: weights[n] }]),
  );
  const file = serializeSafetensors(tensors, { format: "pt" }, NAMES);
  return { file, data: dataSection(file) };
}

/**
 * Save a classifier (and optionally its held-out report) into `dir`, creating it.
 *
 * @example
 * ```ts
 * await Effect.runPromise(saveModerationClassifier("judge/", trained.classifier, trained.holdout));
 * ```
 */
export function saveModerationClassifier(
  dir: string,
  model: ModerationClassifier,
  holdout?: ModerationMetrics,
): Effect.Effect<void, IOFailed> {
  return attemptIO(dir, "save the classifier to", async () => {
    await Deno.mkdir(dir, { recursive: true });
    const { file, data } = encodeSafetensors(model.config, model.weights);
    const saved: SavedModerationConfig = {
      format: "lisa-moderation-classifier/1",
      featureDim: model.config.featureDim,
      hidden: model.config.hidden,
      categories: [...model.config.categories],
      threshold: model.config.threshold,
      sha256: await sha256Hex(data),
      ...(holdout ? { holdout } : {}),
    };
    await writeFileAtomic(`${dir}/${WEIGHTS_FILE}`, file);
    await writeFileAtomic(`${dir}/${CONFIG_FILE}`, JSON.stringify(saved, null, 2) + "\n");
  });
}

function parseConfig(text: string, file: string): SavedModerationConfig | ClassifierCorrupt {
  const bad = (field: string, expected: string, found: unknown) =>
    new ClassifierCorrupt({ file, field, expected, found: JSON.stringify(found) ?? "nothing" });
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(text);
  } catch (e) {
    return bad("(file)", "valid JSON", e instanceof Error ? e.message : String(e));
  }
  if (c.format !== "lisa-moderation-classifier/1") {
    return bad("format", "'lisa-moderation-classifier/1'", c.format);
  }
  for (const k of ["featureDim", "hidden"] as const) {
    if (!Number.isInteger(c[k]) || (c[k] as number) < 1) return bad(k, "a positive integer", c[k]);
  }
  if (typeof c.threshold !== "number") return bad("threshold", "a number", c.threshold);
  if (!Array.isArray(c.categories) || !c.categories.every((x) => typeof x === "string")) {
    return bad("categories", "an array of strings", c.categories);
  }
  if (typeof c.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(c.sha256)) {
    return bad("sha256", "64 hex digits", c.sha256);
  }
  return c as unknown as SavedModerationConfig;
}

function decodeSafetensors(
  bytes: Uint8Array,
  config: ModerationConfig,
  file: string,
): { weights: ModerationWeights; data: Uint8Array } | ClassifierCorrupt {
  const bad = (field: string, expected: string, found: string) =>
    new ClassifierCorrupt({ file, field, expected, found });
  let parsed: Safetensors;
  try {
    parsed = parseSafetensors(bytes, file);
  } catch (e) {
    return e instanceof SafetensorsInvalid
      ? bad(e.tensor ?? "(header)", e.expected ?? "a valid safetensors file", e.detail)
      : bad("(file)", "a valid safetensors file", e instanceof Error ? e.message : String(e));
  }
  const shapes = weightShapes(config);
  const take = (name: keyof ModerationWeights): Float32Array | ClassifierCorrupt => {
    const t = parsed.tensors.get(name);
    if (!t) return bad(name, "a tensor entry", "none");
    if (t.dtype !== "F32") return bad(`${name}.dtype`, "F32", JSON.stringify(t.dtype));
    if (JSON.stringify(t.shape) !== JSON.stringify(shapes[name])) {
      return bad(`${name}.shape`, JSON.stringify(shapes[name]), JSON.stringify(t.shape));
    }
    return t.data;
  };
  const w1 = take("w1");
  if (w1 instanceof ClassifierCorrupt) return w1;
  const b1 = take("b1");
  if (b1 instanceof ClassifierCorrupt) return b1;
  const w2 = take("w2");
  if (w2 instanceof ClassifierCorrupt) return w2;
  const b2 = take("b2");
  if (b2 instanceof ClassifierCorrupt) return b2;
  return { weights: { w1, b1, w2, b2 }, data: dataSection(bytes) };
}

/**
 * Load a classifier saved by {@link saveModerationClassifier}, verifying shapes and checksum.
 *
 * @example
 * ```ts
 * const model = await Effect.runPromise(loadModerationClassifier("judge/"));
 * ```
 */
export function loadModerationClassifier(
  dir: string,
): Effect.Effect<
  ModerationClassifier & { readonly holdout?: ModerationMetrics },
  ClassifierCorrupt
> {
  const configPath = `${dir}/${CONFIG_FILE}`;
  const weightsPath = `${dir}/${WEIGHTS_FILE}`;
  const read = <A>(path: string, f: () => Promise<A>) =>
    Effect.tryPromise({
      try: f,
      catch: (e) =>
        new ClassifierCorrupt({
          file: path,
          field: "(file)",
          expected: "a readable file",
          found: e instanceof Error ? e.message : String(e),
        }),
    });
  return Effect.gen(function* () {
    const text = yield* read(
      configPath,
      () => readTextChecked(configPath, { maxBytes: MAX_CONFIG_JSON_BYTES, what: "judge config" }),
    );
    const saved = parseConfig(text, configPath);
    if (saved instanceof ClassifierCorrupt) return yield* saved;
    const bytes = yield* read(
      weightsPath,
      () =>
        readFileChecked(weightsPath, { maxBytes: MAX_SAFETENSORS_BYTES, what: "judge weights" }),
    );
    const decoded = decodeSafetensors(bytes, saved, weightsPath);
    if (decoded instanceof ClassifierCorrupt) return yield* decoded;
    // A checksum of bytes in memory: cannot fail.
    const sum = yield* Effect.promise(() => sha256Hex(decoded.data));
    if (sum !== saved.sha256) {
      return yield* new ClassifierCorrupt({
        file: weightsPath,
        field: "sha256",
        expected: saved.sha256,
        found: sum,
      });
    }
    const config: ModerationConfig = {
      featureDim: saved.featureDim,
      hidden: saved.hidden,
      categories: saved.categories,
      threshold: saved.threshold,
    };
    return {
      config,
      weights: decoded.weights,
      ...(saved.holdout ? { holdout: saved.holdout } : {}),
    };
  });
}
