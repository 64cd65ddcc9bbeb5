/**
 * The fused kernels of the heap backends (`backends/fused`): on every backend that has them,
 * each op's value and gradients against the composite ops of `src/model/layers.ts` on the same
 * backend (fused kernels switched off), with the shapes that exercise their edges: grouped-query
 * heads, a padding and causal bias, a sliding window, rows that are not a multiple of 4, key
 * tensors longer than the bias (a preallocated cache), per-row rotary tables; the cross-entropy's
 * log-sum-exp and gradient kernels with weighted and ignored rows; a LoRA linear (base product and
 * low-rank update in one kernel) in x, A and B. Also the in-place
 * row write of the KV cache, attention's products in BLAS (one thread and all) against our SIMD
 * kernel on `native`, and no leaked tensors.
 *
 * Tolerance: |x - ref| <= 1e-5 + 1e-4 |ref| (the backend parity tolerance): the fused kernels sum
 * in another order (RMSNorm in float64, softmax rows in SIMD lanes) and use their own exp.
 */
import assert from "node:assert/strict";
import { fused, tf } from "../backends/mod.ts";
import { setProductRouting } from "../backends/native/backend.ts";
import { attention, rmsNorm, ropeHeads, swiGlu } from "../src/model/layers.ts";
import { attentionBias } from "../src/model/mask.ts";
import { crossEntropy } from "../src/model/loss.ts";
import { leakedTensors, seededValues as values, testBackends, useBackend } from "./_helpers.ts";

const t = (shape: number[], seed: number, scale = 1) =>
  tf.mul(tf.tensor(values(shape.reduce((p, d) => p * d, 1), seed), shape), scale);

function close(got: tf.Tensor, want: tf.Tensor, what: string): void {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  const g = got.dataSync();
  const w = want.dataSync();
  for (let i = 0; i < w.length; i++) {
    assert.ok(
      Math.abs(g[i]! - w[i]!) <= 1e-5 + 1e-4 * Math.abs(w[i]!),
      `${what}[${i}]: fused ${g[i]} vs composite ${w[i]}`,
    );
  }
}

/** Value and gradients (w.r.t. `inputs`, against a fixed random cotangent) of `f`. */
function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[]): tf.Tensor[] {
  return tf.tidy(() => {
    const y = f(...inputs);
    const dy = t(y.shape, 99);
    const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), dy)))(inputs);
    return [y, ...grads];
  });
}

/** The same computation with the fused kernels on and off; both must agree. */
function compare(name: string, f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[]) {
  const on = valueAndGrads(f, inputs);
  fused.setFusedEnabled(false);
  let off: tf.Tensor[];
  try {
    off = valueAndGrads(f, inputs);
  } finally {
    fused.setFusedEnabled(true);
  }
  on.forEach((x, i) => close(x, off[i]!, `${name} ${i === 0 ? "value" : `gradient ${i}`}`));
  tf.dispose([...on, ...off]);
}

const backends = (await testBackends()).filter((b) => b === "wasm" || b === "native");

