/**
 * Adapters on disk in PEFT's layout: `adapter_config.json` and `adapter_model.safetensors`
 * with keys `base_model.model.<module path>.lora_A.weight` / `lora_B.weight`. Loading follows
 * PEFT's own rules (see `peft.ts`); saving writes what PEFT reads back into the same modules,
 * ranks and alphas, with the base model named so `AutoPeftModelForCausalLM` can find it.
 *
 * @module
 */
import { tf } from "../../backends/mod.ts";
import {
  findNonFinite,
  readJsonChecked,
  readSafetensors,
  type TensorData,
  writeFileAtomic,
  writeSafetensors,
} from "../io/mod.ts";
import {
  LINEAR_MODULES,
  type LinearModule,
  linearShape,
  maxWeightFileBytes,
  type ModelConfig,
  modulePath,
} from "../model/mod.ts";
import { adapterFromTensors, type LoraAdapter, type LoraMatrices, peftKey } from "./adapter.ts";
import { AdapterInvalid, type LoraConfig } from "./config.ts";
import { isTargeted, parsePeftConfig, type PeftLoraConfig, rankAndAlpha } from "./peft.ts";

/** Options of {@link saveAdapter}. */
export interface SaveAdapterOptions {
  /**
   * Written as `base_model_name_or_path`: the base model's folder (relative to where Python
   * will run, usually the folder the tool ran in) or its hub name.
   */
  readonly baseModel?: string;
}

const LAYER_PATH = /^model\.layers\.(\d+)\.(self_attn|mlp)\.(\w+)$/;

/** The layer and short name of a decoder linear's path, or null for any other module. */
function parsePath(path: string): { layer: number; name: LinearModule } | null {
  const m = LAYER_PATH.exec(path);
  if (!m || !(LINEAR_MODULES as readonly string[]).includes(m[3]!)) return null;
  const name = m[3] as LinearModule;
  const layer = Number(m[1]);
  return modulePath(layer, name) === path ? { layer, name } : null;
}

/**
 * The PEFT `adapter_config.json` object for an adapter. Targets are short names when the
 * adapter covers the same modules in every layer from 0 up (what `createAdapter` makes), else
 * full module paths (as PEFT saves `all-linear`); modules whose rank or alpha differ from the
 * config's are listed in `rank_pattern` / `alpha_pattern` by full path.
 */
export function peftConfigJson(
  adapter: LoraAdapter,
  baseModel: string | null = null,
): Record<string, unknown> {
  const c = adapter.config;
  const paths = [...adapter.modules.keys()].sort();
  const parsed = paths.map(parsePath);
  const names = [...new Set(parsed.map((p) => p?.name ?? null))];
  const layers = Math.max(-1, ...parsed.map((p) => p?.layer ?? -1)) + 1;
  const grid = names.every((n) => n !== null) && paths.length === names.length * layers;
  const rankPattern: Record<string, number> = {};
  const alphaPattern: Record<string, number> = {};
  for (const [path, m] of adapter.modules) {
    if (m.r !== c.r) rankPattern[path] = m.r;
    if (m.alpha !== c.alpha) alphaPattern[path] = m.alpha;
  }
  return {
    peft_type: "LORA",
    task_type: "CAUSAL_LM",
    base_model_name_or_path: baseModel,
    r: c.r,
    lora_alpha: c.alpha,
    lora_dropout: c.dropout,
    target_modules: grid ? LINEAR_MODULES.filter((n) => names.includes(n)) : paths,
    bias: "none",
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    use_rslora: c.useRslora ?? false,
    use_dora: false,
    modules_to_save: null,
    layers_to_transform: null,
    rank_pattern: rankPattern,
    alpha_pattern: alphaPattern,
  };
}

/** Save an adapter in PEFT's layout (F32), each file written atomically. */
export async function saveAdapter(
  dir: string,
  adapter: LoraAdapter,
  opts: SaveAdapterOptions = {},
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const tensors: Record<string, TensorData> = {};
  for (const [key, v] of Object.entries(adapter.trainable())) {
    tensors[key] = { shape: v.shape, data: (await v.data()) as Float32Array };
  }
  await writeSafetensors(`${dir}/adapter_model.safetensors`, tensors, { format: "pt" });
  const json = peftConfigJson(adapter, opts.baseModel ?? null);
  await writeFileAtomic(`${dir}/adapter_config.json`, JSON.stringify(json, null, 2) + "\n");
}

