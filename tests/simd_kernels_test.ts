/**
 * Our WebAssembly SIMD kernels (`backends/simd/`): the encoder's LEB128, the `gemm` kernel on
 * its own memory against a plain-JS product over every stride pattern (transposes), tile
 * remainders in both directions, K = 0 and size-1 edges, bit-identical repeats; the kernels
 * installed on the `wasm` backend (products, fused bias + activation, no leaks); and the
 * helper-thread pool (bit-identical to one thread).
 */
import assert from "node:assert/strict";
import { tf } from "../backends/mod.ts";
import { encodeModule, type FuncDef, sleb, uleb } from "../backends/simd/asm.ts";
import { ELEMENTWISE_FUNCS } from "../backends/simd/elementwise_module.ts";
import { gemmFma, gemmFuncs, packedGemm } from "../backends/simd/gemm_module.ts";
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
  name: "simd gemm: every transpose, tile remainders, K = 0, bit-identical repeats, ldc > n",
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
          // Into rows of a wider matrix (ldc = n + 3): the same values, the padding untouched.
          const ldc = n + 3;
          const wide = handle._malloc(4 * m * ldc);
          new Float32Array(memory.buffer, wide, m * ldc).fill(-5);
          kernels!.gemm(ta, tb, m, n, k, aOff, ta ? m : k, bOff, tb ? k : n, wide, ldc);
          const w = new Float32Array(memory.buffer, wide, m * ldc);
          for (let i = 0; i < m; i++) {
            assert.deepEqual(w.slice(i * ldc, i * ldc + n), got.slice(i * n, (i + 1) * n));
            assert.deepEqual([...w.slice(i * ldc + n, (i + 1) * ldc)], [-5, -5, -5]);
          }
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

/** A raw instance of a module of ours on its own memory. */
function rawModule(funcs: readonly FuncDef[]) {
  const memory = new WebAssembly.Memory({ initial: 64 });
  const ex = new WebAssembly.Instance(new WebAssembly.Module(encodeModule(funcs)), {
    env: { memory },
  }).exports as Record<string, (...a: number[]) => void>;
  return { memory, ex };
}

Deno.test({
  name: "simd gemm: a row's sum does not depend on M; B read in place equals B packed, bit for bit",
  ignore: !supported,
  fn: () => {
    const direct = rawModule([packedGemm(1 << 30, gemmFma())]);
    const packed = rawModule([packedGemm(0, gemmFma())]);
    const nt = rawModule(gemmFuncs(gemmFma()));
    const shapes: [number, number, number][] = [[1, 8, 5], [7, 24, 33], [50, 16, 64], [13, 40, 7]];
    for (const [m, n, k] of shapes) {
      for (const { memory } of [direct, packed]) {
        const h = new Float32Array(memory.buffer);
        h.set(values(m * k, 1), 256);
        h.set(values(k * n, 2), 256 + m * k);
      }
      const run = (mod: typeof direct) => {
        const c = 4 * (256 + m * k + k * n);
        mod.ex.gemmPacked!(1024, 1024 + 4 * m * k, c, m, n, k, k, 1, n, 1, c + 4 * m * n, n);
        return new Float32Array(mod.memory.buffer, c, m * n).slice();
      };
      assert.deepEqual(run(direct), run(packed), `[${m},${n},${k}] in place vs packed`);
    }
    // x W^T: each row of a 29-row product equals that row computed alone.
    const [m, n, k] = [29, 21, 70];
    const h = new Float32Array(nt.memory.buffer);
    h.set(values(m * k, 3), 256);
    h.set(values(n * k, 4), 256 + m * k);
    const [a, b, c] = [1024, 1024 + 4 * m * k, 1024 + 4 * (m * k + n * k)];
    nt.ex.gemm!(a, b, c, m, n, k, k, 1, 1, k, c + 4 * m * n, n);
    const all = new Float32Array(nt.memory.buffer, c, m * n).slice();
    for (const row of [0, 1, 2, 17, 28]) {
      nt.ex.gemm!(a + 4 * row * k, b, c, 1, n, k, k, 1, 1, k, c + 4 * m * n, n);
      assert.deepEqual(
        new Float32Array(nt.memory.buffer, c, n).slice(),
        all.slice(row * n, (row + 1) * n),
        `row ${row}`,
      );
    }
  },
});

