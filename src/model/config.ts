/**
 * The model configuration, read from (and written back to) a Hugging Face `config.json`.
 *
 * @module
 */
import { ModelConfigInvalid, SUPPORTED_ARCHITECTURES } from "./errors.ts";

/** An architecture this decoder implements. */
export type Architecture = typeof SUPPORTED_ARCHITECTURES[number];

/** A Llama-family decoder's hyper-parameters (camelCase mirror of the HF fields). */
export interface ModelConfig {
  readonly architecture: Architecture;
  readonly vocabSize: number;
  /** C: the residual stream width. */
  readonly hiddenSize: number;
  /** The SwiGLU inner width. */
  readonly intermediateSize: number;
  readonly numLayers: number;
  /** H: query heads. */
  readonly numHeads: number;
  /** KVH: key/value heads (grouped-query attention when < numHeads). */
  readonly numKvHeads: number;
  /** D: per-head width. */
  readonly headDim: number;
  readonly rmsNormEps: number;
  readonly ropeTheta: number;
  readonly tieWordEmbeddings: boolean;
  /** Bias on q/k/v projections (always true for Qwen2). */
  readonly qkvBias: boolean;
  /** Bias on o_proj (Llama `attention_bias`). */
  readonly oBias: boolean;
  /** Bias on gate/up/down (Llama `mlp_bias`). */
  readonly mlpBias: boolean;
  readonly maxPositionEmbeddings: number;
  /** Std of the normal init (HF `initializer_range`). */
  readonly initializerRange: number;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: readonly number[];
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
  const arch = Array.isArray(archs) ? archs[0] : undefined;
  if (!isArch(arch)) {
    bad("architectures", `one of ${SUPPORTED_ARCHITECTURES.join(", ")}`, archs);
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
  if (o.rope_scaling != null) {
    bad("rope_scaling", "null (rope scaling is not supported)", o.rope_scaling);
  }
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
    numLayers: int("num_hidden_layers"),
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: num("rms_norm_eps", 1e-6),
    ropeTheta: num("rope_theta", 10000),
    tieWordEmbeddings: bool("tie_word_embeddings", false),
    qkvBias: isQwen ? true : bool("attention_bias", false),
    oBias: isQwen ? false : bool("attention_bias", false),
    mlpBias: isQwen ? false : bool("mlp_bias", false),
    maxPositionEmbeddings: int("max_position_embeddings", 2048),
    initializerRange: num("initializer_range", 0.02),
    bosTokenId: optId("bos_token_id"),
    eosTokenIds,
    padTokenId: optId("pad_token_id"),
    raw: { ...o },
  };
}

/** The Hugging Face `config.json` object for a config (unknown original fields kept). */
export function toHfConfig(c: ModelConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {
    ...c.raw,
    architectures: [c.architecture],
    model_type:
      { LlamaForCausalLM: "llama", MistralForCausalLM: "mistral", Qwen2ForCausalLM: "qwen2" }[
        c.architecture
      ],
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
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenIds.length === 1 ? c.eosTokenIds[0] : [...c.eosTokenIds],
    pad_token_id: c.padTokenId,
  };
  if (c.architecture !== "Qwen2ForCausalLM") {
    out.attention_bias = c.qkvBias;
    out.mlp_bias = c.mlpBias;
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
  return { ...base, ...overrides };
}