const KEY = /^base_model\.model\.(.+)\.lora_([AB])(?:\.default)?\.weight$/;

/** An adapter read from disk, with the config PEFT saved. */
export interface LoadedAdapter extends LoraAdapter {
  /** The parsed `adapter_config.json` (targets, patterns, the recorded base model). */
  readonly peft: PeftLoraConfig;
}

/**
 * Load a PEFT-layout adapter. Every tensor must belong to a module the config targets (PEFT
 * would silently ignore it otherwise), with the rank PEFT gives that module. With `model`,
 * every targeted linear of the model must have its matrices, of the model's shapes.
 *
 * @throws {AdapterInvalid} for a bad or unsupported config, an unexpected key, a missing or
 *   misshapen matrix, or a non-finite value
 * @throws {FileInvalid} for a file that is missing, not a regular file or too large
 */
export async function loadAdapter(dir: string, model?: ModelConfig): Promise<LoadedAdapter> {
  const cfgFile = `${dir}/adapter_config.json`;
  const peft = parsePeftConfig(await readJsonChecked(cfgFile, { what: "adapter config" }), cfgFile);
  const file = `${dir}/adapter_model.safetensors`;
  const st = await readSafetensors(file, {
    what: "adapter weights",
    ...(model ? { maxBytes: maxWeightFileBytes(model) } : {}),
  });
  const bad = (field: string, expected: string, found: string): never => {
    throw new AdapterInvalid({ file, field, expected, found });
  };
  const parts = new Map<string, { A?: TensorData; B?: TensorData }>();
  for (const [key, t] of st.tensors) {
    const m = KEY.exec(key);
    if (!m) bad(key, "keys like base_model.model.<module>.lora_A.weight", "an unknown key");
    const [, path, which] = m as RegExpExecArray;
    const nf = findNonFinite(t.data);
    if (nf) {
      bad(
        key,
        "finite values",
        `${nf.count} non-finite (first: ${nf.firstValue} at flat index ${nf.first})`,
      );
    }
    const entry = parts.get(path!) ?? {};
    entry[which as "A" | "B"] = t;
    parts.set(path!, entry);
  }
  if (model) {
    for (let i = 0; i < model.numLayers; i++) {
      for (const name of LINEAR_MODULES) {
        const path = modulePath(i, name);
        if (isTargeted(peft, path) && !parts.has(path)) {
          bad(path, "lora_A and lora_B (adapter_config.json targets this module)", "neither");
        }
      }
    }
  }
  const modules = new Map<string, LoraMatrices>();
  const used = new Set<LinearModule>();
  for (const [path, { A, B }] of parts) {
    if (!A || !B) bad(path, "both lora_A and lora_B", A ? "only lora_A" : "only lora_B");
    const where = parsePath(path);
    if (!where || (model && where.layer >= model.numLayers)) {
      bad(path, "a linear module of a decoder layer", "another module");
    }
    if (!isTargeted(peft, path)) {
      bad(path, "a module adapter_config.json targets (PEFT would ignore it)", "untargeted");
    }
    const { r, alpha } = rankAndAlpha(peft, path);
    const a = A!, b = B!;
    if (a.shape.length !== 2 || a.shape[0] !== r) {
      bad(peftKey(path, "A"), `shape [${r}, in]`, `[${a.shape}]`);
    }
    if (b.shape.length !== 2 || b.shape[1] !== r) {
      bad(peftKey(path, "B"), `shape [out, ${r}]`, `[${b.shape}]`);
    }
    if (model) {
      const [out, inp] = linearShape(model, where!.name);
      if (a.shape[1] !== inp || b.shape[0] !== out) {
        bad(path, `A [${r}, ${inp}] and B [${out}, ${r}]`, `[${a.shape}] and [${b.shape}]`);
      }
    }
    used.add(where!.name);
    modules.set(path, {
      A: tf.tensor(a.data, [...a.shape]),
      B: tf.tensor(b.data, [...b.shape]),
      alpha,
    });
  }
  if (modules.size === 0) bad("<all>", "at least one lora_A / lora_B pair", "none");
  const config: LoraConfig = {
    r: peft.r,
    alpha: peft.alpha,
    dropout: peft.dropout,
    targets: LINEAR_MODULES.filter((n) => used.has(n)),
    useRslora: peft.useRslora,
  };
  const adapter = adapterFromTensors(config, modules);
  for (const m of modules.values()) {
    m.A.dispose();
    m.B.dispose();
  }
  return { ...adapter, peft };
}
