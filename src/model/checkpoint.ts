/**
 * Model folders in the Hugging Face layout: `config.json` plus `model.safetensors`, or
 * shards listed by `model.safetensors.index.json` on load.
 *
 * @module
 */
import { tf } from "../../backends/mod.ts";
import {
  findNonFinite,
  pathExistsSync,
  readJsonChecked,
  readSafetensors,
  type TensorData,
  writeFileAtomic,
  writeSafetensors,
} from "../io/mod.ts";
import { type ModelConfig, parseModelConfig, toHfConfig } from "./config.ts";
import { ModelWeightsInvalid } from "./errors.ts";
import { type Params, paramShapes } from "./params.ts";

/** A loaded model: its config and weights. */
export interface LoadedModel {
  /** The model's architecture. */
  readonly config: ModelConfig;
  /** Its weights by Hugging Face name. */
  readonly params: Params;
}

/**
 * Read and parse `<dir>/config.json` (a regular file of at most 16 MiB).
 *
 * @throws {FileInvalid} when the file is missing, not a regular file, too large or not JSON
 * @throws {ModelConfigInvalid} naming the field that is wrong
 */
export async function loadModelConfig(dir: string): Promise<ModelConfig> {
  const file = `${dir}/config.json`;
  return parseModelConfig(await readJsonChecked(file, { what: "model config" }), file);
}

/**
 * The largest safetensors file a model folder may hold: twice the model's weights at F32 plus
 * 64 MiB (room for a duplicated tied embedding and small extra tensors). A larger file cannot
 * be this model's and is refused before it is read.
 */
export function maxWeightFileBytes(c: ModelConfig): number {
  let elements = 0;
  for (const shape of paramShapes(c).values()) elements += shape.reduce((a, b) => a * b, 1);
  return 2 * 4 * elements + 64 * 2 ** 20;
}

/** The safetensors files of a folder: the single file, or the shards of the index. */
async function weightFiles(dir: string): Promise<string[]> {
  if (pathExistsSync(`${dir}/model.safetensors`)) return [`${dir}/model.safetensors`];
  const indexFile = `${dir}/model.safetensors.index.json`;
  if (!pathExistsSync(indexFile)) {
    throw new ModelWeightsInvalid({
      file: dir,
      tensor: "<all>",
      expected: "model.safetensors or model.safetensors.index.json",
      found: "neither",
    });
  }
  const index = await readJsonChecked(indexFile, { what: "shard index" });
  const map = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== "object" || map === null) {
    throw new ModelWeightsInvalid({
      file: indexFile,
      tensor: "<index>",
      expected: "a weight_map object",
      found: JSON.stringify(map),
    });
  }
  const shards = [...new Set(Object.values(map as Record<string, unknown>))].sort();
  for (const f of shards) {
    if (typeof f !== "string" || f.includes("/") || f.includes("\\") || f.startsWith(".")) {
      throw new ModelWeightsInvalid({
        file: indexFile,
        tensor: "<index>",
        expected: "shard file names inside the folder",
        found: JSON.stringify(f),
      });
    }
  }
  return shards.map((f) => `${dir}/${f}`);
}

/**
 * Load a model folder. Tensors the config does not need (e.g. rotary caches) are ignored; a
 * missing tensor, a shape mismatch or a non-finite value (NaN, infinity) is a
 * {@link ModelWeightsInvalid} naming the tensor. `known` skips re-reading `config.json`.
 *
 * @throws {FileInvalid} for a file that is not a regular file or is larger than the model
 */
export async function loadModel(dir: string, known?: ModelConfig): Promise<LoadedModel> {
  const config = known ?? await loadModelConfig(dir);
  const shapes = paramShapes(config);
  const maxBytes = maxWeightFileBytes(config);
  const found = new Map<string, { data: TensorData; file: string }>();
  for (const file of await weightFiles(dir)) {
    const st = await readSafetensors(file, { maxBytes, what: "model weights" });
    for (const [name, t] of st.tensors) if (shapes.has(name)) found.set(name, { data: t, file });
  }
  for (const [name, shape] of shapes) {
    const f = found.get(name);
    if (!f) {
      throw new ModelWeightsInvalid({
        file: dir,
        tensor: name,
        expected: `shape [${shape}]`,
        found: "no such tensor",
      });
    }
    if (f.data.shape.join(",") !== shape.join(",")) {
      throw new ModelWeightsInvalid({
        file: f.file,
        tensor: name,
        expected: `shape [${shape}]`,
        found: `[${f.data.shape}]`,
      });
    }
    const bad = findNonFinite(f.data.data);
    if (bad) {
      throw new ModelWeightsInvalid({
        file: f.file,
        tensor: name,
        expected: "finite values",
        found: `${bad.count} non-finite value${bad.count === 1 ? "" : "s"} ` +
          `(first: ${bad.firstValue} at flat index ${bad.first})`,
      });
    }
  }
  const params: Params = {};
  for (const [name, shape] of shapes) params[name] = tf.tensor(found.get(name)!.data.data, shape);
  return { config, params };
}

/**
 * Save a model folder (`config.json` + `model.safetensors`, F32), each file written
 * atomically. The folder is created when missing.
 */
export async function saveModel(dir: string, config: ModelConfig, params: Params): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const tensors: Record<string, TensorData> = {};
  for (const name of paramShapes(config).keys()) {
    const t = params[name];
    if (!t) throw new Error(`saveModel: parameter '${name}' is missing`);
    const values = await t.data();
    tensors[name] = {
      shape: t.shape,
      data: values instanceof Float32Array
        ? values
        : Float32Array.from(values as ArrayLike<number>),
    };
  }
  await writeSafetensors(`${dir}/model.safetensors`, tensors, { format: "pt" });
  await writeFileAtomic(`${dir}/config.json`, JSON.stringify(toHfConfig(config), null, 2) + "\n");
}
