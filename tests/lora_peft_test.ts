/**
 * PEFT's adapter_config.json rules: which modules an adapter touches, with which rank and
 * alpha, and which settings are refused; and the adapters this project writes, read back
 * into the same modules, ranks and alphas.
 */
import assert from "node:assert/strict";
import { initBackend, tf } from "../backends/mod.ts";
import {
  AdapterInvalid,
  createAdapter,
  isTargeted,
  loadAdapter,
  loraScaling,
  parsePeftConfig,
  peftConfigJson,
  rankAndAlpha,
  saveAdapter,
} from "../src/lora/mod.ts";
import { forward, loadModel, modulePath, tinyModelConfig } from "../src/model/mod.ts";

await initBackend("cpu");
const FIX = new URL("./fixtures/hf/", import.meta.url).pathname;
const haveFixtures = (() => {
  try {
    return Deno.statSync(`${FIX}manifest.json`).isFile;
  } catch {
    return false;
  }
})();

const base = { peft_type: "LORA", r: 4, lora_alpha: 8, target_modules: ["q_proj", "v_proj"] };
const fieldOf = (json: unknown): string => {
  try {
    parsePeftConfig(json, "a.json");
  } catch (e) {
    assert.ok(e instanceof AdapterInvalid, String(e));
    return e.field;
  }
  throw new Error("expected AdapterInvalid");
};
const q = (i: number) => modulePath(i, "q_proj");
const v = (i: number) => modulePath(i, "v_proj");
const down = (i: number) => modulePath(i, "down_proj");

Deno.test("peft config: short names, full paths, all-linear and regexes select as PEFT does", () => {
  const short = parsePeftConfig(base);
  assert.ok(isTargeted(short, q(0)) && isTargeted(short, v(3)));
  assert.ok(!isTargeted(short, modulePath(0, "k_proj")));
  const full = parsePeftConfig({ ...base, target_modules: [q(1), down(0)] });
  assert.ok(isTargeted(full, q(1)) && isTargeted(full, down(0)));
  assert.ok(!isTargeted(full, q(0)) && !isTargeted(full, down(1)));
  const all = parsePeftConfig({ ...base, target_modules: "all-linear" });
  assert.ok(isTargeted(all, down(5)) && !isTargeted(all, "lm_head"));
  // A string is a regular expression matched against the whole path (Python re.fullmatch).
  const re = parsePeftConfig({ ...base, target_modules: String.raw`.*\.1\.self_attn\.(q|v)_proj` });
  assert.ok(isTargeted(re, q(1)) && isTargeted(re, v(1)) && !isTargeted(re, q(11)));
  assert.ok(!isTargeted(re, q(0)));
  const excluded = parsePeftConfig({ ...base, exclude_modules: [q(0)] });
  assert.ok(!isTargeted(excluded, q(0)) && isTargeted(excluded, q(1)));
  const layers = parsePeftConfig({ ...base, layers_to_transform: [1, 3] });
  assert.deepEqual([0, 1, 2, 3].map((i) => isTargeted(layers, q(i))), [false, true, false, true]);
  const one = parsePeftConfig({ ...base, layers_to_transform: 2, layers_pattern: "layers" });
  assert.deepEqual([1, 2].map((i) => isTargeted(one, v(i))), [false, true]);
  assert.equal(fieldOf({ ...base, target_modules: "(unclosed" }), "target_modules");
  assert.equal(fieldOf({ ...base, target_modules: [] }), "target_modules");
});

Deno.test("peft config: rank and alpha patterns take the first match; rsLoRA scales by sqrt(r)", () => {
  const c = parsePeftConfig({
    ...base,
    use_rslora: true,
    rank_pattern: { "model.layers.1.self_attn.q_proj": 6, q_proj: 2 },
    alpha_pattern: { v_proj: 3 },
  });
  assert.deepEqual(rankAndAlpha(c, q(1)), { r: 6, alpha: 8 });
  assert.deepEqual(rankAndAlpha(c, q(0)), { r: 2, alpha: 8 });
  assert.deepEqual(rankAndAlpha(c, v(0)), { r: 4, alpha: 3 });
  assert.equal(loraScaling({ r: 4, alpha: 8, useRslora: true }), 4);
  assert.equal(loraScaling({ r: 4, alpha: 8, useRslora: false }), 2);
  assert.equal(fieldOf({ ...base, rank_pattern: { q_proj: 0 } }), "rank_pattern.q_proj");
});

