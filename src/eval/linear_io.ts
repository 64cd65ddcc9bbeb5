/**
 * Saving and loading a TF-IDF judge (`linear_judge.ts`): a folder with
 *
 * - `model.safetensors`: `block<i>.idf` `[V_i]`, `harmful.coef` `[D]`, `harmful.intercept` `[1]`,
 *   and with category heads `categories.coef` `[H, D]`, `categories.intercept` `[H]` (float32);
 * - `vocabulary.json`: the terms of each block, in column order;
 * - `config.json`: the format tag, the judge kind, the spec, the threshold, the category names,
 *   the SHA-256 of both files above, and how the judge was trained and measured.
 *
 * Loading checks the format, every shape against the spec and vocabulary, and both checksums,
 * and names the file and field when anything is off. Writes are atomic.
 *
 * @module
 */
import { Effect } from "effect";
import { attemptIO } from "../io/fs.ts";
import type { IOFailed } from "../io/errors.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { parseSafetensors, serializeSafetensors, type TensorData } from "../io/safetensors.ts";
import { sha256Hex } from "../io/hash.ts";
import { ClassifierCorrupt } from "./classifier_io.ts";
import type { JudgeMeasurement } from "./judge_card.ts";
import type { LinearHead, LinearJudgeModel, LinearJudgeSpec } from "./linear_judge.ts";
import type { TfidfBlock } from "./tfidf.ts";

/** The format tag of a TF-IDF judge folder. */
export const LINEAR_FORMAT = "lisa-tfidf-judge/1";
/** Weights file. */
export const LINEAR_WEIGHTS_FILE = "model.safetensors";
/** Vocabulary file. */
export const LINEAR_VOCAB_FILE = "vocabulary.json";
/** Config file. */
export const LINEAR_CONFIG_FILE = "config.json";

/** Which judge type a saved TF-IDF model presents as. */
export type LinearKind = "tfidf" | "classifier";

/** Where a judge's training rows came from. */
export interface TrainingProvenance {
  /** The labelled files. */
  readonly files: readonly string[];
  /** Rows trained on. */
  readonly rows: number;
  /** Harmful rows among them. */
  readonly harmful: number;
  /** Seed of the split and calibration folds. */
  readonly seed: number;
}

/** What `config.json` holds. */
export interface SavedLinearConfig {
  /** Format tag. */
  readonly format: typeof LINEAR_FORMAT;
  /** The judge type. */
  readonly kind: LinearKind;
  /** How it was built. */
  readonly spec: LinearJudgeSpec;
  /** Decision threshold on P(harmful). */
  readonly threshold: number;
  /** Category head names, in `categories.coef` row order. */
  readonly categories: readonly string[];
  /** SHA-256 of `model.safetensors`. */
  readonly weightsSha256: string;
  /** SHA-256 of `vocabulary.json`. */
  readonly vocabularySha256: string;
  /** The training rows. */
  readonly trainedOn?: TrainingProvenance;
  /** The held-out measurement made at training time, when any. */
  readonly measured?: JudgeMeasurement;
}

/** A loaded TF-IDF judge with what its folder says about it. */
export interface LoadedLinearJudge {
  /** The model. */
  readonly model: LinearJudgeModel;
  /** The saved config (kind, checksums, provenance, measurement). */
  readonly saved: SavedLinearConfig;
}

const f32 = (a: ArrayLike<number>) => Float32Array.from(a);

function tensors(model: LinearJudgeModel): Record<string, TensorData> {
  const out: Record<string, TensorData> = {};
  model.blocks.forEach((
    b,
    i,
  ) => (out[`block${i}.idf`] = { shape: [b.idf.length], data: f32(b.idf) }));
  const D = model.harmful.coef.length;
  out["harmful.coef"] = { shape: [D], data: f32(model.harmful.coef) };
  out["harmful.intercept"] = { shape: [1], data: f32([model.harmful.intercept]) };
  const H = model.categories.length;
  if (H > 0) {
    const coef = new Float32Array(H * D);
    model.categories.forEach((c, h) => coef.set(c.head.coef, h * D));
    out["categories.coef"] = { shape: [H, D], data: coef };
    out["categories.intercept"] = {
      shape: [H],
      data: f32(model.categories.map((c) => c.head.intercept)),
    };
  }
  return out;
}

