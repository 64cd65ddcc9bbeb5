/**
 * PEFT's `adapter_config.json` as PEFT writes it, and PEFT's rules for which modules an
 * adapter touches and with what rank and alpha: `target_modules` as short names, full paths
 * (what `all-linear` saves as) or one regular expression; `exclude_modules`;
 * `layers_to_transform` / `layers_pattern`; `rank_pattern` / `alpha_pattern`; rsLoRA.
 * Settings that would change the math in ways this project does not implement
 * (`modules_to_save`, DoRA, LoRA biases, ...) are refused by name.
 *
 * @module
 */
import { LINEAR_MODULES } from "../model/mod.ts";
import { AdapterInvalid } from "./config.ts";

/** An adapter config as PEFT saved it, reduced to what decides the math. */
export interface PeftLoraConfig {
  /** Default rank (`r`). */
  readonly r: number;
  /** Default alpha (`lora_alpha`). */
  readonly alpha: number;
  /** Dropout probability on the adapter input (`lora_dropout`). */
  readonly dropout: number;
  /** Scale by alpha / sqrt(r) instead of alpha / r (`use_rslora`). */
  readonly useRslora: boolean;
  /** Short names or full module paths, or one regular expression matched in full. */
  readonly targetModules: readonly string[] | RegExp;
  /** Modules never adapted: names/paths, or a regular expression matched in full. */
  readonly excludeModules: readonly string[] | RegExp | null;
  /** Only these layer indices (with list targets). */
  readonly layersToTransform: readonly number[] | null;
  /** The module-list names the layer index follows (`layers`, `h`); null = any. */
  readonly layersPattern: readonly string[] | null;
  /** Per-module rank: pattern (`k_proj`, a full path, a regex) → r. */
  readonly rankPattern: ReadonlyArray<readonly [RegExp, number]>;
  /** Per-module alpha: pattern → alpha. */
  readonly alphaPattern: ReadonlyArray<readonly [RegExp, number]>;
  /** `base_model_name_or_path`, when recorded. */
  readonly baseModel: string | null;
}

/** Keys that must be absent, null, false or empty: each would change what the adapter does. */
const REFUSED: ReadonlyArray<readonly [string, string]> = [
  ["modules_to_save", "fully trained copies of whole modules (e.g. the LM head) are not supported"],
  ["use_dora", "DoRA is not supported"],
  ["lora_bias", "LoRA bias terms are not supported"],
  ["fan_in_fan_out", "Conv1D-style transposed weights (GPT-2) are not supported"],
  ["target_parameters", "adapters on raw parameters (MoE experts) are not supported"],
  ["trainable_token_indices", "trainable token embeddings are not supported"],
  ["layer_replication", "layer replication is not supported"],
  ["alora_invocation_tokens", "activated LoRA is not supported"],
  ["use_qalora", "QA-LoRA is not supported"],
  ["use_bdlora", "block-diagonal LoRA is not supported"],
  ["megatron_config", "Megatron-parallel layers are not supported"],
  ["arrow_config", "Arrow routing is not supported"],
];

const isEmpty = (v: unknown): boolean =>
  v === undefined || v === null || v === false ||
  (Array.isArray(v) && v.length === 0) ||
  (typeof v === "object" && !Array.isArray(v) && Object.keys(v as object).length === 0);