Deno.test("peft config: settings that change the math are refused by name, with the reason", () => {
  const refused: Record<string, unknown> = {
    modules_to_save: ["lm_head"],
    use_dora: true,
    lora_bias: true,
    fan_in_fan_out: true,
    target_parameters: ["experts.gate_up_proj"],
    trainable_token_indices: [5],
    layer_replication: [[0, 2]],
    bias: "all",
    peft_type: "IA3",
  };
  for (const [key, value] of Object.entries(refused)) {
    assert.equal(fieldOf({ ...base, [key]: value }), key, key);
  }
  assert.throws(
    () => parsePeftConfig({ ...base, modules_to_save: ["lm_head"] }, "a.json"),
    /modules_to_save.*not supported.*lm_head/,
  );
  // PEFT's own defaults for these keys are accepted.
  parsePeftConfig({
    ...base,
    modules_to_save: null,
    use_dora: false,
    bias: "none",
    loftq_config: {},
  });
});

Deno.test("peft load: untargeted tensors, missing modules and wrong ranks are refused", async () => {
  const cfg = tinyModelConfig({ numLayers: 2 });
  const a = createAdapter(cfg, { r: 4, alpha: 8, dropout: 0, targets: ["q_proj", "v_proj"] }, 3);
  const dir = await Deno.makeTempDir();
  await saveAdapter(dir, a);
  const json = JSON.parse(await Deno.readTextFile(`${dir}/adapter_config.json`));
  const rejectsWith = async (changes: Record<string, unknown>, field: RegExp) => {
    await Deno.writeTextFile(`${dir}/adapter_config.json`, JSON.stringify({ ...json, ...changes }));
    await assert.rejects(() => loadAdapter(dir, cfg), (e) => {
      assert.ok(e instanceof AdapterInvalid, String(e));
      assert.match(e.field, field);
      return true;
    });
  };
  // tensors for v_proj that the config no longer targets: PEFT would drop them silently
  await rejectsWith({ target_modules: ["q_proj"] }, /v_proj/);
  // the config targets k_proj but the file has no matrices for it
  await rejectsWith({ target_modules: ["q_proj", "k_proj", "v_proj"] }, /k_proj/);
  // a rank pattern the file's matrices do not have
  await rejectsWith({ rank_pattern: { q_proj: 2 } }, /q_proj\.lora_A/);
  await Deno.writeTextFile(`${dir}/adapter_config.json`, JSON.stringify(json));
  const b = await loadAdapter(dir, cfg);
  assert.equal(b.modules.size, 4);
  a.dispose();
  b.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test({
  name: "peft save: per-module ranks and alphas survive a save and load (rsLoRA fixture)",
  ignore: !haveFixtures,
  fn: async () => {
    const { config, params } = await loadModel(`${FIX}mistral`);
    const a = await loadAdapter(`${FIX}mistral/adapter-rslora`, config);
    assert.equal(a.modules.get(q(1))!.r, 6);
    assert.equal(a.modules.get(modulePath(0, "k_proj"))!.r, 2);
    assert.equal(a.modules.get(modulePath(0, "o_proj"))!.alpha, 3);
    assert.equal(a.modules.get(q(0))!.scaling, 8 / Math.sqrt(4));
    const dir = await Deno.makeTempDir();
    await saveAdapter(dir, a, { baseModel: "tests/fixtures/hf/mistral" });
    const json = JSON.parse(await Deno.readTextFile(`${dir}/adapter_config.json`));
    assert.equal(json.base_model_name_or_path, "tests/fixtures/hf/mistral");
    assert.equal(json.use_rslora, true);
    assert.deepEqual(json.target_modules, ["q_proj", "k_proj", "v_proj", "o_proj"]);
    assert.equal(json.rank_pattern[q(1)], 6);
    assert.equal(json.alpha_pattern[modulePath(1, "o_proj")], 3);
    const b = await loadAdapter(dir, config);
    const ids = tf.tensor2d([[3, 9, 14, 2, 7, 30]], undefined, "int32");
    const [la, lb] = [a, b].map((x) =>
      tf.tidy(() => forward(config, params, ids, { adapters: [x] }))
    );
    assert.deepEqual([...await la!.data()], [...await lb!.data()]);
    for (const t of [la!, lb!, ids, ...Object.values(params)]) t.dispose();
    a.dispose();
    b.dispose();
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "peft save: an adapter on some layers only is written with full module paths",
  ignore: !haveFixtures,
  fn: async () => {
    const { config, params } = await loadModel(`${FIX}llama3`);
    const a = await loadAdapter(`${FIX}llama3/adapter-layers`, config);
    assert.deepEqual([...a.modules.keys()].sort(), [q(1), v(1)]);
    assert.deepEqual(peftConfigJson(a).target_modules, [q(1), v(1)]);
    a.dispose();
    Object.values(params).forEach((t) => t.dispose());
  },
});