for (const backend of backends) {
  Deno.test(`fused[${backend}]: RMSNorm, SwiGLU and rotary heads equal the composite ops`, async () => {
    await useBackend(backend);
    assert.ok(fused.available("rmsNorm") && fused.available("swiGlu"), "kernels installed");
    const leaked = await leakedTensors(() => {
      tf.tidy(() => {
        compare("rmsNorm", (x, w) => rmsNorm(x, w, 1e-6), [t([2, 5, 24], 1, 3), t([24], 2)]);
        compare("rmsNorm rank 2", (x, w) => rmsNorm(x, w, 1e-5), [t([7, 13], 3), t([13], 4)]);
        const ids = tf.tensor1d([3, 0, 36, 7, 12], "int32");
        const weights = tf.tensor1d([1, 0, 1, 1, 0.5]);
        compare("crossEntropy", (x) => crossEntropy(x, ids, weights), [t([5, 37], 31, 4)]);
        const w = t([24, 40], 41);
        const loraLinear = (x: tf.Tensor, a: tf.Tensor, b: tf.Tensor) =>
          fused.available("loraLinear") ? fused.loraLinear(x, w, a, b, 2.5) : tf.add(
            tf.matMul(x, w, false, true),
            tf.mul(tf.matMul(tf.matMul(x, a, false, true), b, false, true), 2.5),
          );
        compare("loraLinear", loraLinear, [t([13, 40], 42), t([8, 40], 43), t([24, 8], 44)]);
        compare("swiGlu", swiGlu, [t([3, 37], 5, 6), t([3, 37], 6)]);
        compare("swiGlu rank 3", swiGlu, [t([2, 4, 9], 7, 5), t([2, 4, 9], 8)]);
        for (const tableRows of [1, 2]) {
          const pos = tf.tensor2d([[0, 1, 2], [4, 5, 6]], [2, 3], "float32");
          const freqs = tf.mul(
            tf.expandDims(tf.slice(pos, [0, 0], [tableRows, 3]), -1),
            tf.tensor1d([1, 0.3, 0.1, 0.02]),
          );
          const emb = tf.expandDims(tf.concat([freqs, freqs], -1), 1); // [rows, 1, 3, 8]
          const [cos, sin] = [tf.cos(emb), tf.sin(emb)];
          compare(
            `ropeHeads (tables for ${tableRows} row(s))`,
            (x) => ropeHeads(x, cos, sin, 3, 8),
            [t([2, 3, 24], 9)],
          );
        }
      });
    });
    assert.equal(leaked, 0, "no tensor left behind");
  });

  Deno.test(`fused[${backend}]: attention equals the composite (GQA, padding, causal, window)`, async () => {
    await useBackend(backend);
    const leaked = await leakedTensors(() => {
      tf.tidy(() => {
        for (const [h, kvh, d] of [[4, 2, 8], [2, 2, 32], [6, 2, 16]] as const) {
          const [b, past, tq] = [2, 2, 5];
          const s = past + tq;
          const mask = tf.tensor2d([[0, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1]], [b, s], "int32");
          for (const window of [null, 3]) {
            const bias = attentionBias(tq, past, mask, window); // [B, 1, T, S]
            for (const causal of [false, true]) {
              compare(
                `attention h${h} kvh${kvh} d${d} window ${window} causal ${causal}`,
                (q, k, v) => attention(q, k, v, bias, 1 / Math.sqrt(d), causal),
                [t([b, h, tq, d], 11, 2), t([b, kvh, s, d], 12, 2), t([b, kvh, s, d], 13)],
              );
            }
          }
          // more queries than one causal block (64), after 3 cached positions
          const long = attentionBias(70, 3, undefined); // [1, 1, 70, 73]
          compare(
            `attention causal blocks h${h} kvh${kvh} d${d}`,
            (q, k, v) => attention(q, k, v, long, 0.3, true),
            [t([1, h, 70, d], 17, 2), t([1, kvh, 73, d], 18, 2), t([1, kvh, 73, d], 19)],
          );
          // one shared bias row (no padding), one query (a decoding step)
          const one = attentionBias(1, s - 1, undefined);
          compare(
            `attention one query h${h} kvh${kvh} d${d}`,
            (q, k, v) => attention(q, k, v, one, 0.5, true),
            [t([b, h, 1, d], 14), t([b, kvh, s, d], 15), t([b, kvh, s, d], 16)],
          );
        }
      });
    });
    assert.equal(leaked, 0, "no tensor left behind");
  });

  Deno.test(`fused[${backend}]: keys past the bias are ignored; rows are written in place`, async () => {
    await useBackend(backend);
    const leaked = await leakedTensors(() => {
      tf.tidy(() => {
        const [b, h, kvh, d, s, cap] = [2, 4, 2, 16, 5, 9];
        const q = t([b, h, 1, d], 21);
        const k = t([b, kvh, s, d], 22);
        const v = t([b, kvh, s, d], 23);
        const bias = attentionBias(1, s - 1, undefined);
        const want = fused.attention(q, k, v, bias, 0.25, true);
        // a longer buffer with garbage past row s, then k and v written at row 0
        const kBuf = t([b, kvh, cap, d], 24, 100);
        const vBuf = t([b, kvh, cap, d], 25, 100);
        fused.writeRows(kBuf, k, 0);
        fused.writeRows(vBuf, v, 0);
        close(tf.slice(kBuf, [0, 0, 0, 0], [b, kvh, s, d]), k, "rows written");
        close(
          fused.attention(q, kBuf, vBuf, bias, 0.25, true),
          want,
          "attention on the longer buffer",
        );
        assert.throws(() => fused.writeRows(kBuf, k, cap - 2), /does not fit/);
      });
    });
    assert.equal(leaked, 0, "no tensor left behind");
  });
}

if (backends.includes("native")) {
  Deno.test("fused[native]: attention agrees whether its products run in BLAS or in our SIMD kernel", async () => {
    await useBackend("native");
    const leaked = await leakedTensors(() => {
      tf.tidy(() => {
        const bias = attentionBias(70, 3, undefined); // [1, 1, 70, 73]: two causal blocks
        const inputs = [t([1, 4, 70, 16], 31, 2), t([1, 2, 73, 16], 32, 2), t([1, 2, 73, 16], 33)];
        const f = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => attention(q, k, v, bias, 0.3, true);
        const was = setProductRouting({ simdBelow: Infinity }); // all in the SIMD kernel
        try {
          const simd = valueAndGrads(f, inputs);
          for (const serialBelow of [Infinity, 0]) { // BLAS on one thread, on all its threads
            setProductRouting({ simdBelow: 0, serialBelow });
            const blas = valueAndGrads(f, inputs);
            blas.forEach((x, i) => close(x, simd[i]!, `BLAS below ${serialBelow}: output ${i}`));
          }
        } finally {
          setProductRouting(was);
        }
      });
    });
    assert.equal(leaked, 0, "no tensor left behind");
  });
}

Deno.test({
  name: "fused: the cpu backend has no fused kernels (the model uses its composite ops)",
  fn: async () => {
    await useBackend("cpu");
    assert.equal(fused.available("attention"), false);
    assert.equal(fused.canWriteInPlace(), false);
  },
});
