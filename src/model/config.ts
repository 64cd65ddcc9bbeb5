/**
 * The model configuration, read from (and written back to) a Hugging Face `config.json`.
 *
 * @module
 */
import { ModelConfigInvalid, SUPPORTED_ARCHITECTURES } from "./errors.ts";
import { parseRope, type RopeScaling, ropeToHf } from "./rope.ts";

/** An architecture this decoder implements. */
export type Architecture = typeof SUPPORTED_ARCHITECTURES[number];

/** How a layer attends: to every earlier position, or to the last `slidingWindow` only. */
export type LayerType = "full_attention" | "sliding_attention";

const MODEL_TYPES: Readonly<Record<Architecture, string>> = {
  LlamaForCausalLM: "llama",
  MistralForCausalLM: "mistral",
  Qwen2ForCausalLM: "qwen2",
};

/** transformers' defaults where a config omits `max_position_embeddings`. */
const DEFAULT_MAX_POSITIONS: Readonly<Record<Architecture, number>> = {
  LlamaForCausalLM: 2048,
  MistralForCausalLM: 131072,
  Qwen2ForCausalLM: 32768,
};

/** A Llama-family decoder's hyper-parameters (camelCase mirror of the HF fields). */
export interface ModelConfig {
  /** The architecture (`LlamaForCausalLM`, ...). */
  readonly architecture: Architecture;
  /** Vocabulary size V. */
  readonly vocabSize: number;
  /** C: the residual stream width. */
  readonly hiddenSize: number;
  /** The SwiGLU inner width. */
  readonly intermediateSize: number;
  /** Decoder layers. */
  readonly numLayers: number;
  /** H: query heads. */
  readonly numHeads: number;
  /** KVH: key/value heads (grouped-query attention when < numHeads). */
  readonly numKvHeads: number;
  /** D: per-head width. */
  readonly headDim: number;
  /** RMSNorm epsilon. */
  readonly rmsNormEps: number;
  /** RoPE base (HF `rope_theta`, top-level or inside `rope_parameters`). */
  readonly ropeTheta: number;
  /** RoPE scaling (HF `rope_scaling` or `rope_parameters.rope_type`). */
  readonly rope: RopeScaling;
  /** Keys a sliding-attention layer sees: the last `slidingWindow` positions; null = none. */
  readonly slidingWindow: number | null;
  /** Per layer, full or sliding-window attention (all full when `slidingWindow` is null). */
  readonly layerTypes: readonly LayerType[];
  /** The output projection shares the embedding matrix. */
  readonly tieWordEmbeddings: boolean;
  /** Bias on q/k/v projections (always true for Qwen2). */
  readonly qkvBias: boolean;
  /** Bias on o_proj (Llama `attention_bias`). */
  readonly oBias: boolean;
  /** Bias on gate/up/down (Llama `mlp_bias`). */
  readonly mlpBias: boolean;
  /** Longest sequence (prompt + answer) the model takes. */
  readonly maxPositionEmbeddings: number;
  /** Std of the normal init (HF `initializer_range`). */
  readonly initializerRange: number;
  /** Beginning-of-sequence token id, or null. */
  readonly bosTokenId: number | null;
  /** End-of-sequence token ids. */
  readonly eosTokenIds: readonly number[];
  /** Padding token id, or null. */
  readonly padTokenId: number | null;
  /** The original JSON, kept so that unknown fields survive a save. */
  readonly raw: Readonly<Record<string, unknown>>;
}

const isArch = (s: unknown): s is Architecture =>
  (SUPPORTED_ARCHITECTURES as readonly unknown[]).includes(s);

const show = (v: unknown): string => v === undefined ? "nothing" : JSON.stringify(v);

/**
 * Parse a Hugging Face `config.json` object.
 *
 * @param file the name used in error messages
 * @throws {ModelConfigInvalid} naming the field, what was expected and what was found; an unknown
 *   architecture lists the supported ones
 */
