/**
 * Rotary position embeddings as Hugging Face configs describe them: the base `rope_theta` and
 * a scaling rule (`default`, `linear`, `dynamic` NTK, `llama3`, `yarn`), read from either the
 * transformers 4.x keys (`rope_theta`, `rope_scaling`) or the 5.x key (`rope_parameters`).
 * Anything else (`longrope`, partial rotary, per-layer-type parameters, unknown keys) is
 * refused by name rather than run with a default.
 *
 * The frequencies follow the published rules (RoPE; Position Interpolation for `linear`; NTK-
 * aware scaling for `dynamic`; Llama 3.1's wavelength bands; YaRN's ramp and attention factor);
 * `tests/fixtures/` checks them against transformers' outputs.
 *
 * Legend: B batch, T positions, D head dim.
 *
 * @module
 */
import { tf } from "../../backends/mod.ts";

/** How the rotary frequencies are scaled (HF `rope_type` and its parameters). */
export type RopeScaling =
  | { readonly type: "default" }
  | { readonly type: "linear"; readonly factor: number }
  | { readonly type: "dynamic"; readonly factor: number }
  | {
    readonly type: "llama3";
    readonly factor: number;
    readonly lowFreqFactor: number;
    readonly highFreqFactor: number;
    readonly originalMaxPositionEmbeddings: number;
  }
  | {
    readonly type: "yarn";
    readonly factor: number;
    readonly originalMaxPositionEmbeddings: number;
    /** Multiplies cos and sin (HF `attention_factor`, derived from factor when absent). */
    readonly attentionFactor: number;
    readonly betaFast: number;
    readonly betaSlow: number;
    /** Round the correction range to whole dimensions (HF default true). */
    readonly truncate: boolean;
  };

/** The rope scaling types this decoder implements. */
export const ROPE_TYPES = ["default", "linear", "dynamic", "llama3", "yarn"] as const;

/** What the rotary embedding needs from a model config. */
export interface RopeConfig {
  readonly headDim: number;
  readonly ropeTheta: number;
  readonly rope: RopeScaling;
  readonly maxPositionEmbeddings: number;
}

/** transformers' `default_theta`, used when a config names no `rope_theta` anywhere. */
export const DEFAULT_ROPE_THETA = 10000;

const KEYS: Readonly<Record<(typeof ROPE_TYPES)[number], readonly string[]>> = {
  default: [],
  linear: ["factor"],
  // transformers reads only `factor` (and max_position_embeddings) for dynamic NTK.
  dynamic: ["factor", "original_max_position_embeddings"],
  llama3: ["factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"],
  yarn: [
    "factor",
    "original_max_position_embeddings",
    "attention_factor",
    "beta_fast",
    "beta_slow",
    "mscale",
    "mscale_all_dim",
    "truncate",
  ],
};

/** Reports a bad field and does not return. */
export type FieldError = (field: string, expected: string, found: unknown) => never;

/**
 * Read `rope_theta` and the scaling rule from a config object, the way transformers 5 does:
 * `rope_scaling` (4.x) wins over `rope_parameters` (5.x); `type` is the old name of
 * `rope_type`; `rope_theta` inside the parameters wins over the top-level one; a top-level
 * `original_max_position_embeddings` wins for llama3 and yarn.
 */
