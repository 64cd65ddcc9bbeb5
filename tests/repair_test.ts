/**
 * The repair methods against their defining properties, computed independently on the host:
 * Safe LoRA leaves the modules above its threshold bit-identical and replaces the others'
 * update by exactly C dW; Antidote's scores are |W| times the inputs' L2 norms over the real
 * tokens, and it removes exactly the share it names, the highest-scoring weights of each row.
 */
import assert from "node:assert/strict";
import { Effect } from "effect";
import { tf } from "../backends/mod.ts";
import { seededRandom } from "../src/data/rng.ts";
import { adapterFromTensors, type LoraAdapter, type LoraMatrices } from "../src/lora/mod.ts";
import {
  disposeParams,
  initParams,
  modulePath,
  normalArray,
  type Params,
  tinyModelConfig,
} from "../src/model/mod.ts";
import { antidote, loraInputNorms, safeLora, wandaPrune } from "../src/repair/mod.ts";
import { padForTraining } from "../src/tokenizer/mod.ts";
import { assertClose, useBackend, withBackend } from "./_helpers.ts";
import { read } from "./train_toy.ts";

const run = <A, E>(e: Effect.Effect<A, E, never>) => Effect.runPromise(e);

/** Row-major host matrices. */
const matmul = (a: number[], b: number[], n: number, k: number, m: number): number[] => {
  const out = new Array(n * m).fill(0);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += a[i * k + t]! * b[t * m + j]!;
      out[i * m + j] = s;
    }
  }
  return out;
};
const norm = (a: number[]) => Math.sqrt(a.reduce((s, x) => s + x * x, 0));
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

Deno.test("safelora: modules above the threshold untouched, the others projected exactly", async () => {
  await useBackend("cpu");
  const before = tf.memory().numTensors;
  const config = tinyModelConfig({ numLayers: 2 });
  const base = initParams(config, 3);
  const rand = seededRandom(8);
  const r = 4;
  const aligned: Params = { ...base };
  const made: tf.Tensor[] = [];
  const modules = new Map<string, LoraMatrices>();
  const host = new Map<
    string,
    { v: number[]; a: number[]; b: number[]; out: number; inp: number }
  >();
  // Per module a rank-1 alignment change u w^T. In layer 0 the update lies along u (cosine 1);
  // in layer 1 mostly across it (a low cosine).
  for (const layer of [0, 1]) {
    for (const m of ["q_proj", "v_proj"] as const) {
      const path = modulePath(layer, m);
      const w0 = base[`${path}.weight`]!;
      const [out, inp] = w0.shape as [number, number];
      const u = Array.from(normalArray(out, 1, rand));
      const un = norm(u);
      const w = Array.from(normalArray(inp, 1, rand));
      const v = u.flatMap((ui) => w.map((wj) => 0.3 * ui * wj)); // [out, in]
      const a = Array.from(normalArray(r * inp, 0.5, rand));
      const c = Array.from(normalArray(r, 1, rand));
      const noise = Array.from(normalArray(out * r, 1, rand));
      // b = along * u c^T + across, with the across part orthogonal to u.
      const along = layer === 0 ? 1 : 0.2;
      const b = new Array(out * r).fill(0).map((_, idx) => {
        const i = Math.floor(idx / r);
        const k = idx % r;
        let x = along * u[i]! * c[k]!;
        if (layer === 1) {
          const col = Array.from({ length: out }, (_, ii) => noise[ii * r + k]!);
          const proj = dot(col, u) / (un * un);
          x += noise[idx]! - proj * u[i]!;
        }
        return x;
      });
      const vt = tf.tensor2d(v, [out, inp]);
      aligned[`${path}.weight`] = tf.add(w0, vt);
      made.push(vt, aligned[`${path}.weight`]!);
      modules.set(path, { A: tf.tensor2d(a, [r, inp]), B: tf.tensor2d(b, [out, r]) });
      host.set(path, { v, a, b, out, inp });
    }
  }
  const adapter = adapterFromTensors(
    { r, alpha: 8, dropout: 0, targets: ["q_proj", "v_proj"] },
    modules,
    false,
  );
  for (const m of modules.values()) tf.dispose([m.A, m.B]);

  const byHand = (path: string) => {
    const h = host.get(path)!;
    const vvT = matmul(h.v, transpose(h.v, h.out, h.inp), h.out, h.inp, h.out);
    const c = vvT.map((x) => x / norm(h.v)); // [out, out]
    const dw = matmul(h.b, h.a, h.out, r, h.inp);
    const cdw = matmul(c, dw, h.out, h.out, h.inp);
    return { c, cb: matmul(c, h.b, h.out, h.out, r), cos: dot(dw, cdw) / (norm(dw) * norm(cdw)) };
  };
  const result = await run(withBackend(safeLora({ adapter, aligned, base }, { threshold: 0.5 })));
  assert.equal(result.modules.length, 4);
  for (const m of result.modules) {
    const want = byHand(m.path);
    assertClose(m.cosine!, want.cos, 1e-4, `cosine of ${m.path}`);
    assert.equal(m.projected, want.cos <= 0.5, `${m.path}: cosine ${want.cos}`);
    const got = result.adapter.modules.get(m.path)!;
    const orig = adapter.modules.get(m.path)!;
    assert.deepEqual(await read(got.A), await read(orig.A)); // A is never changed
    if (!m.projected) {
      assert.deepEqual(await read(got.B), await read(orig.B)); // bit-identical
    } else {
      (await read(got.B)).forEach((x, i) =>
        assertClose(x, want.cb[i]!, 1e-4, `${m.path} CB[${i}]`)
      );
    }
  }
  assert.deepEqual(result.modules.map((m) => m.projected), [false, false, true, true]);
  // Number mode: the single least similar module.
  const one = await run(withBackend(safeLora({ adapter, aligned, base }, { layers: 1 })));
  const cos = result.modules.map((m) => m.cosine!);
  const lowest = cos.indexOf(Math.min(...cos));
  assert.deepEqual(one.modules.map((m) => m.projected), cos.map((_, i) => i === lowest));
  // A module the alignment did not change has no subspace: refused by name.
  const flat = {
    ...aligned,
    [`${modulePath(1, "v_proj")}.weight`]: base[`${modulePath(1, "v_proj")}.weight`]!,
  };
  const err = await run(Effect.flip(withBackend(safeLora({ adapter, aligned: flat, base }))));
  assert.match(err.message, /model\.layers\.1\.self_attn\.v_proj/);
  result.adapter.dispose();
  one.adapter.dispose();
  adapter.dispose();
  tf.dispose(made);
  disposeParams(base);
  assert.equal(tf.memory().numTensors, before);
});

