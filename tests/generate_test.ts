import assert from "node:assert/strict";
import { tf } from "../backends/mod.ts";
import { generate, generateText } from "../src/generate/mod.ts";
import {
  createKvCache,
  disposeKvCache,
  disposeParams,
  forward,
  initParams,
  tinyModelConfig,
} from "../src/model/mod.ts";
import { tokenizerFromJson, trainBpeTokenizer } from "../src/tokenizer/mod.ts";
import { leakedTensors, testBackends, useBackend } from "./_helpers.ts";

const backends = await testBackends();
const cfg = tinyModelConfig({ vocabSize: 48, eosTokenIds: [2] });
const batch = {
  inputIds: [[0, 0, 5, 9, 13], [7, 3, 22, 4, 30]],
  attentionMask: [[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]],
};

for (const backend of backends) {
  Deno.test(`generate[${backend}]: greedy with cache == without; batch == single; no leaks`, async () => {
    await useBackend(backend);
    const p = initParams(cfg, 4, { std: 0.5 });
    const opts = { maxNewTokens: 6, eosIds: [] as number[], padId: 0 };
    const cached = await generate(cfg, p, batch, opts);
    const recomputed = await generate(cfg, p, batch, { ...opts, useCache: false });
    assert.deepEqual(cached, recomputed);
    assert.ok(cached.every((r) => r.length === 6));
    // left padding does not change a row's continuation
    const alone = await generate(
      cfg,
      p,
      { inputIds: [[5, 9, 13]], attentionMask: [[1, 1, 1]] },
      opts,
    );
    assert.deepEqual(alone[0], cached[0]);
    // stopping at EOS: declare the 3rd greedy token of row 0 an EOS
    const stop = cached[0]![2]!;
    const stopped = await generate(cfg, p, batch, { ...opts, eosIds: [stop] });
    assert.deepEqual(stopped[0], cached[0]!.slice(0, cached[0]!.indexOf(stop)));
    const leaked = await leakedTensors(async () => {
      await generate(cfg, p, batch, opts);
      await generate(cfg, p, batch, { ...opts, useCache: false, temperature: 1, seed: 3 });
    });
    assert.equal(leaked, 0);
    disposeParams(p);
  });

  Deno.test(`forward[${backend}]: host mask rows == mask tensor, prompt and cached step, sliding layer`, async () => {
    await useBackend(backend);
    const sc = {
      ...cfg,
      slidingWindow: 3,
      layerTypes: ["full_attention", "sliding_attention"] as const,
    };
    const p = initParams(sc, 5, { std: 0.5 });
    const run = async (host: boolean) => {
      const cache = createKvCache(sc, 8);
      const shapes: number[][] = [];
      const hiddenHook = (_: number, h: tf.Tensor) => (shapes.push(h.shape), h);
      const step = (ids: number[][], mask: number[][]) =>
        tf.tidy(() => {
          const m = host
            ? { hostMask: mask }
            : { attentionMask: tf.tensor2d(mask, undefined, "int32") };
          const t = tf.tensor2d(ids, undefined, "int32");
          return forward(sc, p, t, { ...m, cache, lastOnly: true, hiddenHook });
        });
      const first = step(batch.inputIds, batch.attentionMask); // [B, 1, V]
      const next = step([[11], [12]], batch.attentionMask.map((r) => [...r, 1])); // [B, 1, V]
      const out = [first.shape, await first.data(), await next.data()] as const;
      tf.dispose([first, next]);
      disposeKvCache(cache);
      return { out, shapes };
    };
    const host = await run(true);
    const tensor = await run(false);
    assert.deepEqual(host.out[0], [2, 1, 48]);
    assert.deepEqual(host.out, tensor.out);
    assert.deepEqual(host.shapes, tensor.shapes);
    assert.deepEqual(host.shapes[0], [2, 5, 16]); // the hook sees [B, T, C]
    disposeParams(p);
  });

  Deno.test(`generate[${backend}]: sampling is seeded; top-p near 0 is greedy`, async () => {
    await useBackend(backend);
    const p = initParams(cfg, 4, { std: 0.5 });
    const opts = { maxNewTokens: 8, eosIds: [] as number[], padId: 0, temperature: 1.5 };
    const a = await generate(cfg, p, batch, { ...opts, seed: 1 });
    const b = await generate(cfg, p, batch, { ...opts, seed: 1 });
    const c = await generate(cfg, p, batch, { ...opts, seed: 2 });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    const greedy = await generate(cfg, p, batch, { ...opts, temperature: 0 });
    const nucleus = await generate(cfg, p, batch, { ...opts, topP: 1e-6, seed: 9 });
    assert.deepEqual(nucleus, greedy);
    disposeParams(p);
  });
}

Deno.test("generate: text in, text out through a trained tokenizer", async () => {
  await useBackend(backends.includes("wasm") ? "wasm" : "cpu");
  const tok = tokenizerFromJson(
    trainBpeTokenizer(["hello world", "hello there"], {
      vocabSize: 270,
      specialTokens: ["<pad>", "<s>", "</s>"],
    }),
    { bos_token: "<s>", eos_token: "</s>", pad_token: "<pad>" },
  );
  const c = tinyModelConfig({ vocabSize: tok.vocabSize, eosTokenIds: [tok.eosId] });
  const p = initParams(c, 1, { std: 0.5 });
  const before = tf.memory().numTensors;
  const out = await generateText(c, p, tok, ["hello", "hello world, and a longer prompt"], {
    maxNewTokens: 5,
  });
  assert.equal(out.length, 2);
  assert.ok(out.every((s) => typeof s === "string"));
  assert.equal(tf.memory().numTensors, before);
  disposeParams(p);
});
