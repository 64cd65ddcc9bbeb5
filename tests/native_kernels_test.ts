/**
 * The native backend's BLAS kernels against a plain-JS reference product: transposes,
 * non-square shapes, batch broadcasting, size-1 and empty edges, fused bias/activation, the
 * geometry errors, and no tensor leaks across repeated steps.
 */
import assert from "node:assert/strict";
import { tf } from "../backends/mod.ts";
import { nativeProvider } from "../backends/native.ts";
import { matMulGeometry } from "../backends/native/gemm.ts";
// Kernel gradients: tfjs-core registers none; the model module registers the ones it uses.
import { leakedTensors, requires, seededValues as values, useBackend } from "./_helpers.ts";

const available = (await nativeProvider.probe()).available;
const test = (name: string, fn: () => void | Promise<void>) =>
  Deno.test({ ...requires(name, available ? null : "the native backend is unavailable here"), fn });

/** Float32 products of sums of up to ~20 terms of O(1) values: 1e-5 absolute is ample. */
const TOL = 1e-5;

/** Reference `op(a) op(b)` for rank-2 row-major arrays. */
function refMatMul(
  a: Float32Array,
  aShape: [number, number],
  b: Float32Array,
  bShape: [number, number],
  ta: boolean,
  tb: boolean,
): Float32Array {
  const [m, k] = ta ? [aShape[1], aShape[0]] : aShape;
  const n = tb ? bShape[0] : bShape[1];
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const av = ta ? a[p * aShape[1] + i]! : a[i * aShape[1] + p]!;
        const bv = tb ? b[j * bShape[1] + p]! : b[p * bShape[1] + j]!;
        s += av * bv;
      }
      out[i * n + j] = s;
    }
  }
  return out;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    assert.ok(d <= TOL, `${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

test("native: rank-2 products with every transpose, non-square and size-1 shapes", async () => {
  await useBackend("native");
  const cases: Array<[number, number, number]> = [[3, 5, 4], [1, 7, 1], [1, 1, 1], [6, 1, 2], [
    2,
    9,
    1,
  ], [17, 13, 11]];
  for (const [m, k, n] of cases) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const aShape: [number, number] = ta ? [k, m] : [m, k];
        const bShape: [number, number] = tb ? [n, k] : [k, n];
        const av = values(m * k, m * 31 + k);
        const bv = values(k * n, n * 17 + k);
        const out = tf.tidy(() =>
          tf.matMul(tf.tensor2d(av, aShape), tf.tensor2d(bv, bShape), ta, tb)
        );
        assert.deepEqual(out.shape, [m, n]);
        assertClose(
          out.dataSync(),
          refMatMul(av, aShape, bv, bShape, ta, tb),
          `${m}x${k}x${n} ta=${ta} tb=${tb}`,
        );
        out.dispose();
      }
    }
  }
});

/** Reference batched product: slices each broadcast batch and uses {@link refMatMul}. */
function refBatched(
  a: tf.Tensor,
  b: tf.Tensor,
  ta: boolean,
  tb: boolean,
): { shape: number[]; data: Float32Array } {
  const g = matMulGeometry(a.shape, b.shape, ta, tb);
  const av = a.dataSync() as Float32Array;
  const bv = b.dataSync() as Float32Array;
  const aMat = a.shape.slice(-2) as [number, number];
  const bMat = b.shape.slice(-2) as [number, number];
  const out = new Float32Array(g.aBatch.length * g.m * g.n);
  for (let i = 0; i < g.aBatch.length; i++) {
    const as = av.subarray(g.aBatch[i]! * g.m * g.k, (g.aBatch[i]! + 1) * g.m * g.k);
    const bs = bv.subarray(g.bBatch[i]! * g.k * g.n, (g.bBatch[i]! + 1) * g.k * g.n);
    out.set(refMatMul(as, aMat, bs, bMat, ta, tb), i * g.m * g.n);
  }
  return { shape: g.outShape, data: out };
}

test("native: batched products with broadcast batch dimensions and transposes", async () => {
  await useBackend("native");
  const shapes: Array<[number[], number[]]> = [
    [[2, 3, 4], [2, 4, 5]], // same batch
    [[2, 3, 4], [4, 5]], // b shared: one stacked sgemm
    [[3, 4], [2, 4, 5]], // a shared
    [[2, 1, 3, 4], [1, 3, 4, 2]], // both broadcast -> [2, 3]
    [[1, 3, 4], [4, 4, 5]], // explicit size-1 batch
  ];
  for (const [aShape, bShape] of shapes) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const aS = ta ? [...aShape.slice(0, -2), aShape.at(-1)!, aShape.at(-2)!] : aShape;
        const bS = tb ? [...bShape.slice(0, -2), bShape.at(-1)!, bShape.at(-2)!] : bShape;
        const a = tf.tensor(values(aS.reduce((p, d) => p * d, 1), 7), aS);
        const b = tf.tensor(values(bS.reduce((p, d) => p * d, 1), 11), bS);
        const out = tf.matMul(a, b, ta, tb);
        const ref = refBatched(a, b, ta, tb);
        assert.deepEqual(out.shape, ref.shape, `shape of [${aS}] x [${bS}]`);
        assertClose(out.dataSync(), ref.data, `[${aS}] x [${bS}] ta=${ta} tb=${tb}`);
        tf.dispose([a, b, out]);
      }
    }
  }
});

test("native: an empty inner dimension gives zeros, an empty outer one an empty result", async () => {
  await useBackend("native");
  const z = tf.matMul(tf.zeros([2, 0]), tf.zeros([0, 3]));
  assert.deepEqual(z.shape, [2, 3]);
  assert.deepEqual(Array.from(z.dataSync()), [0, 0, 0, 0, 0, 0]);
  const e = tf.matMul(tf.zeros([0, 4]), tf.ones([4, 3]));
  assert.deepEqual(e.shape, [0, 3]);
  tf.dispose([z, e]);
});

test("native: fused matMul with bias and each activation matches the cpu backend", async () => {
  const acts = ["linear", "relu", "relu6", "elu", "leakyrelu", "sigmoid", "prelu"] as const;
  const a = values(4 * 6 * 5, 3);
  const b = values(5 * 3, 5);
  const rowBias = values(3, 9);
  const fullBias = values(6 * 3, 13); // broadcast over the batch: the Add-kernel path
  const alpha = values(3, 21);
  const run = (act: typeof acts[number], bias: Float32Array, biasShape: number[]) =>
    tf.tidy(() =>
      tf.fused.matMul({
        a: tf.mul(tf.tensor3d(a, [4, 6, 5]), 3),
        b: tf.tensor2d(b, [5, 3]),
        bias: tf.tensor(bias, biasShape),
        activation: act,
        ...(act === "prelu" ? { preluActivationWeights: tf.tensor1d(alpha) } : {}),
        ...(act === "leakyrelu" ? { leakyreluAlpha: 0.1 } : {}),
      }).dataSync()
    );
  for (const [bias, shape] of [[rowBias, [3]], [fullBias, [6, 3]]] as const) {
    for (const act of acts) {
      await useBackend("cpu");
      const expected = run(act, bias, [...shape]);
      await useBackend("native");
      assertClose(run(act, bias, [...shape]), expected, `fused ${act} bias [${shape}]`);
    }
  }
});

// tfjs's BatchMatMul gradient does not sum over broadcast batch dimensions (on any backend),
// so gradients are taken for equal batch shapes only.
test("native: matMul gradients (through the native kernel) match the cpu backend", async () => {
  const grads = () =>
    tf.tidy(() => {
      const a = tf.tensor3d(values(2 * 3 * 4, 1), [2, 3, 4]);
      const b = tf.tensor3d(values(2 * 5 * 4, 2), [2, 5, 4]);
      const f = (x: tf.Tensor, y: tf.Tensor) =>
        tf.sum(tf.square(tf.matMul(tf.matMul(x, y, false, true), y)));
      return tf.grads(f)([a, b]).map((g) => Array.from(g.dataSync()));
    });
  await useBackend("cpu");
  const expected = grads();
  await useBackend("native");
  const actual = grads();
  assertClose(actual[0]!, expected[0]!, "dA");
  assertClose(actual[1]!, expected[1]!, "dB");
});

test("native: repeated products and gradients leak no tensors", async () => {
  await useBackend("native");
  const a = tf.randomNormal([16, 16], 0, 1, "float32", 1);
  const b = tf.randomNormal([16, 8], 0, 1, "float32", 2);
  const step = () =>
    tf.tidy(() => {
      const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
        tf.mean(tf.square(tf.matMul(x, y, false, false)))
      )([a, b]);
      return tf.add(tf.sum(ga!), tf.sum(gb!)).dataSync()[0];
    });
  step();
  for (let i = 0; i < 3; i++) assert.equal(await leakedTensors(step), 0);
  tf.dispose([a, b]);
});

test("native: int32 products behave as on wasm (the wasm kernel handles them)", async () => {
  const attempt = () => {
    try {
      return tf.tidy(() => {
        const a = tf.tensor2d([1, 2, 3, 4], [2, 2], "int32");
        return Array.from(tf.matMul(a, a).dataSync());
      });
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  };
  await useBackend("wasm");
  const onWasm = attempt();
  await useBackend("native");
  assert.deepEqual(attempt(), onWasm);
});

Deno.test("matMulGeometry: names both shapes when inner dimensions or batches disagree", () => {
  assert.throws(() => matMulGeometry([2, 3], [4, 5], false, false), /\[2,3\].*\[4,5\]/);
  assert.throws(() => matMulGeometry([2, 2, 3], [3, 3, 4], false, false), /do not broadcast/);
  assert.throws(() => matMulGeometry([3], [3, 4], false, false), /rank >= 2/);
  const g = matMulGeometry([2, 1, 3, 4], [3, 4, 5], false, false);
  assert.deepEqual(g.outShape, [2, 3, 3, 5]);
  assert.deepEqual(Array.from(g.aBatch), [0, 0, 0, 1, 1, 1]);
  assert.deepEqual(Array.from(g.bBatch), [0, 1, 2, 0, 1, 2]);
  assert.equal(matMulGeometry([2, 3, 4], [4, 5], false, false).stackRows, true);
  assert.equal(matMulGeometry([2, 4, 3], [4, 5], true, false).stackRows, false);
});

test("native: Identity and same-dtype Cast share data safely; real casts convert", async () => {
  await useBackend("native");
  const x = tf.tensor1d([1.5, -2.25, 3]);
  const y = tf.clone(x); // Identity
  const z = tf.cast(x, "float32");
  x.dispose();
  assert.deepEqual(Array.from(y.dataSync()), [1.5, -2.25, 3]);
  assert.deepEqual(Array.from(z.dataSync()), [1.5, -2.25, 3]);
  const v = tf.variable(y);
  const snapshot = tf.clone(v);
  v.assign(tf.tensor1d([7, 8, 9]));
  assert.deepEqual(Array.from(snapshot.dataSync()), [1.5, -2.25, 3]);
  assert.deepEqual(Array.from(v.dataSync()), [7, 8, 9]);
  const i = tf.cast(y, "int32");
  assert.equal(i.dtype, "int32");
  assert.deepEqual(Array.from(i.dataSync()), [1, -2, 3]);
  tf.dispose([y, z, v, snapshot, i]);
});

test("GatherV2 by row copies (native, wasm) matches the cpu backend; bad indices fail cleanly", async () => {
  const run = () =>
    tf.tidy(() => {
      const table = tf.tensor3d(values(5 * 3 * 2, 3), [5, 3, 2]);
      const ids = tf.tensor2d([4, 0, 4, 2, 1, 3], [2, 3], "int32");
      const ints = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], "int32");
      const rows = tf.gather(table, ids); // [2, 3, 3, 2]: the copying path
      const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.gather(t, ids))))(table);
      return [
        rows,
        tf.gather(table, tf.tensor1d([2, 0], "int32"), 1), // axis 1: the backend's own kernel
        tf.gather(ints, tf.tensor1d([2, 2, 0], "int32")),
        tf.gather(table, tf.tensor1d([], "int32")),
        grad,
      ].map((t) => ({ shape: t.shape, dtype: t.dtype, data: Array.from(t.dataSync()) }));
    });
  await useBackend("cpu");
  const expected = run();
  for (const backend of ["native", "wasm"] as const) {
    await useBackend(backend);
    const actual = run();
    actual.forEach((got, i) => {
      assert.deepEqual(got.shape, expected[i]!.shape, `${backend} output ${i}: shape`);
      assert.equal(got.dtype, expected[i]!.dtype, `${backend} output ${i}: dtype`);
      assertClose(got.data, expected[i]!.data, `${backend} output ${i}`);
    });
    const before = tf.memory().numTensors;
    assert.throws(
      () => tf.tidy(() => tf.gather(tf.ones([4, 2]), tf.tensor1d([1, 4], "int32"))),
      /index value 4 is not in \[0, 3\]/,
    );
    assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked by a failed gather`);
  }
});