function transpose(a: number[], n: number, m: number): number[] {
  return Array.from({ length: n * m }, (_, idx) => a[(idx % n) * m + Math.floor(idx / n)]!);
}

Deno.test("wanda pruning: each row loses exactly its share, the highest |w| * sqrt(norm)", () => {
  const w = Float32Array.from([1, -5, 2, 0.5, 3, 1, 1, 1, 1, 1]); // 1 row of 10
  const n = Float32Array.from([1, 1, 4, 100, 1, 1, 1, 1, 1, 1]);
  // scores: 1, 5, 4, 5, 3, 1, ... : 10% of 10 = 1 weight; of the two 5s the later column.
  const one = wandaPrune(w, 1, 10, n, 0.1);
  assert.equal(one.pruned, 1);
  assert.deepEqual(
    Array.from(one.weights).map((x, i) => (x === 0 ? i : -1)).filter((i) => i >= 0),
    [3],
  );
  const three = wandaPrune(w, 1, 10, n, 0.3); // floor(0.7 * 10) = 7 kept
  assert.equal(three.pruned, 3);
  assert.deepEqual(
    Array.from(three.weights).map((x, i) => (x === 0 ? i : -1)).filter((i) => i >= 0),
    [1, 2, 3],
  );
  // Rank-sized rows: 8 columns at 10% lose 8 - floor(7.2) = 1 each.
  const rows = wandaPrune(new Float32Array(16).fill(1), 2, 8, new Float32Array(8).fill(1), 0.1);
  assert.equal(rows.pruned, 2);
  assert.equal(wandaPrune(w, 1, 10, n, 0).pruned, 0);
});

function antidoteCase(): {
  config: ReturnType<typeof tinyModelConfig>;
  params: Params;
  adapter: LoraAdapter;
} {
  const config = tinyModelConfig({ numLayers: 2 });
  const params = initParams(config, 5, { std: 0.2 });
  const rand = seededRandom(12);
  const modules = new Map<string, LoraMatrices>();
  for (const layer of [0, 1]) {
    for (const m of ["q_proj", "v_proj"] as const) {
      const [out, inp] = params[`${modulePath(layer, m)}.weight`]!.shape as [number, number];
      modules.set(modulePath(layer, m), {
        A: tf.tensor2d(normalArray(4 * inp, 0.5, rand), [4, inp]),
        B: tf.tensor2d(normalArray(out * 4, 0.5, rand), [out, 4]),
      });
    }
  }
  const adapter = adapterFromTensors(
    { r: 4, alpha: 8, dropout: 0, targets: ["q_proj", "v_proj"] },
    modules,
    false,
  );
  for (const m of modules.values()) tf.dispose([m.A, m.B]);
  return { config, params, adapter };
}

