/**
 * Adapters on disk in PEFT's layout: `adapter_config.json` and `adapter_model.safetensors`
 * with keys `base_model.model.<module path>.lora_A.weight` / `lora_B.weight`.
 *
 * @module
 */
import { tf } from "../../backends/mod.ts";
import {
  findNonFinite,
  MAX_CONFIG_JSON_BYTES,
  readSafetensors,
  readTextChecked,
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
} from "../model/mod.ts";
import { adapterFromTensors, type LoraAdapter, peftKey } from "./adapter.ts";
import { AdapterInvalid, type LoraConfig, validateLoraConfig } from "./config.ts";

/** Options of {@link saveAdapter}. */
export interface SaveAdapterOptions {
  /** Written as `base_model_name_or_path`. */
  readonly baseModel?: string;
}

/** The PEFT `adapter_config.json` object for a LoRA config. */
export function peftConfigJson(
  c: LoraConfig,
  baseModel: string | null = null,
): Record<string, unknown> {
  return {
    peft_type: "LORA",
    task_type: "CAUSAL_LM",
    base_model_name_or_path: baseModel,
    r: c.r,
    lora_alpha: c.alpha,
    lora_dropout: c.dropout,
    target_modules: [...c.targets],
    bias: "none",
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    use_rslora: c.useRslora ?? false,
    use_dora: false,
    modules_to_save: null,
    layers_to_transform: null,
    rank_pattern: {},
    alpha_pattern: {},
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
  const json = peftConfigJson(adapter.config, opts.baseModel ?? null);
  await writeFileAtomic(`${dir}/adapter_config.json`, JSON.stringify(json, null, 2) + "\n");
}

/** Parse a PEFT `adapter_config.json` object into a LoRA config. */
export function parsePeftConfig(json: unknown, file = "adapter_config.json"): LoraConfig {
  const bad = (field: string, expected: string, found: unknown): never => {
    throw new AdapterInvalid({ file, field, expected, found: JSON.stringify(found) ?? "nothing" });
  };
  if (typeof json !== "object" || json === null) return bad("<root>", "a JSON object", json);
  const o = json as Record<string, unknown>;
  if (o.peft_type !== undefined && o.peft_type !== "LORA") bad("peft_type", '"LORA"', o.peft_type);
  if (o.use_dora === true) bad("use_dora", "false (DoRA is not supported)", o.use_dora);
  for (const f of ["rank_pattern", "alpha_pattern"]) {
    const v = o[f];
    if (v != null && Object.keys(v as object).length > 0) bad(f, "empty (not supported)", v);
  }
  let targets = o.target_modules;
  if (typeof targets === "string") {
    targets = targets === "all-linear" ? [...LINEAR_MODULES] : bad(
      "target_modules",
      "a list of module names or all-linear",
      targets,
    );
  }
  if (!Array.isArray(targets)) return bad("target_modules", "a list of module names", targets);
  const config: LoraConfig = {
    r: o.r as number,
    alpha: o.lora_alpha as number,
    dropout: (o.lora_dropout ?? 0) as number,
    targets: targets as string[],
    useRslora: o.use_rslora === true,
  };
  validateLoraConfig(config, file);
  return config;
}

const KEY = /^base_model\.model\.(.+)\.lora_([AB])(?:\.default)?\.weight$/;

/**
 * Load a PEFT-layout adapter. With `model`, every matrix's shape is checked against the
 * model's linears.
 *
 * @throws {AdapterInvalid} for a bad config, an unexpected key, or a shape mismatch
 */
export async function loadAdapter(dir: string, model?: ModelConfig): Promise<LoraAdapter> {
  const cfgFile = `${dir}/adapter_config.json`;
  const text = await readTextChecked(cfgFile, {
    maxBytes: MAX_CONFIG_JSON_BYTES,
    what: "adapter config",
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new AdapterInvalid({
      file: cfgFile,
      field: "<root>",
      expected: "valid JSON",
      found: e instanceof Error ? e.message : String(e),
    });
  }
  const config = parsePeftConfig(json, cfgFile);
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
  const modules = new Map<string, { A: tf.Tensor; B: tf.Tensor }>();
  for (const [path, { A, B }] of parts) {
    if (!A || !B) bad(path, "both lora_A and lora_B", A ? "only lora_A" : "only lora_B");
    const a = A!, b = B!;
    if (a.shape.length !== 2 || a.shape[0] !== config.r) {
      bad(peftKey(path, "A"), `shape [${config.r}, in]`, `[${a.shape}]`);
    }
    if (b.shape.length !== 2 || b.shape[1] !== config.r) {
      bad(peftKey(path, "B"), `shape [out, ${config.r}]`, `[${b.shape}]`);
    }
    if (model) {
      const short = path.split(".").pop() as LinearModule;
      const layer = Number(/layers\.(\d+)\./.exec(path)?.[1] ?? NaN);
      if (!(LINEAR_MODULES as readonly string[]).includes(short) || !(layer < model.numLayers)) {
        bad(path, "a linear module of the model", path);
      }
      const [out, inp] = linearShape(model, short);
      if (a.shape[1] !== inp || b.shape[0] !== out) {
        bad(
          path,
          `A [${config.r}, ${inp}] and B [${out}, ${config.r}]`,
          `[${a.shape}] and [${b.shape}]`,
        );
      }
    }
    modules.set(path, { A: tf.tensor(a.data, [...a.shape]), B: tf.tensor(b.data, [...b.shape]) });
  }
  const adapter = adapterFromTensors(config, modules);
  for (const m of modules.values()) {
    m.A.dispose();
    m.B.dispose();
  }
  return adapter;
}
