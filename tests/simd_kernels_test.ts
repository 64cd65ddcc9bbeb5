/**
 * Our WebAssembly SIMD kernels (`backends/simd/`): the encoder's LEB128, the `gemm` kernel on
 * its own memory against a plain-JS product over every stride pattern (transposes), tile
 * remainders in both directions, K = 0 and size-1 edges, bit-identical repeats; the kernels
 * installed on the `wasm` backend (products, fused bias + activation, no leaks); and the
 * helper-thread pool (bit-identical to one thread).
 */
import assert from "node:assert/strict";
import { tf } from "../backends/mod.ts";
import { sleb, uleb } from "../backends/simd/asm.ts";
import { createSimdKernels, simdKernelsSupported } from "../backends/simd/module.ts";
import { createGemmPool } from "../backends/simd/pool.ts";
import { batchedGemm, matMulGeometry } from "../backends/native/gemm.ts";
import { leakedTensors, seededValues as values, useBackend } from "./_helpers.ts";

Deno.test("asm: LEB128 encodings", () => {
  assert.deepEqual(uleb(0), [0]);
  assert.deepEqual(uleb(127), [127]);
  assert.deepEqual(uleb(128), [0x80, 0x01]);
  assert.deepEqual(uleb(624485), [0xe5, 0x8e, 0x26]);
  assert.deepEqual(sleb(-1), [0x7f]);
  assert.deepEqual(sleb(63), [63]);
  assert.deepEqual(sleb(64), [0xc0, 0x00]);
  assert.deepEqual(sleb(-123456), [0xc0, 0xbb, 0x78]);
});

const supported = simdKernelsSupported();

/** A standalone memory with a bump allocator, shaped like the tfjs module handle. */
function standalone() {
  const memory = new WebAssembly.Memory({ initial: 64 });
  let top = 1024;
  const handle = {
    asm: { memory },
    _malloc: (bytes: number) => {
      const p = top;
      top += (bytes + 15) & ~15;
      const need = Math.ceil(top / 65536) - memory.buffer.byteLength / 65536;
      if (need > 0) memory.grow(need);
      return p;
    },
    _free: () => {},
  };
  return { memory, handle };
}

/** Reference op(A) op(B), A stored [M,K] (or [K,M] when ta), B [K,N] (or [N,K] when tb). */
function reference(
  a: Float32Array,
  b: Float32Array,
  m: number,
  n: number,
  k: number,
  ta: boolean,
  tb: boolean,
) {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        s += (ta ? a[p * m + i]! : a[i * k + p]!) * (tb ? b[j * k + p]! : b[p * n + j]!);
      }
      out[i * n + j] = s;
    }
  }
  return out;
}

Deno.test({
  name: "simd gemm: every transpose, tile remainders, K = 0, bit-identical repeats",
  ignore: !supported,
  fn: () => {
    const { memory, handle } = standalone();
    const kernels = createSimdKernels(handle);
    assert.ok(kernels, "the kernels instantiate on a plain memory");
    const shapes: [number, number, number][] = [
      [1, 1, 1],
      [4, 8, 5],
      [5, 9, 7],
      [13, 17, 33],
      [3, 70, 2],
      [33, 3, 64],
      [6, 8, 0],
    ];
    for (const [m, n, k] of shapes) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          const a = values(m * k, m + 3 * k);
          const b = values(k * n, n + 5 * k);
          const aOff = handle._malloc(4 * a.length);
          const bOff = handle._malloc(4 * b.length);
          const cOff = handle._malloc(4 * m * n);
          new Float32Array(memory.buffer, aOff, a.length).set(a);
          new Float32Array(memory.buffer, bOff, b.length).set(b);
          // Garbage in the output: the kernel must overwrite, not accumulate.
          new Float32Array(memory.buffer, cOff, m * n).fill(7);
          kernels!.gemm(ta, tb, m, n, k, aOff, ta ? m : k, bOff, tb ? k : n, cOff, n);
          const got = new Float32Array(memory.buffer, cOff, m * n).slice();
          const want = reference(a, b, m, n, k, ta, tb);
          for (let i = 0; i < got.length; i++) {
            assert.ok(
              Math.abs(got[i]! - want[i]!) <= 1e-5,
              `[${m},${n},${k}] ta=${ta} tb=${tb} element ${i}: ${got[i]} vs ${want[i]}`,
            );
          }
          kernels!.gemm(ta, tb, m, n, k, aOff, ta ? m : k, bOff, tb ? k : n, cOff, n);
          assert.deepEqual(new Float32Array(memory.buffer, cOff, m * n).slice(), got);
        }
      }
    }
  },
});