Deno.test("antidote: input norms over real tokens only, by hand at the first layer", async () => {
  await useBackend("cpu");
  const { config, params, adapter } = antidoteCase();
  const before = tf.memory().numTensors;
  const rows = [{ prompt: [5, 9, 11], target: [7, 2] }, { prompt: [4, 6], target: [2] }];
  const batch = padForTraining(rows, 0, 16); // the second row is padded
  const norms = loraInputNorms(config, params, adapter, [batch]);
  const q0 = norms.get(modulePath(0, "q_proj"))!;
  const [gotA, gotB] = [await read(q0.a), await read(q0.b)];
  // By hand: q_proj's input at layer 0 is RMSNorm(embedding) * input_layernorm.weight.
  const emb = await read(params["model.embed_tokens.weight"]!);
  const g = await read(params["model.layers.0.input_layernorm.weight"]!);
  const a = await read(adapter.modules.get(modulePath(0, "q_proj"))!.A);
  const c = config.hiddenSize;
  const wantA = new Array(c).fill(0);
  const wantB = new Array(4).fill(0);
  batch.inputIds.forEach((ids, i) =>
    ids.forEach((id, t) => {
      if (batch.attentionMask[i]![t] === 0) return;
      const e = emb.slice(id * c, id * c + c);
      const rms = Math.sqrt(e.reduce((s, x) => s + x * x, 0) / c + config.rmsNormEps);
      const x = e.map((v, j) => (v / rms) * g[j]!);
      x.forEach((v, j) => (wantA[j] += v * v));
      for (let k = 0; k < 4; k++) wantB[k] += dot(a.slice(k * c, k * c + c), x) ** 2;
    })
  );
  gotA.forEach((v, j) => assertClose(v, wantA[j]!, 1e-4, `A input column ${j}`));
  gotB.forEach((v, k) => assertClose(v, wantB[k]!, 1e-4, `B input column ${k}`));
  for (const s of norms.values()) tf.dispose([s.a, s.b]);
  assert.equal(tf.memory().numTensors, before);
  adapter.dispose();
  disposeParams(params);
});

Deno.test("antidote: removes exactly the ratio, the highest-scoring weights, input untouched", async () => {
  await useBackend("cpu");
  const { config, params, adapter } = antidoteCase();
  const before = tf.memory().numTensors;
  const rand = seededRandom(4);
  const harmful = [0, 1].map(() =>
    padForTraining(
      [0, 1, 2].map(() => ({
        prompt: Array.from({ length: 4 }, () => 3 + Math.floor(rand() * 90)),
        target: [3 + Math.floor(rand() * 90), 2],
      })),
      0,
      16,
    )
  );
  const ratio = 0.25;
  const result = await run(withBackend(antidote({ config, params, adapter, harmful }, { ratio })));
  const norms = loraInputNorms(config, params, adapter, harmful);
  for (const m of result.modules) {
    const orig = adapter.modules.get(m.path)!;
    const got = result.adapter.modules.get(m.path)!;
    const n = norms.get(m.path)!;
    for (
      const [which, w0, w1, nn] of [["A", orig.A, got.A, n.a], ["B", orig.B, got.B, n.b]] as const
    ) {
      const [rowsN, cols] = w0.shape as [number, number];
      const [before0, after, cn] = [await read(w0), await read(w1), await read(nn)];
      const k = cols - Math.floor((1 - ratio) * cols);
      for (let i = 0; i < rowsN; i++) {
        const row = before0.slice(i * cols, i * cols + cols);
        const score = row.map((x, j) => Math.abs(x) * Math.sqrt(cn[j]!));
        const top = score.map((s, j) => [s, j] as const).sort((p, q) => q[0] - p[0] || q[1] - p[1])
          .slice(0, k).map(([, j]) => j).sort((p, q) => p - q);
        const zeroed = after.slice(i * cols, i * cols + cols).map((
          x,
          j,
        ) => (x === 0 && row[j] !== 0 ? j : -1))
          .filter((j) => j >= 0);
        assert.deepEqual(zeroed, top, `${m.path} ${which} row ${i}`);
        // Every other weight is exactly as it was.
        after.slice(i * cols, i * cols + cols).forEach((x, j) => {
          if (!top.includes(j)) assert.equal(x, row[j]);
        });
      }
      assert.equal(which === "A" ? m.prunedA : m.prunedB, rowsN * k);
    }
  }
  for (const s of norms.values()) tf.dispose([s.a, s.b]);
  // No harmful data: refused.
  const err = await run(
    Effect.flip(withBackend(antidote({ config, params, adapter, harmful: [] }))),
  );
  assert.match(err.message, /no harmful data/);
  result.adapter.dispose();
  assert.equal(tf.memory().numTensors, before);
  adapter.dispose();
  disposeParams(params);
});