export function parseModelConfig(json: unknown, file = "config.json"): ModelConfig {
  const bad = (field: string, expected: string, found: unknown): never => {
    throw new ModelConfigInvalid({ file, field, expected, found: show(found) });
  };
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    bad("<root>", "a JSON object", json);
  }
  const o = json as Record<string, unknown>;
  const archs = o.architectures;
  // A config saved without a model (e.g. `LlamaConfig().save_pretrained`) has only model_type.
  const fromType = archs == null
    ? SUPPORTED_ARCHITECTURES.find((a) => MODEL_TYPES[a] === o.model_type)
    : undefined;
  const arch = Array.isArray(archs) ? archs[0] : fromType;
  if (!isArch(arch)) {
    bad(
      archs == null ? "architectures (or model_type)" : "architectures",
      `one of ${SUPPORTED_ARCHITECTURES.join(", ")}`,
      archs ?? o.model_type,
    );
  }
  const int = (field: string, fallback?: number): number => {
    const v = o[field] ?? fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
      return bad(field, "a positive integer", o[field]);
    }
    return v;
  };
  const num = (field: string, fallback: number): number => {
    const v = o[field] ?? fallback;
    if (typeof v !== "number" || !(v > 0)) return bad(field, "a positive number", o[field]);
    return v;
  };
  const bool = (field: string, fallback: boolean): boolean => {
    const v = o[field] ?? fallback;
    if (typeof v !== "boolean") return bad(field, "true or false", o[field]);
    return v;
  };
  const optId = (field: string): number | null => {
    const v = o[field];
    if (v === undefined || v === null) return null;
    if (typeof v !== "number" || !Number.isInteger(v)) return bad(field, "an integer id", v);
    return v;
  };
  const hiddenSize = int("hidden_size");
  const numHeads = int("num_attention_heads");
  const numKvHeads = int("num_key_value_heads", numHeads);
  if (numHeads % numKvHeads !== 0) {
    bad("num_key_value_heads", `a divisor of num_attention_heads (${numHeads})`, numKvHeads);
  }
  if (o.head_dim == null && hiddenSize % numHeads !== 0) {
    bad("hidden_size", `a multiple of num_attention_heads (${numHeads})`, hiddenSize);
  }
  const headDim = o.head_dim == null ? hiddenSize / numHeads : int("head_dim");
  if (headDim % 2 !== 0) bad("head_dim", "an even number (rotary embeddings)", headDim);
  const numLayers = int("num_hidden_layers");
  // transformers maps both names to SiLU; any other activation would need another MLP.
  const act = o.hidden_act ?? "silu";
  if (act !== "silu" && act !== "swish") {
    bad("hidden_act", "silu (the SwiGLU MLP these architectures use)", act);
  }
  const maxPositionEmbeddings = int(
    "max_position_embeddings",
    DEFAULT_MAX_POSITIONS[arch as Architecture],
  );
  const { ropeTheta, rope } = parseRope(o, maxPositionEmbeddings, bad);
  const { slidingWindow, layerTypes } = parseSliding(o, arch as Architecture, numLayers, bad);
  const eos = o.eos_token_id;
  let eosTokenIds: number[] = [];
  if (Array.isArray(eos) && eos.every((e) => Number.isInteger(e))) eosTokenIds = eos as number[];
  else if (Number.isInteger(eos)) eosTokenIds = [eos as number];
  else if (eos != null) bad("eos_token_id", "an integer id or a list of ids", eos);
  const isQwen = arch === "Qwen2ForCausalLM";
  return {
    architecture: arch as Architecture,
    vocabSize: int("vocab_size"),
    hiddenSize,
    intermediateSize: int("intermediate_size"),
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: num("rms_norm_eps", 1e-6),
    ropeTheta,
    rope,
    slidingWindow,
    layerTypes,
    tieWordEmbeddings: bool("tie_word_embeddings", false),
    qkvBias: isQwen ? true : bool("attention_bias", false),
    oBias: isQwen ? false : bool("attention_bias", false),
    mlpBias: isQwen ? false : bool("mlp_bias", false),
    maxPositionEmbeddings,
    initializerRange: num("initializer_range", 0.02),
    bosTokenId: optId("bos_token_id"),
    eosTokenIds,
    padTokenId: optId("pad_token_id"),
    raw: { ...o },
  };
}

/**
 * Sliding-window attention as transformers reads it: Mistral slides every layer when
 * `sliding_window` is set (default 4096); Qwen2 only with `use_sliding_window`, on the layers
 * `layer_types` marks (default: from `max_window_layers` on); Llama never.
 */
