/**
 * Model configs as transformers 4.x and 5.x write them: where `rope_theta` lives, which RoPE
 * scaling applies (or is refused, by name), sliding-window attention per layer, and configs
 * written back unchanged where nothing was scaled.
 */
import assert from "node:assert/strict";
import { initBackend, tf } from "../backends/mod.ts";
import {
  attentionBias,
  attentionBiasValues,
  type ModelConfig,
  ModelConfigInvalid,
  parseModelConfig,
  ropeFrequencies,
  toHfConfig,
} from "../src/model/mod.ts";

await initBackend("cpu");

const llama = {
  architectures: ["LlamaForCausalLM"],
  vocab_size: 64,
  hidden_size: 64,
  intermediate_size: 64,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  max_position_embeddings: 64,
};
const fieldOf = (json: unknown): string => {
  try {
    parseModelConfig(json, "config.json");
  } catch (e) {
    assert.ok(e instanceof ModelConfigInvalid, String(e));
    return e.field;
  }
  throw new Error("expected ModelConfigInvalid");
};

Deno.test("rope config: theta top-level (4.x) or in rope_parameters (5.x); the parameters win", () => {
  assert.equal(parseModelConfig({ ...llama, rope_theta: 5e5 }).ropeTheta, 5e5);
  const v5 = parseModelConfig({
    ...llama,
    rope_parameters: { rope_type: "default", rope_theta: 1e6 },
  });
  assert.equal(v5.ropeTheta, 1e6);
  assert.deepEqual(v5.rope, { type: "default" });
  const both = parseModelConfig({
    ...llama,
    rope_theta: 1e4,
    rope_parameters: { rope_theta: 1e6 },
  });
  assert.equal(both.ropeTheta, 1e6);
  // transformers' default_theta when no config names one
  assert.equal(parseModelConfig(llama).ropeTheta, 10000);
  assert.equal(
    fieldOf({ ...llama, rope_parameters: { rope_theta: -1 } }),
    "rope_parameters.rope_theta",
  );
});

Deno.test("rope config: rope_scaling (4.x, `type`) and rope_parameters (5.x) give the same scaling", () => {
  const v4 = parseModelConfig({
    ...llama,
    rope_theta: 1e4,
    rope_scaling: { type: "linear", factor: 4 },
  });
  const v5 = parseModelConfig({
    ...llama,
    rope_parameters: { rope_type: "linear", factor: 4, rope_theta: 1e4 },
  });
  assert.deepEqual([v4.rope, v4.ropeTheta], [v5.rope, v5.ropeTheta]);
  assert.deepEqual(v4.rope, { type: "linear", factor: 4 });
  // rope_scaling wins when both are present (as in transformers 5)
  const mixed = parseModelConfig({
    ...llama,
    rope_scaling: { rope_type: "dynamic", factor: 2 },
    rope_parameters: { rope_type: "default", rope_theta: 1e4 },
  });
  assert.deepEqual(mixed.rope, { type: "dynamic", factor: 2 });
  const l3 = parseModelConfig({
    ...llama,
    rope_parameters: {
      rope_type: "llama3",
      rope_theta: 5e5,
      factor: 32,
      low_freq_factor: 1,
      high_freq_factor: 4,
    },
  });
  assert.deepEqual(l3.rope, {
    type: "llama3",
    factor: 32,
    lowFreqFactor: 1,
    highFreqFactor: 4,
    originalMaxPositionEmbeddings: 64, // defaults to max_position_embeddings, as transformers
  });
  const yarn = parseModelConfig({
    ...llama,
    rope_scaling: { rope_type: "yarn", factor: 4, original_max_position_embeddings: 16 },
  });
  assert.ok(
    yarn.rope.type === "yarn" &&
      Math.abs(yarn.rope.attentionFactor - (0.1 * Math.log(4) + 1)) < 1e-12,
  );
});

Deno.test("rope config: unknown variants, unknown keys and partial rotary are refused by name", () => {
  assert.equal(
    fieldOf({
      ...llama,
      rope_scaling: { rope_type: "longrope", short_factor: [1], long_factor: [2] },
    }),
    "rope_scaling.rope_type",
  );
  assert.equal(
    fieldOf({
      ...llama,
      rope_parameters: { rope_type: "linear", factor: 2, mrope_section: [1, 2] },
    }),
    "rope_parameters.mrope_section",
  );
  assert.equal(fieldOf({ ...llama, partial_rotary_factor: 0.5 }), "partial_rotary_factor");
  assert.equal(fieldOf({ ...llama, hidden_act: "gelu" }), "hidden_act");
  assert.equal(fieldOf({ ...llama, rope_scaling: { rope_type: "linear" } }), "rope_scaling.factor");
  assert.equal(
    fieldOf({ ...llama, rope_parameters: { full_attention: { rope_type: "default" } } }),
    "rope_parameters",
  );
  assert.equal(
    fieldOf({
      ...llama,
      rope_parameters: { rope_type: "llama3", factor: 8, low_freq_factor: 4, high_freq_factor: 1 },
    }),
    "rope_parameters.high_freq_factor",
  );
});