export function parseRope(
  o: Readonly<Record<string, unknown>>,
  maxPositionEmbeddings: number | null,
  bad: FieldError,
): { ropeTheta: number; rope: RopeScaling } {
  const legacy = o.rope_scaling;
  const params = o.rope_parameters;
  const key = legacy != null ? "rope_scaling" : "rope_parameters";
  const src = (legacy ?? params ?? {}) as Record<string, unknown>;
  if (typeof src !== "object" || Array.isArray(src)) bad(key, "an object or null", src);
  if (Object.values(src).some((v) => typeof v === "object" && v !== null && !Array.isArray(v))) {
    bad(key, "one set of RoPE parameters (per-layer-type parameters are not supported)", src);
  }
  const f = (name: string) => `${key}.${name}`;
  const type = src.rope_type ?? src.type ?? "default";
  if (!(ROPE_TYPES as readonly unknown[]).includes(type)) {
    bad(
      f("rope_type"),
      `one of ${ROPE_TYPES.join(", ")} (other RoPE variants are not implemented)`,
      type,
    );
  }
  const t = type as (typeof ROPE_TYPES)[number];
  const known = new Set(["rope_type", "type", "rope_theta", "partial_rotary_factor", ...KEYS[t]]);
  for (const k of Object.keys(src)) {
    if (!known.has(k)) {
      bad(f(k), `no such key for rope_type '${t}' (it would change the math)`, src[k]);
    }
  }
  for (
    const [where, v] of [[f("partial_rotary_factor"), src.partial_rotary_factor], [
      "partial_rotary_factor",
      o.partial_rotary_factor,
    ]] as const
  ) {
    if (v != null && v !== 1) bad(where, "1 (partial rotary embeddings are not supported)", v);
  }
  const positive = (field: string, v: unknown): number => {
    if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v)) {
      return bad(field, "a positive number", v);
    }
    return v;
  };
  const thetaField = src.rope_theta != null ? f("rope_theta") : "rope_theta";
  const ropeTheta = positive(thetaField, src.rope_theta ?? o.rope_theta ?? DEFAULT_ROPE_THETA);
  const needMax = (why: string): number =>
    maxPositionEmbeddings ?? bad("max_position_embeddings", `a positive integer (${why})`, null);
  const originalMax = (): number => {
    const v = o.original_max_position_embeddings ?? src.original_max_position_embeddings ??
      needMax(`the default of ${f("original_max_position_embeddings")}`);
    const field = o.original_max_position_embeddings != null
      ? "original_max_position_embeddings"
      : f("original_max_position_embeddings");
    if (!Number.isInteger(v) || (v as number) <= 0) bad(field, "a positive integer", v);
    return v as number;
  };
  switch (t) {
    case "default":
      return { ropeTheta, rope: { type: "default" } };
    case "linear":
      return { ropeTheta, rope: { type: "linear", factor: positive(f("factor"), src.factor) } };
    case "dynamic": {
      needMax("dynamic NTK scaling is relative to it");
      return { ropeTheta, rope: { type: "dynamic", factor: positive(f("factor"), src.factor) } };
    }
    case "llama3": {
      const low = positive(f("low_freq_factor"), src.low_freq_factor);
      const high = positive(f("high_freq_factor"), src.high_freq_factor);
      if (!(high > low)) {
        bad(f("high_freq_factor"), `a number above low_freq_factor (${low})`, high);
      }
      return {
        ropeTheta,
        rope: {
          type: "llama3",
          factor: positive(f("factor"), src.factor),
          lowFreqFactor: low,
          highFreqFactor: high,
          originalMaxPositionEmbeddings: originalMax(),
        },
      };
    }
    case "yarn": {
      const original = originalMax();
      const factor = src.factor == null
        ? needMax("yarn's default factor is max / original") / original
        : positive(f("factor"), src.factor);
      const mscale = (scale: number, m = 1) => scale <= 1 ? 1 : 0.1 * m * Math.log(scale) + 1;
      let attentionFactor: number;
      if (src.attention_factor != null) {
        attentionFactor = positive(f("attention_factor"), src.attention_factor);
      } else if (src.mscale && src.mscale_all_dim) {
        const m = positive(f("mscale"), src.mscale);
        const all = positive(f("mscale_all_dim"), src.mscale_all_dim);
        attentionFactor = mscale(factor, m) / mscale(factor, all);
      } else {
        attentionFactor = mscale(factor);
      }
      const truncate = src.truncate ?? true;
      if (typeof truncate !== "boolean") bad(f("truncate"), "true or false", truncate);
      return {
        ropeTheta,
        rope: {
          type: "yarn",
          factor,
          originalMaxPositionEmbeddings: original,
          attentionFactor,
          // transformers treats 0 or null as "use the default" here
          betaFast: src.beta_fast ? positive(f("beta_fast"), src.beta_fast) : 32,
          betaSlow: src.beta_slow ? positive(f("beta_slow"), src.beta_slow) : 1,
          truncate: truncate as boolean,
        },
      };
    }
  }
}