/**
 * Save a TF-IDF judge into `dir` (created). Returns the saved config.
 *
 * @example
 * ```ts
 * await Effect.runPromise(saveLinearJudge("runs/j/judge", model, "classifier", { trainedOn }));
 * ```
 */
export function saveLinearJudge(
  dir: string,
  model: LinearJudgeModel,
  kind: LinearKind,
  extra: { readonly trainedOn?: TrainingProvenance; readonly measured?: JudgeMeasurement } = {},
): Effect.Effect<SavedLinearConfig, IOFailed> {
  return attemptIO(dir, "save the judge to", async () => {
    await Deno.mkdir(dir, { recursive: true });
    const weights = serializeSafetensors(tensors(model), { format: LINEAR_FORMAT });
    const vocab = new TextEncoder().encode(
      JSON.stringify(model.blocks.map((b) => b.vocabulary)) + "\n",
    );
    const saved: SavedLinearConfig = {
      format: LINEAR_FORMAT,
      kind,
      spec: model.spec,
      threshold: model.threshold,
      categories: model.categories.map((c) => c.name),
      weightsSha256: await sha256Hex(weights),
      vocabularySha256: await sha256Hex(vocab),
      ...(extra.trainedOn ? { trainedOn: extra.trainedOn } : {}),
      ...(extra.measured ? { measured: extra.measured } : {}),
    };
    await writeFileAtomic(`${dir}/${LINEAR_WEIGHTS_FILE}`, weights);
    await writeFileAtomic(`${dir}/${LINEAR_VOCAB_FILE}`, vocab);
    await writeFileAtomic(`${dir}/${LINEAR_CONFIG_FILE}`, JSON.stringify(saved, null, 2) + "\n");
    return saved;
  });
}

function corrupt(file: string, field: string, expected: string, found: string) {
  return new ClassifierCorrupt({ file, field, expected, found });
}

const BLOCK_KEYS: readonly (keyof TfidfBlock)[] = [
  "field",
  "analyzer",
  "ngramMin",
  "ngramMax",
  "sublinearTf",
  "minDf",
];

function checkConfig(c: Record<string, unknown>, file: string): ClassifierCorrupt | null {
  const bad = (field: string, expected: string, found: unknown) =>
    corrupt(file, field, expected, JSON.stringify(found) ?? "nothing");
  if (c.format !== LINEAR_FORMAT) return bad("format", `'${LINEAR_FORMAT}'`, c.format);
  if (c.kind !== "tfidf" && c.kind !== "classifier") {
    return bad("kind", "'tfidf' or 'classifier'", c.kind);
  }
  if (typeof c.threshold !== "number" || !(c.threshold >= 0 && c.threshold <= 1)) {
    return bad("threshold", "a number in [0, 1]", c.threshold);
  }
  if (!Array.isArray(c.categories) || !c.categories.every((x) => typeof x === "string")) {
    return bad("categories", "an array of strings", c.categories);
  }
  for (const k of ["weightsSha256", "vocabularySha256"]) {
    if (typeof c[k] !== "string" || !/^[0-9a-f]{64}$/.test(c[k] as string)) {
      return bad(k, "64 hex digits", c[k]);
    }
  }
  const spec = c.spec as Record<string, unknown> | undefined;
  if (typeof spec !== "object" || spec === null || !Array.isArray(spec.blocks)) {
    return bad("spec.blocks", "an array of feature blocks", spec?.blocks);
  }
  for (const [i, b] of (spec.blocks as Record<string, unknown>[]).entries()) {
    const missing = BLOCK_KEYS.find((k) => b?.[k] === undefined);
    if (missing) return bad(`spec.blocks[${i}].${missing}`, "a value", undefined);
    if (b.analyzer !== "word" && b.analyzer !== "char_wb") {
      return bad(`spec.blocks[${i}].analyzer`, "'word' or 'char_wb'", b.analyzer);
    }
    if (!["conversation", "prompt", "response"].includes(b.field as string)) {
      return bad(`spec.blocks[${i}].field`, "'conversation', 'prompt' or 'response'", b.field);
    }
  }
  return null;
}