function parseSliding(
  o: Readonly<Record<string, unknown>>,
  arch: Architecture,
  numLayers: number,
  bad: (field: string, expected: string, found: unknown) => never,
): { slidingWindow: number | null; layerTypes: LayerType[] } {
  const full = (): LayerType[] => Array.from({ length: numLayers }, () => "full_attention");
  const windowOf = (v: unknown): number | null => {
    if (v === null) return null;
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
      return bad("sliding_window", "a positive integer or null", v);
    }
    return v;
  };
  if (arch === "LlamaForCausalLM") return { slidingWindow: null, layerTypes: full() };
  if (arch === "MistralForCausalLM") {
    const w = windowOf(o.sliding_window === undefined ? 4096 : o.sliding_window);
    return {
      slidingWindow: w,
      layerTypes: w === null
        ? full()
        : Array.from({ length: numLayers }, () => "sliding_attention"),
    };
  }
  const use = o.use_sliding_window ?? false;
  if (typeof use !== "boolean") bad("use_sliding_window", "true or false", use);
  const w = use ? windowOf(o.sliding_window === undefined ? 4096 : o.sliding_window) : null;
  if (w === null) return { slidingWindow: null, layerTypes: full() };
  const given = o.layer_types;
  if (given != null) {
    if (
      !Array.isArray(given) || given.length !== numLayers ||
      !given.every((t) => t === "full_attention" || t === "sliding_attention")
    ) {
      bad(
        "layer_types",
        `${numLayers} entries, each full_attention or sliding_attention`,
        given,
      );
    }
    return { slidingWindow: w, layerTypes: given as LayerType[] };
  }
  const from = o.max_window_layers ?? 28;
  if (typeof from !== "number" || !Number.isInteger(from) || from < 0) {
    bad("max_window_layers", "a non-negative integer", from);
  }
  return {
    slidingWindow: w,
    layerTypes: Array.from(
      { length: numLayers },
      (_, i) => i >= (from as number) ? "sliding_attention" : "full_attention",
    ),
  };
}

/**
 * The Hugging Face `config.json` object for a config (unknown original fields kept). RoPE
 * scaling is written as `rope_scaling` (read by transformers 4.x and 5.x) and, when the
 * original had it, as a matching `rope_parameters`; default RoPE adds no new key.
 */
export function toHfConfig(c: ModelConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {
    ...c.raw,
    architectures: [c.architecture],
    model_type: MODEL_TYPES[c.architecture],
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    num_key_value_heads: c.numKvHeads,
    head_dim: c.headDim,
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    tie_word_embeddings: c.tieWordEmbeddings,
    max_position_embeddings: c.maxPositionEmbeddings,
    initializer_range: c.initializerRange,
    hidden_act: "silu",
    torch_dtype: "float32",
    // transformers 5 names it `dtype`; the weights are written as F32 whatever they were
    ...("dtype" in c.raw ? { dtype: "float32" } : {}),
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenIds.length === 1 ? c.eosTokenIds[0] : [...c.eosTokenIds],
    pad_token_id: c.padTokenId,
  };
  if (c.architecture !== "Qwen2ForCausalLM") {
    out.attention_bias = c.qkvBias;
    out.mlp_bias = c.mlpBias;
  }
  const scaling = ropeToHf(c);
  if (scaling !== null || "rope_scaling" in c.raw) out.rope_scaling = scaling;
  if ("rope_parameters" in c.raw) {
    out.rope_parameters = { rope_type: "default", ...scaling, rope_theta: c.ropeTheta };
  }
  if (c.architecture === "MistralForCausalLM") out.sliding_window = c.slidingWindow;
  if (
    c.architecture === "Qwen2ForCausalLM" && (c.slidingWindow !== null || "layer_types" in c.raw)
  ) {
    out.use_sliding_window = c.slidingWindow !== null;
    out.sliding_window = c.slidingWindow;
    out.layer_types = [...c.layerTypes];
  }
  return out;
}

/**
 * A small config for tests, benches and the project's own base model; every field can be
 * overridden.
 */
export function tinyModelConfig(overrides: Partial<ModelConfig> = {}): ModelConfig {
  const base: ModelConfig = {
    architecture: "LlamaForCausalLM",
    vocabSize: 96,
    hiddenSize: 16,
    intermediateSize: 32,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 4,
    rmsNormEps: 1e-6,
    ropeTheta: 10000,
    rope: { type: "default" },
    slidingWindow: null,
    layerTypes: [],
    tieWordEmbeddings: false,
    qkvBias: false,
    oBias: false,
    mlpBias: false,
    maxPositionEmbeddings: 256,
    initializerRange: 0.02,
    bosTokenId: 1,
    eosTokenIds: [2],
    padTokenId: 0,
    raw: {},
  };
  const merged = { ...base, ...overrides };
  const layerTypes = overrides.layerTypes ??
    Array.from(
      { length: merged.numLayers },
      (): LayerType => merged.slidingWindow === null ? "full_attention" : "sliding_attention",
    );
  return { ...merged, layerTypes };
}