Deno.test({
  name:
    "simd elementwise: softmax rows (scale, bias, masked keys exactly 0), SwiGLU and its gradient, exp",
  ignore: !supported,
  fn: () => {
    const { memory, ex } = rawModule(ELEMENTWISE_FUNCS);
    const h = new Float32Array(memory.buffer);
    for (const n of [1, 3, 4, 9, 61]) {
      const rows = 3;
      const [x, bias, out] = [1024, 1024 + 4 * rows * n, 1024 + 8 * rows * n];
      const xs = values(rows * n, n).map((v) => 6 * v);
      const bs = values(rows * n, n + 1).map((v, i) => (i % 4 === 1 ? -1e9 : v));
      h.set(xs, x / 4);
      h.set(bs, bias / 4);
      ex.softmaxRows!(x, bias, out, rows, n, n, 0.7);
      for (let r = 0; r < rows; r++) {
        const z = Array.from(
          { length: n },
          (_, j) => Math.fround(xs[r * n + j]! * Math.fround(0.7)) + bs[r * n + j]!,
        );
        const max = Math.max(...z);
        const e = z.map((v) => Math.exp(v - max));
        const sum = e.reduce((p, v) => p + v, 0);
        for (let j = 0; j < n; j++) {
          const got = h[out / 4 + r * n + j]!;
          if (bs[r * n + j]! < -1e8 && max > -1e8) {
            assert.equal(got, 0, `masked n=${n} [${r},${j}]`);
          }
          assert.ok(
            Math.abs(got - e[j]! / sum) <= 3e-7,
            `softmax n=${n} [${r},${j}]: ${got} vs ${e[j]! / sum}`,
          );
        }
      }
    }
    const n = 203;
    const [g, u, o, dy, dg, du] = [0, 1, 2, 3, 4, 5].map((i) => 1024 + 4 * i * (n + 4));
    const gs = values(n, 7).map((v) => 12 * v);
    const us = values(n, 8);
    const ds = values(n, 9);
    h.set(gs, g! / 4);
    h.set(us, u! / 4);
    h.set(ds, dy! / 4);
    ex.swiglu!(g!, u!, o!, n);
    ex.swigluGrad!(dy!, g!, u!, dg!, du!, n);
    for (let i = 0; i < n; i++) {
      const [G, U, D] = [gs[i]!, us[i]!, ds[i]!];
      const s = 1 / (1 + Math.exp(-G));
      const close = (got: number, want: number, what: string) =>
        assert.ok(
          Math.abs(got - want) <= 1e-6 + 1e-6 * Math.abs(want),
          `${what}[${i}]: ${got} vs ${want}`,
        );
      close(h[o! / 4 + i]!, G * s * U, "swiglu");
      close(h[du! / 4 + i]!, D * G * s, "du");
      close(h[dg! / 4 + i]!, D * U * s * (1 + G * (1 - s)), "dg");
    }
    // exp through a one-element softmax numerator: softmax of [x, 0] row gives e^x / (e^x + 1)
    let worst = 0;
    for (let x = -80; x <= 80; x += 0.37) {
      h[256] = x;
      h[257] = 0;
      ex.softmaxRows!(1024, 0, 2048, 1, 2, 2, 1);
      const want = 1 / (1 + Math.exp(-Math.abs(Math.fround(x))));
      const got = Math.max(h[512]!, h[513]!);
      worst = Math.max(worst, Math.abs(got - want) / want);
    }
    assert.ok(worst < 3e-7, `exp relative error ${worst}`);
  },
});