function head(coef: Float32Array, intercept: number): LinearHead {
  return { coef: Float64Array.from(coef), intercept };
}

/**
 * Load a TF-IDF judge saved by {@link saveLinearJudge}, verifying checksums and shapes.
 *
 * @example
 * ```ts
 * const { model, saved } = await Effect.runPromise(loadLinearJudge("runs/j/judge"));
 * ```
 */
export function loadLinearJudge(dir: string): Effect.Effect<LoadedLinearJudge, ClassifierCorrupt> {
  const configPath = `${dir}/${LINEAR_CONFIG_FILE}`;
  const weightsPath = `${dir}/${LINEAR_WEIGHTS_FILE}`;
  const vocabPath = `${dir}/${LINEAR_VOCAB_FILE}`;
  return Effect.tryPromise({
    try: async () => {
      const read = async (path: string) => {
        try {
          return await Deno.readFile(path);
        } catch (e) {
          throw corrupt(
            path,
            "(file)",
            "a readable file",
            e instanceof Error ? e.message : String(e),
          );
        }
      };
      let config: Record<string, unknown>;
      try {
        config = JSON.parse(new TextDecoder().decode(await read(configPath)));
      } catch (e) {
        if (e instanceof ClassifierCorrupt) throw e;
        throw corrupt(
          configPath,
          "(file)",
          "valid JSON",
          e instanceof Error ? e.message : String(e),
        );
      }
      const invalid = checkConfig(config, configPath);
      if (invalid) throw invalid;
      const saved = config as unknown as SavedLinearConfig;
      const weightBytes = await read(weightsPath);
      const vocabBytes = await read(vocabPath);
      const wsum = await sha256Hex(weightBytes);
      if (wsum !== saved.weightsSha256) {
        throw corrupt(weightsPath, "sha256", saved.weightsSha256, wsum);
      }
      const vsum = await sha256Hex(vocabBytes);
      if (vsum !== saved.vocabularySha256) {
        throw corrupt(vocabPath, "sha256", saved.vocabularySha256, vsum);
      }
      const vocabularies = JSON.parse(new TextDecoder().decode(vocabBytes)) as string[][];
      const st = parseSafetensors(weightBytes, weightsPath);
      const tensor = (name: string, shape: readonly number[]) => {
        const t = st.tensors.get(name);
        if (!t) throw corrupt(weightsPath, name, "a tensor entry", "none");
        if (JSON.stringify(t.shape) !== JSON.stringify(shape)) {
          throw corrupt(
            weightsPath,
            `${name}.shape`,
            JSON.stringify(shape),
            JSON.stringify(t.shape),
          );
        }
        return t.data;
      };
      const blocks = saved.spec.blocks.map((block, i) => {
        const vocabulary = vocabularies[i];
        if (!Array.isArray(vocabulary)) {
          throw corrupt(vocabPath, `[${i}]`, "the block's term list", "nothing");
        }
        return {
          block,
          vocabulary,
          idf: Float64Array.from(tensor(`block${i}.idf`, [vocabulary.length])),
        };
      });
      const D = blocks.reduce((s, b) => s + b.vocabulary.length, 0);
      const H = saved.categories.length;
      const harmful = head(tensor("harmful.coef", [D]), tensor("harmful.intercept", [1])[0]!);
      const categories = H === 0 ? [] : (() => {
        const coef = tensor("categories.coef", [H, D]);
        const icpt = tensor("categories.intercept", [H]);
        return saved.categories.map((name, h) => ({
          name,
          head: head(coef.subarray(h * D, (h + 1) * D), icpt[h]!),
        }));
      })();
      return {
        model: { spec: saved.spec, blocks, harmful, categories, threshold: saved.threshold },
        saved,
      };
    },
    catch: (e) =>
      e instanceof ClassifierCorrupt ? e : corrupt(
        dir,
        "(folder)",
        "a TF-IDF judge folder",
        e instanceof Error ? e.message : String(e),
      ),
  });
}