Deno.test({
  name: "simd kernels on wasm: matMul, fused bias + relu, batched attention shapes, no leaks",
  ignore: !supported,
  fn: async () => {
    await useBackend("wasm");
    const cpuOf = async (f: () => tf.Tensor) => {
      const got = tf.tidy(f);
      const data = await got.data();
      got.dispose();
      return data;
    };
    const cases: (() => tf.Tensor)[] = [
      () =>
        tf.matMul(tf.tensor(values(37 * 21, 1), [37, 21]), tf.tensor(values(21 * 19, 2), [21, 19])),
      () =>
        tf.fused.matMul({
          a: tf.tensor(values(9 * 12, 3), [9, 12]),
          b: tf.tensor(values(10 * 12, 4), [10, 12]),
          transposeB: true,
          bias: tf.tensor(values(10, 5), [10]),
          activation: "relu",
        }),
      () =>
        tf.matMul(
          tf.tensor(values(2 * 4 * 9 * 8, 6), [2, 4, 9, 8]),
          tf.tensor(values(2 * 4 * 9 * 8, 7), [2, 4, 9, 8]),
          false,
          true,
        ),
    ];
    const onWasm: Float32Array[] = [];
    for (const c of cases) onWasm.push((await cpuOf(c)) as Float32Array);
    await useBackend("cpu");
    for (const [i, c] of cases.entries()) {
      const want = await cpuOf(c);
      assert.equal(onWasm[i]!.length, want.length);
      for (let j = 0; j < want.length; j++) {
        assert.ok(
          Math.abs(onWasm[i]![j]! - want[j]!) <= 1e-5 + 1e-4 * Math.abs(want[j]!),
          `case ${i} [${j}]`,
        );
      }
    }
    await useBackend("wasm");
    const leaked = await leakedTensors(async () => {
      for (const c of cases) await cpuOf(c);
    });
    assert.equal(leaked, 0);
  },
});

Deno.test({
  name: "simd pool: two threads give bit-identical products (batch split, row split, stacked)",
  ignore: !supported || typeof SharedArrayBuffer === "undefined",
  fn: async () => {
    const pool = await createGemmPool(2);
    assert.ok(pool, "a helper thread starts");
    assert.equal(pool!.threads, 2);
    const { memory, handle } = standalone();
    const kernels = createSimdKernels(handle)!;
    const cases: [number[], number[], boolean, boolean][] = [
      [[3, 80, 128], [3, 128, 100], false, false], // batches >= threads: split by batch
      [[201, 160], [90, 160], false, true], // one batch: split by rows
      [[160, 201], [160, 90], true, false], // rows of a transposed A
      [[2, 131, 160], [160, 91], false, false], // stacked rows
    ];
    for (const [as, bs, ta, tb] of cases) {
      const g = matMulGeometry(as, bs, ta, tb);
      const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
      const aOff = handle._malloc(4 * size(as));
      const bOff = handle._malloc(4 * size(bs));
      const outFloats = size(g.outShape);
      const serial = handle._malloc(4 * outFloats);
      const parallel = handle._malloc(4 * outFloats);
      new Float32Array(memory.buffer, aOff, size(as)).set(values(size(as), 11));
      new Float32Array(memory.buffer, bOff, size(bs)).set(values(size(bs), 12));
      batchedGemm(kernels.gemm, { a: aOff, b: bOff, out: serial }, g, () => {});
      const ran = pool!.run(
        kernels.gemm,
        () => memory.buffer as ArrayBuffer,
        { a: aOff, b: bOff, out: parallel },
        g,
      );
      assert.ok(ran, `[${as}] x [${bs}] is large enough to split`);
      assert.deepEqual(
        new Float32Array(memory.buffer, parallel, outFloats),
        new Float32Array(memory.buffer, serial, outFloats),
        `[${as}] x [${bs}] ta=${ta} tb=${tb}`,
      );
    }
    assert.equal(
      pool!.run(
        kernels.gemm,
        () => memory.buffer as ArrayBuffer,
        { a: 0, b: 0, out: 0 },
        matMulGeometry([4, 4], [4, 4], false, false),
      ),
      false,
      "tiny products stay on one thread",
    );
  },
});
