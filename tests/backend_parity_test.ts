/**
 * Backend parity: the same small ops and one gradient on every available backend
 * (`testBackends()`: cpu, wasm, webgpu on lavapipe, native) against the `cpu` reference.
 *
 * Tolerance: |x - ref| <= ATOL + RTOL * |ref| with ATOL = 1e-5 and RTOL = 1e-4. Inputs are
 * O(1) and sums have at most a few dozen terms, so float32 rounding differences between
 * kernels (summation order, fused multiply-add, exp/log approximations on GPUs) stay well
 * below this; a wrong index or transpose is off by O(0.1) and fails.
 */
import assert from "node:assert/strict";
import { tf } from "../backends/mod.ts";
// Kernel gradients: tfjs-core registers none; the model module registers the ones it uses.
import { seededValues as values, testBackends, useBackend } from "./_helpers.ts";

const ATOL = 1e-5;
const RTOL = 1e-4;

const t = (shape: number[], seed: number) =>
  tf.tensor(values(shape.reduce((p, d) => p * d, 1), seed), shape);

/** A parity case: builds its outputs from fresh inputs (called inside `tf.tidy`). */
type Case = () => tf.Tensor[];

/** A two-layer MLP's softmax cross-entropy and its gradients for all four parameters. */
const mlpGradient: Case = () => {
  const x = t([8, 6], 1);
  const labels = tf.oneHot(tf.tensor1d([0, 2, 1, 1, 0, 2, 2, 1], "int32"), 3);
  const params = [t([6, 10], 2), t([10], 3), t([10, 3], 4), t([3], 5)];
  const loss = (w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor) => {
    const h = tf.relu(tf.add(tf.matMul(x, w1), b1)); // [8, 10]
    const logits = tf.add(tf.matMul(h, w2), b2); // [8, 3]
    return tf.mean(tf.neg(tf.sum(tf.mul(labels, tf.logSoftmax(logits)), -1)));
  };
  const { value, grads } = tf.valueAndGrads(loss)(params);
  return [value, ...grads];
};

const CASES: Record<string, Case> = {
  "matMul 2d": () => [tf.matMul(t([5, 7], 1), t([7, 3], 2))],
  "matMul transposeA": () => [tf.matMul(t([7, 5], 1), t([7, 3], 2), true, false)],
  "matMul transposeB": () => [tf.matMul(t([5, 7], 1), t([3, 7], 2), false, true)],
  "matMul both transposed": () => [tf.matMul(t([7, 5], 1), t([3, 7], 2), true, true)],
  "matMul batched": () => [tf.matMul(t([2, 4, 6], 1), t([2, 6, 3], 2))],
  "matMul broadcast b": () => [tf.matMul(t([2, 4, 6], 1), t([6, 3], 2))],
  "matMul broadcast a, transposeB": () => [tf.matMul(t([4, 6], 1), t([3, 5, 6], 2), false, true)],
  // Sizes past the SIMD kernel's 4 x 8 tiles, with remainders in both directions.
  "matMul tiled sizes": () => [
    tf.matMul(t([2, 11, 30], 1), t([2, 30, 19], 2)),
    tf.matMul(t([30, 13], 3), t([17, 30], 4), true, true),
    tf.matMul(t([9, 16], 5), t([2, 3, 7, 16], 6), false, true),
  ],
  "add/mul/exp": () => {
    const a = t([3, 4], 1);
    const b = t([4], 2);
    return [tf.add(a, b), tf.mul(a, b), tf.exp(a)];
  },
  "softmax/logSoftmax": () => {
    const a = tf.mul(t([3, 5], 3), 4);
    return [tf.softmax(a), tf.logSoftmax(a)];
  },
  "gather": () => [tf.gather(t([6, 4], 4), tf.tensor1d([5, 0, 3, 3], "int32"))],
  "concat":
    () => [tf.concat([t([2, 3], 1), t([2, 2], 2)], 1), tf.concat([t([1, 3], 3), t([2, 3], 4)])],
  "reductions": () => {
    const a = t([3, 4, 5], 5);
    return [tf.sum(a), tf.mean(a, 1), tf.max(a, -1), tf.min(a, 0), tf.sum(a, [0, 2], true)];
  },
  "mlp gradient": mlpGradient,
};

/** Run a case and read its outputs back (asynchronously: webgpu has no synchronous read). */
async function run(c: Case): Promise<{ shape: number[]; data: number[] }[]> {
  const outs = tf.tidy(c);
  const read = await Promise.all(outs.map(async (x) => ({
    shape: x.shape,
    data: Array.from(await x.data()),
  })));
  tf.dispose(outs);
  return read;
}

const backends = (await testBackends()).filter((b) => b !== "cpu");
await useBackend("cpu");
const reference: Record<string, Awaited<ReturnType<typeof run>>> = {};
for (const [name, c] of Object.entries(CASES)) reference[name] = await run(c);

for (const backend of backends) {
  Deno.test(`parity[${backend}]: small ops and an MLP gradient match cpu`, async () => {
    await useBackend(backend);
    const before = tf.memory().numTensors;
    for (const [name, c] of Object.entries(CASES)) {
      const got = await run(c);
      const ref = reference[name]!;
      assert.equal(got.length, ref.length, `${name}: number of outputs`);
      got.forEach((g, i) => {
        const r = ref[i]!;
        assert.deepEqual(g.shape, r.shape, `${name} output ${i}: shape`);
        g.data.forEach((v, j) => {
          const e = r.data[j]!;
          assert.ok(
            Math.abs(v - e) <= ATOL + RTOL * Math.abs(e),
            `${backend} ${name} output ${i}[${j}]: ${v}, cpu says ${e}`,
          );
        });
      });
    }
    assert.equal(tf.memory().numTensors, before, "parity cases leaked tensors");
  });
}
