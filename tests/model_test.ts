import assert from "node:assert/strict";
import { tf } from "../backends/mod.ts";
import {
  causalLmLoss,
  createKvCache,
  disposeKvCache,
  disposeParams,
  forward,
  initParams,
  loadModel,
  type ModelConfig,
  ModelConfigInvalid,
  ModelWeightsInvalid,
  parseModelConfig,
  saveModel,
  tinyModelConfig,
  toHfConfig,
} from "../src/model/mod.ts";
import { FileInvalid } from "../src/io/mod.ts";
import { leakedTensors, testBackends, useBackend } from "./_helpers.ts";

const backends = await testBackends();
const ids = (rows: number[][]) => tf.tensor2d(rows, undefined, "int32");

async function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const v = (await d.data())[0]!;
  d.dispose();
  return v;
}

/** Values of a tensor (async: WebGPU in Deno cannot read synchronously). */
async function vals(t: tf.Tensor): Promise<number[]> {
  return [...await t.data()] as number[];
}

Deno.test("model config: HF fields parse, unknown architectures and bad fields are named", () => {
  const hf = {
    architectures: ["Qwen2ForCausalLM"],
    vocab_size: 100,
    hidden_size: 32,
    intermediate_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    rope_theta: 1e6,
    tie_word_embeddings: true,
    eos_token_id: [5, 6],
    torch_dtype: "bfloat16",
  };
  const c = parseModelConfig(hf);
  assert.equal(c.headDim, 8);
  assert.equal(c.qkvBias, true);
  assert.equal(c.oBias, false);
  assert.deepEqual(c.eosTokenIds, [5, 6]);
  assert.deepEqual(parseModelConfig(toHfConfig(c)), { ...c, raw: toHfConfig(c) });
  const err = (json: unknown) => {
    try {
      parseModelConfig(json, "cfg.json");
    } catch (e) {
      assert.ok(e instanceof ModelConfigInvalid);
      return e;
    }
    throw new Error("expected ModelConfigInvalid");
  };
  const unknown = err({ ...hf, architectures: ["GPT2LMHeadModel"] });
  assert.equal(unknown.field, "architectures");
  assert.match(unknown.message, /LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM/);
  assert.match(unknown.message, /GPT2LMHeadModel/);
  assert.equal(err({ ...hf, hidden_size: "32" }).field, "hidden_size");
  assert.equal(err({ ...hf, num_key_value_heads: 3 }).field, "num_key_value_heads");
  assert.equal(
    err({ ...hf, rope_scaling: { type: "longrope", factor: 2 } }).field,
    "rope_scaling.rope_type",
  );
  assert.equal(err([1, 2]).field, "<root>");
});