/** The `rope_scaling` / `rope_parameters` fields that describe `c` (null for default RoPE). */
export function ropeToHf(c: RopeConfig): Record<string, unknown> | null {
  const r = c.rope;
  switch (r.type) {
    case "default":
      return null;
    case "linear":
    case "dynamic":
      return { rope_type: r.type, factor: r.factor };
    case "llama3":
      return {
        rope_type: "llama3",
        factor: r.factor,
        low_freq_factor: r.lowFreqFactor,
        high_freq_factor: r.highFreqFactor,
        original_max_position_embeddings: r.originalMaxPositionEmbeddings,
      };
    case "yarn":
      return {
        rope_type: "yarn",
        factor: r.factor,
        original_max_position_embeddings: r.originalMaxPositionEmbeddings,
        attention_factor: r.attentionFactor,
        beta_fast: r.betaFast,
        beta_slow: r.betaSlow,
        truncate: r.truncate,
      };
  }
}

/**
 * The D/2 inverse frequencies and the factor that multiplies cos and sin, for sequences of
 * `seqLen` positions (only `dynamic` depends on it: past its `max_position_embeddings` the
 * base grows with the sequence).
 */
export function ropeFrequencies(
  c: RopeConfig,
  seqLen: number,
): { invFreq: Float32Array; attentionScale: number } {
  const d = c.headDim;
  const half = d / 2;
  const r = c.rope;
  let base = c.ropeTheta;
  if (r.type === "dynamic" && seqLen > c.maxPositionEmbeddings) {
    const grow = r.factor * seqLen / c.maxPositionEmbeddings - (r.factor - 1);
    base = base * grow ** (d / (d - 2));
  }
  const plain = Array.from({ length: half }, (_, i) => 1 / base ** ((2 * i) / d));
  let inv = plain;
  let attentionScale = 1;
  switch (r.type) {
    case "linear":
      inv = plain.map((f) => f / r.factor);
      break;
    case "llama3": {
      // Wavelengths shorter than the high-frequency band keep their frequency, longer than the
      // low-frequency band are slowed by `factor`, and the band between is interpolated.
      const lowWavelen = r.originalMaxPositionEmbeddings / r.lowFreqFactor;
      const highWavelen = r.originalMaxPositionEmbeddings / r.highFreqFactor;
      inv = plain.map((f) => {
        const wavelen = 2 * Math.PI / f;
        if (wavelen < highWavelen) return f;
        if (wavelen > lowWavelen) return f / r.factor;
        const smooth = (r.originalMaxPositionEmbeddings / wavelen - r.lowFreqFactor) /
          (r.highFreqFactor - r.lowFreqFactor);
        return (1 - smooth) * f / r.factor + smooth * f;
      });
      break;
    }
    case "yarn": {
      // Dimensions that rotate more than betaFast times over the original context keep their
      // frequency, fewer than betaSlow times are interpolated by `factor`, a linear ramp between.
      const dimFor = (rotations: number) =>
        d * Math.log(r.originalMaxPositionEmbeddings / (rotations * 2 * Math.PI)) /
        (2 * Math.log(base));
      let low = dimFor(r.betaFast);
      let high = dimFor(r.betaSlow);
      if (r.truncate) {
        low = Math.floor(low);
        high = Math.ceil(high);
      }
      low = Math.max(low, 0);
      high = Math.min(high, d - 1);
      if (low === high) high += 0.001;
      inv = plain.map((f, i) => {
        const ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
        const extrapolation = 1 - ramp;
        return (f / r.factor) * (1 - extrapolation) + f * extrapolation;
      });
      attentionScale = r.attentionFactor;
      break;
    }
  }
  return { invFreq: Float32Array.from(inv), attentionScale };
}

/**
 * cos and sin tables at `positions` [B, T] → each [B, 1, T, D], for sequences of `seqLen`
 * positions in all (cached + new; it matters only for dynamic scaling).
 */
export function ropeTables(
  c: RopeConfig,
  positions: tf.Tensor,
  seqLen: number,
): [tf.Tensor, tf.Tensor] {
  const { invFreq, attentionScale } = ropeFrequencies(c, seqLen);
  const freqs = tf.mul(tf.expandDims(tf.cast(positions, "float32"), -1), tf.tensor1d(invFreq)); // [B, T, D/2]
  const emb = tf.expandDims(tf.concat([freqs, freqs], -1), 1); // [B, 1, T, D]
  if (attentionScale === 1) return [tf.cos(emb), tf.sin(emb)];
  return [tf.mul(tf.cos(emb), attentionScale), tf.mul(tf.sin(emb), attentionScale)];
}