Deno.test("rope frequencies: llama3 keeps high frequencies, slows low ones by the factor", () => {
  const c = parseModelConfig({
    ...llama,
    rope_parameters: {
      rope_type: "llama3",
      rope_theta: 5e5,
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 64,
    },
  });
  const plain = ropeFrequencies({ ...c, rope: { type: "default" } }, 8).invFreq;
  const scaled = ropeFrequencies(c, 8).invFreq;
  assert.equal(scaled[0], plain[0]); // wavelength 2*pi < 64/4
  const last = plain.length - 1;
  assert.ok(Math.abs(scaled[last]! - plain[last]! / 8) < 1e-12 * plain[0]!);
  assert.ok(scaled.some((f, i) => f < plain[i]! && f > plain[i]! / 8), "a smoothed band");
  // dynamic NTK leaves frequencies alone within max_position_embeddings, lowers them past it
  const dyn = { ...c, rope: { type: "dynamic" as const, factor: 4 } };
  assert.deepEqual(
    ropeFrequencies(dyn, 64).invFreq,
    ropeFrequencies({ ...dyn, rope: { type: "default" } }, 64).invFreq,
  );
  assert.ok(ropeFrequencies(dyn, 128).invFreq[1]! < ropeFrequencies(dyn, 64).invFreq[1]!);
});

Deno.test("sliding window: Mistral on every layer, Qwen2 only when enabled and per layer type", () => {
  const mistral = { ...llama, architectures: ["MistralForCausalLM"] };
  assert.equal(parseModelConfig(mistral).slidingWindow, 4096); // transformers' default
  assert.equal(parseModelConfig({ ...mistral, sliding_window: null }).slidingWindow, null);
  const m = parseModelConfig({ ...mistral, sliding_window: 8 });
  assert.deepEqual(m.layerTypes, Array(4).fill("sliding_attention"));
  const qwen = { ...llama, architectures: ["Qwen2ForCausalLM"], sliding_window: 8 };
  assert.equal(parseModelConfig(qwen).slidingWindow, null); // use_sliding_window defaults false
  const q = parseModelConfig({ ...qwen, use_sliding_window: true, max_window_layers: 3 });
  assert.deepEqual(q.layerTypes, [
    "full_attention",
    "full_attention",
    "full_attention",
    "sliding_attention",
  ]);
  assert.equal(
    fieldOf({ ...qwen, use_sliding_window: true, layer_types: ["full_attention"] }),
    "layer_types",
  );
  // a config saved without a model names only model_type
  const { architectures: _, ...bare } = { ...qwen, model_type: "qwen2" };
  assert.equal(parseModelConfig(bare).architecture, "Qwen2ForCausalLM");
});

Deno.test("attention bias: a window of w lets query i see keys i-w+1..i, padding stays hidden", async () => {
  const b = attentionBias(4, 1, tf.tensor2d([[0, 1, 1, 1, 1]], undefined, "int32"), 2);
  const v = await b.data();
  const seen = (i: number) => [...v.slice(i * 5, i * 5 + 5)].map((x) => x > -1);
  assert.deepEqual(seen(0), [false, true, false, false, false]); // query at key position 1
  assert.deepEqual(seen(2), [false, false, true, true, false]);
  assert.deepEqual(seen(3), [false, false, false, true, true]);
  b.dispose();
});

Deno.test("attention bias on the host: the same values as the tensor ops, padding, window and past", async () => {
  const rows = [[0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1]];
  for (const [t, past, window] of [[6, 0, null], [1, 5, null], [3, 3, 2], [1, 5, 3]] as const) {
    const mask = rows.map((r) => r.slice(0, past + t));
    const m = tf.tensor2d(mask, undefined, "int32");
    const b = attentionBias(t, past, m, window);
    assert.deepEqual(b.shape, [3, 1, t, past + t]);
    assert.deepEqual(attentionBiasValues(t, past, mask, window), await b.data());
    tf.dispose([m, b]);
  }
});

Deno.test("configs written back: RoPE and sliding settings survive, the embedded config is unchanged", async () => {
  for (
    const json of [
      {
        ...llama,
        rope_parameters: {
          rope_type: "llama3",
          rope_theta: 5e5,
          factor: 8,
          low_freq_factor: 1,
          high_freq_factor: 4,
          original_max_position_embeddings: 16,
        },
      },
      {
        ...llama,
        rope_theta: 1e4,
        rope_scaling: { type: "yarn", factor: 4, original_max_position_embeddings: 16 },
      },
      {
        ...llama,
        architectures: ["Qwen2ForCausalLM"],
        use_sliding_window: true,
        sliding_window: 4,
        max_window_layers: 2,
      },
      { ...llama, architectures: ["MistralForCausalLM"], sliding_window: 6 },
    ]
  ) {
    const c = parseModelConfig(json);
    const again: ModelConfig = parseModelConfig(toHfConfig(c));
    assert.deepEqual({ ...again, raw: {} }, { ...c, raw: {} });
  }
  const file = new URL("../assets/embedded/base/config.json", import.meta.url);
  const embedded = JSON.parse(await Deno.readTextFile(file));
  assert.deepEqual(toHfConfig(parseModelConfig(embedded)), embedded);
});