for (const backend of backends) {
  const cfg: ModelConfig = tinyModelConfig({ vocabSize: 40, qkvBias: true });

  Deno.test(`model[${backend}]: init is deterministic, forward gives [B,T,V] and no leaks`, async () => {
    await useBackend(backend);
    const p1 = initParams(cfg, 7, { std: 0.2 });
    const p2 = initParams(cfg, 7, { std: 0.2 });
    const p3 = initParams(cfg, 8, { std: 0.2 });
    const name = "model.layers.1.mlp.up_proj.weight";
    assert.deepEqual(await vals(p1[name]!), await vals(p2[name]!));
    assert.notDeepEqual(await vals(p1[name]!), await vals(p3[name]!));
    const x = ids([[1, 5, 7, 9], [3, 4, 0, 2]]);
    const logits = tf.tidy(() => forward(cfg, p1, x));
    assert.deepEqual(logits.shape, [2, 4, 40]);
    assert.ok((await vals(logits)).every(Number.isFinite));
    // causality: changing a later token does not change earlier logits
    const other = tf.tidy(() => forward(cfg, p1, ids([[1, 5, 7, 30], [3, 4, 0, 2]])));
    const [e1, e2] = [logits, other].map((t) => tf.slice(t, [0, 0, 0], [1, 3, 40]));
    assert.ok(await maxAbsDiff(e1!, e2!) < 1e-5);
    assert.ok(await maxAbsDiff(logits, other) > 1e-4);
    e1!.dispose();
    e2!.dispose();
    const leaked = await leakedTensors(() => {
      for (let i = 0; i < 3; i++) tf.tidy(() => forward(cfg, p1, x)).dispose();
    });
    assert.equal(leaked, 0);
    for (const t of [logits, other, x]) t.dispose();
    for (const p of [p1, p2, p3]) disposeParams(p);
  });

  Deno.test(`model[${backend}]: KV-cache incremental logits equal full recompute (left padded)`, async () => {
    await useBackend(backend);
    const p = initParams(cfg, 3, { std: 0.3 });
    const rows = [[0, 0, 4, 8, 12, 3, 9], [6, 2, 11, 5, 1, 17, 22]];
    const maskRows = [[0, 0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1]];
    const full = tf.tidy(() =>
      forward(cfg, p, ids(rows), { attentionMask: tf.tensor2d(maskRows, undefined, "int32") })
    ); // [2, 7, V]
    const cache = createKvCache(cfg);
    const before = tf.memory().numTensors;
    const steps: tf.Tensor[] = [];
    for (const [s, e] of [[0, 4], [4, 5], [5, 7]] as const) {
      steps.push(tf.tidy(() =>
        forward(cfg, p, ids(rows.map((r) => r.slice(s, e))), {
          cache,
          attentionMask: tf.tensor2d(maskRows.map((r) => r.slice(0, e)), undefined, "int32"),
        })
      ));
    }
    assert.equal(cache.length, 7);
    const inc = tf.concat(steps, 1);
    // padded positions attend to nothing real; compare the real ones
    const [r1, r2] = [full, inc].map((t) => tf.slice(t, [0, 2, 0], [2, 5, cfg.vocabSize]));
    assert.ok(await maxAbsDiff(r1!, r2!) < 1e-4);
    r1!.dispose();
    r2!.dispose();
    disposeKvCache(cache);
    for (const t of [...steps, inc]) t.dispose();
    assert.equal(tf.memory().numTensors - before, 0);
    full.dispose();
    disposeParams(p);
  });

  Deno.test(`model[${backend}]: loss gradients match finite differences`, async () => {
    await useBackend(backend);
    const p = initParams(cfg, 11, { std: 0.3 });
    const batch = {
      inputIds: ids([[1, 5, 7, 9, 2], [3, 4, 6, 2, 0]]),
      labels: ids([[-100, -100, 7, 9, 2], [-100, 4, 6, 2, -100]]),
      attentionMask: ids([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]]),
    };
    const name = "model.layers.0.self_attn.v_proj.weight";
    const w0 = p[name]!;
    const lossAt = (w: tf.Tensor) => causalLmLoss(cfg, { ...p, [name]: w }, batch);
    const g = tf.tidy(() => tf.grad((w: tf.Tensor) => lossAt(w))(w0));
    const gv = await vals(g);
    const eps = 1e-2;
    const base = await vals(w0);
    const idx = [0, 5, 17, 40, 63];
    for (const i of idx) {
      const plus = [...base];
      const minus = [...base];
      plus[i] = plus[i]! + eps;
      minus[i] = minus[i]! - eps;
      const [lp, lm] = tf.tidy(() => [plus, minus].map((w) => lossAt(tf.tensor(w, w0.shape))));
      const fd = ((await vals(lp!))[0]! - (await vals(lm!))[0]!) / (2 * eps);
      lp!.dispose();
      lm!.dispose();
      assert.ok(
        Math.abs(fd - gv[i]!) < 2e-3 + 0.05 * Math.abs(fd),
        `index ${i}: finite difference ${fd} vs gradient ${gv[i]}`,
      );
    }
    assert.ok(idx.some((i) => Math.abs(gv[i]!) > 1e-4), "gradients are not all ~0");
    // masked labels only: loss 0 (not NaN)
    const none = tf.tidy(() =>
      causalLmLoss(cfg, p, { ...batch, labels: tf.fill([2, 5], -100, "int32") })
    );
    assert.equal(Math.abs((await vals(none))[0]!), 0);
    none.dispose();
    g.dispose();
    Object.values(batch).forEach((t) => t.dispose());
    disposeParams(p);
  });

  Deno.test(`model[${backend}]: save/load is bit-exact; missing/wrong tensors are named`, async () => {
    await useBackend(backend);
    const tied = tinyModelConfig({ tieWordEmbeddings: true, architecture: "MistralForCausalLM" });
    const p = initParams(tied, 5);
    const dir = await Deno.makeTempDir();
    await saveModel(dir, tied, p);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "config.json",
      "model.safetensors",
    ]);
    const loaded = await loadModel(dir);
    assert.deepEqual(loaded.config, { ...tied, raw: loaded.config.raw });
    assert.deepEqual(Object.keys(loaded.params).sort(), Object.keys(p).sort());
    assert.ok(!("lm_head.weight" in loaded.params));
    for (const [k, t] of Object.entries(p)) {
      assert.deepEqual(await vals(loaded.params[k]!), await vals(t), k);
    }
    // a config with a larger vocab no longer matches the weights
    const cfgJson = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ ...cfgJson, vocab_size: 97 }));
    await assert.rejects(() => loadModel(dir), (e) => {
      assert.ok(e instanceof ModelWeightsInvalid);
      assert.equal(e.tensor, "model.embed_tokens.weight");
      return true;
    });
    await Deno.writeTextFile(`${dir}/config.json`, "{ not json");
    await assert.rejects(
      () => loadModel(dir),
      (e) => e instanceof FileInvalid && e.problem === "not_json",
    );
    disposeParams(p);
    disposeParams(loaded.params);
    await Deno.remove(dir, { recursive: true });
  });
}
