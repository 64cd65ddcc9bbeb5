import assert from "node:assert/strict";
import { tf } from "../backends/mod.ts";
import { parseSafetensors } from "../src/io/mod.ts";
import {
  AdapterInvalid,
  createAdapter,
  loadAdapter,
  type LoraAdapter,
  mergeAdapter,
  saveAdapter,
} from "../src/lora/mod.ts";
import {
  causalLmLoss,
  disposeParams,
  forward,
  initParams,
  tinyModelConfig,
} from "../src/model/mod.ts";
import { leakedTensors, testBackends, useBackend } from "./_helpers.ts";

const backends = await testBackends();
const cfg = tinyModelConfig({ vocabSize: 40 });
const lora = { r: 4, alpha: 8, dropout: 0.1, targets: ["q_proj", "v_proj", "down_proj"] };
const ids = () => tf.tensor2d([[1, 5, 7, 9], [3, 4, 8, 2]], undefined, "int32");

async function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const v = (await d.data())[0]!;
  d.dispose();
  return v;
}

/** Give every B a random value so the adapter does something. */
function randomizeB(a: LoraAdapter, seed: number): void {
  let s = seed;
  for (const m of a.modules.values()) {
    m.B.assign(tf.tidy(() => tf.randomNormal(m.B.shape, 0, 0.3, "float32", s++)));
  }
}

Deno.test("lora: config errors name the field", () => {
  assert.throws(() => createAdapter(cfg, { ...lora, targets: ["qkv"] }, 1), (e) => {
    assert.ok(e instanceof AdapterInvalid);
    assert.equal(e.field, "targets");
    assert.match(e.message, /q_proj/);
    return true;
  });
  assert.throws(() => createAdapter(cfg, { ...lora, r: 0 }, 1), AdapterInvalid);
  assert.throws(() => createAdapter(cfg, { ...lora, dropout: 1 }, 1), AdapterInvalid);
});

for (const backend of backends) {
  Deno.test(`lora[${backend}]: fresh adapter is a no-op; merged == unmerged; stacking`, async () => {
    await useBackend(backend);
    const p = initParams(cfg, 1, { std: 0.2 });
    const x = ids();
    const a1 = createAdapter(cfg, lora, 10);
    assert.equal(a1.scaling, 2);
    assert.equal(a1.modules.size, 2 * 3);
    const base = tf.tidy(() => forward(cfg, p, x));
    const fresh = tf.tidy(() => forward(cfg, p, x, { adapters: [a1] }));
    assert.equal(await maxAbsDiff(base, fresh), 0);
    randomizeB(a1, 3);
    const a2 = createAdapter(cfg, { ...lora, targets: ["o_proj", "v_proj"] }, 11);
    randomizeB(a2, 50);
    const unmerged = tf.tidy(() => forward(cfg, p, x, { adapters: [a1, a2] }));
    assert.ok(await maxAbsDiff(base, unmerged) > 1e-3, "a trained adapter changes the output");
    const m1 = mergeAdapter(p, a1);
    const m12 = mergeAdapter(m1, a2);
    const merged = tf.tidy(() => forward(cfg, m12, x));
    assert.ok(await maxAbsDiff(merged, unmerged) < 1e-4);
    const half = tf.tidy(() => forward(cfg, m1, x, { adapters: [a2] }));
    assert.ok(await maxAbsDiff(half, unmerged) < 1e-4);
    disposeParams(m1); // merged params own their tensors
    assert.ok(await maxAbsDiff(merged, tf.tidy(() => forward(cfg, m12, x))) < 1e-6);
    for (const t of [base, fresh, unmerged, merged, half, x]) t.dispose();
    disposeParams(m12);
    disposeParams(p);
    a1.dispose();
    a2.dispose();
  });

  Deno.test(`lora[${backend}]: gradients reach only adapter variables, dropout is seeded, no leaks`, async () => {
    await useBackend(backend);
    const p = initParams(cfg, 2, { std: 0.2 });
    const a = createAdapter(cfg, lora, 4);
    const batch = {
      inputIds: ids(),
      labels: tf.tensor2d([[-100, 5, 7, 9], [-100, -100, 8, 2]], undefined, "int32"),
      attentionMask: tf.ones([2, 4], "int32"),
    };
    const vars = a.trainable();
    assert.ok("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight" in vars);
    const step = (seed: number) =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(
          () => causalLmLoss(cfg, p, batch, { adapters: [a], training: true, dropoutSeed: seed }),
          Object.values(vars),
        );
        assert.equal(Object.keys(grads).length, Object.keys(vars).length);
        const bNorm = tf.addN(
          [...a.modules.values()].map((m) => tf.sum(tf.square(grads[m.B.name]!))),
        );
        const aNorm = tf.addN(
          [...a.modules.values()].map((m) => tf.sum(tf.square(grads[m.A.name]!))),
        );
        return tf.stack([value, bNorm, aNorm]);
      });
    const r0 = await step(7).data();
    assert.ok(r0[1]! > 0, "B receives gradient");
    assert.equal(r0[2], 0, "A has zero gradient while B = 0");
    randomizeB(a, 1);
    const r1 = await step(7).data();
    const r2 = await step(7).data();
    const r3 = await step(8).data();
    assert.ok(r1[2]! > 0, "A receives gradient once B != 0");
    assert.equal(r1[0], r2[0], "same dropout seed, same loss");
    assert.notEqual(r1[0], r3[0], "another dropout seed, another loss");
    const leaked = await leakedTensors(async () => {
      for (let i = 0; i < 3; i++) await step(i).data();
    });
    assert.ok(leaked <= 3, `leaked ${leaked}`); // only the three returned results
    Object.values(batch).forEach((t) => t.dispose());
    disposeParams(p);
    a.dispose();
  });

  Deno.test(`lora[${backend}]: PEFT save/load round trip is bit-exact; bad files are named`, async () => {
    await useBackend(backend);
    const a = createAdapter(cfg, lora, 21);
    randomizeB(a, 9);
    const dir = await Deno.makeTempDir();
    await saveAdapter(dir, a, { baseModel: "tiny" });
    const json = JSON.parse(await Deno.readTextFile(`${dir}/adapter_config.json`));
    assert.equal(json.peft_type, "LORA");
    assert.equal(json.r, 4);
    assert.equal(json.lora_alpha, 8);
    assert.deepEqual(json.target_modules, lora.targets);
    const st = parseSafetensors(await Deno.readFile(`${dir}/adapter_model.safetensors`));
    assert.deepEqual(
      st.tensors.get("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight")?.shape,
      [16, 4],
    );
    const b = await loadAdapter(dir, cfg);
    assert.deepEqual(b.config, { ...lora, useRslora: false });
    for (const [k, v] of Object.entries(a.trainable())) {
      const w = b.trainable()[k];
      assert.ok(w, k);
      assert.deepEqual([...await w.data()], [...await v.data()], k);
    }
    // a model whose shapes differ is refused with the module named
    await assert.rejects(() => loadAdapter(dir, { ...cfg, hiddenSize: 32 }), (e) => {
      assert.ok(e instanceof AdapterInvalid);
      assert.match(e.field, /^model\.layers\.\d\./);
      return true;
    });
    await Deno.writeTextFile(
      `${dir}/adapter_config.json`,
      JSON.stringify({ ...json, use_dora: true }),
    );
    await assert.rejects(
      () => loadAdapter(dir),
      (e) => e instanceof AdapterInvalid && e.field === "use_dora",
    );
    a.dispose();
    b.dispose();
    await Deno.remove(dir, { recursive: true });
  });
}