/** A Python `re` pattern as a JavaScript RegExp (named groups renamed), or null if invalid. */
function pyRegex(source: string, wrap: (s: string) => string): RegExp | null {
  try {
    return new RegExp(wrap(source.replace(/\(\?P</g, "(?<").replace(/\(\?P=(\w+)\)/g, "\\k<$1>")));
  } catch {
    return null;
  }
}

/**
 * Parse a PEFT `adapter_config.json` object.
 *
 * @throws {AdapterInvalid} naming the field: not LoRA, a refused feature, a bad rank or alpha,
 *   an invalid pattern
 */
export function parsePeftConfig(json: unknown, file = "adapter_config.json"): PeftLoraConfig {
  const bad = (field: string, expected: string, found: unknown): never => {
    throw new AdapterInvalid({ file, field, expected, found: JSON.stringify(found) ?? "nothing" });
  };
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return bad("<root>", "a JSON object", json);
  }
  const o = json as Record<string, unknown>;
  if (o.peft_type !== undefined && o.peft_type !== "LORA") bad("peft_type", '"LORA"', o.peft_type);
  for (const [key, why] of REFUSED) {
    if (!isEmpty(o[key])) bad(key, `unset (${why})`, o[key]);
  }
  if (o.bias !== undefined && o.bias !== null && o.bias !== "none") {
    bad("bias", '"none" (training the base model\'s biases is not supported)', o.bias);
  }
  const positive = (field: string, v: unknown, integer: boolean): number => {
    if (
      typeof v !== "number" || !(v > 0) || !Number.isFinite(v) || (integer && !Number.isInteger(v))
    ) {
      return bad(field, integer ? "a positive integer" : "a positive number", v);
    }
    return v;
  };
  const r = positive("r", o.r, true);
  const alpha = positive("lora_alpha", o.lora_alpha ?? 8, false);
  const dropout = o.lora_dropout ?? 0;
  if (typeof dropout !== "number" || !(dropout >= 0 && dropout < 1)) {
    bad("lora_dropout", "a number in [0, 1)", dropout);
  }
  const names = (field: string, v: unknown): readonly string[] | RegExp | null => {
    if (v === undefined || v === null) return null;
    if (typeof v === "string") {
      if (field === "target_modules" && v === "all-linear") return [...LINEAR_MODULES];
      return pyRegex(v, (s) => `^(?:${s})$`) ?? bad(field, "a valid regular expression", v);
    }
    if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
      return bad(field, "a list of module names, a regular expression or all-linear", v);
    }
    return v as string[];
  };
  const targetModules = names("target_modules", o.target_modules);
  if (targetModules === null || (Array.isArray(targetModules) && targetModules.length === 0)) {
    bad("target_modules", "at least one module", o.target_modules);
  }
  let layersToTransform: number[] | null = null;
  const ltt = o.layers_to_transform;
  if (typeof ltt === "number") layersToTransform = [ltt];
  else if (Array.isArray(ltt) && ltt.length > 0) layersToTransform = ltt as number[];
  else if (ltt != null && !(Array.isArray(ltt) && ltt.length === 0)) {
    bad("layers_to_transform", "a layer index or a list of them", ltt);
  }
  if (layersToTransform && !layersToTransform.every((i) => Number.isInteger(i) && i >= 0)) {
    bad("layers_to_transform", "non-negative layer indices", ltt);
  }
  const lp = o.layers_pattern;
  const layersPattern = lp == null || lp === "" || (Array.isArray(lp) && lp.length === 0)
    ? null
    : typeof lp === "string"
    ? [lp]
    : Array.isArray(lp) && lp.every((x) => typeof x === "string")
    ? lp as string[]
    : bad("layers_pattern", "a name or a list of names", lp);
  const patterns = (field: string, v: unknown, integer: boolean) => {
    if (v == null) return [];
    if (typeof v !== "object" || Array.isArray(v)) return bad(field, "an object", v);
    return Object.entries(v as Record<string, unknown>).map(([k, x]) =>
      [
        // PEFT: re.match(rf"(.*\.)?({key})$", module_path)
        pyRegex(k, (s) => `^(?:.*\\.)?(?:${s})$`) ??
          bad(`${field}.${k}`, "a valid regular expression", k),
        positive(`${field}.${k}`, x, integer),
      ] as const
    );
  };
  const base = o.base_model_name_or_path;
  return {
    r,
    alpha,
    dropout: dropout as number,
    useRslora: o.use_rslora === true,
    targetModules: targetModules!,
    excludeModules: names("exclude_modules", o.exclude_modules),
    layersToTransform,
    layersPattern,
    rankPattern: patterns("rank_pattern", o.rank_pattern, true),
    alphaPattern: patterns("alpha_pattern", o.alpha_pattern, false),
    baseModel: typeof base === "string" && base !== "" ? base : null,
  };
}

const matchesName = (list: readonly string[], path: string): boolean =>
  list.some((t) => path === t || path.endsWith(`.${t}`));

function layerIndex(path: string, patterns: readonly string[] | null): number | null {
  if (patterns === null) {
    const m = /^.*?\.[^.]*\.(\d+)\./.exec(path);
    return m ? Number(m[1]) : null;
  }
  for (const p of patterns) {
    const re = pyRegex(p, (s) => `^(?:|.*?\\.)${s}\\.(\\d+)\\.`);
    const m = re?.exec(path);
    if (m) return Number(m[m.length - 1]);
  }
  return null;
}

/** Does PEFT put this adapter on module `path` (e.g. `model.layers.0.self_attn.q_proj`)? */
export function isTargeted(c: PeftLoraConfig, path: string): boolean {
  const ex = c.excludeModules;
  if (ex !== null && (ex instanceof RegExp ? ex.test(path) : matchesName(ex, path))) return false;
  const t = c.targetModules;
  if (t instanceof RegExp) return t.test(path);
  if (!matchesName(t, path)) return false;
  if (c.layersToTransform === null || t.includes(path)) return true;
  const i = layerIndex(path, c.layersPattern);
  return i !== null && c.layersToTransform.includes(i);
}

/** The rank and alpha PEFT gives module `path`: the first matching pattern, else r / alpha. */
export function rankAndAlpha(c: PeftLoraConfig, path: string): { r: number; alpha: number } {
  const first = (ps: PeftLoraConfig["rankPattern"]) => ps.find(([re]) => re.test(path))?.[1];
  return { r: first(c.rankPattern) ?? c.r, alpha: first(c.alphaPattern) ?? c.alpha };
}
