/**
 * The fused kernels' row-wise passes split over threads (`backends/fused/row_pool.ts`) on the
 * shared heap (`backends/simd/shared_heap.ts`): every kernel gives the same bits split or
 * whole (values and gradients through the ops, on shapes whose rows, elements and positions do
 * not divide evenly; attention's heads on `native`, with grouped keys, padding and keys past the
 * bias; and a three-thread runner on the raw kernels), no tensor is left behind;
 * the binary patch, the chunk size and the chunk claiming on one thread.
 */
import assert from "node:assert/strict";
import type { TensorInfo } from "@tensorflow/tfjs-core";
import { fused, tf } from "../backends/mod.ts";
import { encodeModule } from "../backends/simd/asm.ts";
import { withSharedMemory } from "../backends/simd/shared_heap.ts";
import { threadCount } from "../backends/simd/pool.ts";
import { elementwiseKernels } from "../backends/simd/elementwise.ts";
import {
  attentionShapeNumbers,
  MAX_JOB_NUMBERS,
  ROW_KERNEL,
} from "../backends/fused/row_kernels.ts";
import { openBlas } from "../backends/native/blas.ts";
import {
  CHUNK_BITS,
  CHUNKS,
  CLAIM,
  claimChunks,
  CONTROL_BYTES,
  DONE,
  PARAMS_AT,
  tagOf,
} from "../backends/fused/row_layout.ts";
import {
  chunkRows,
  createRowRunner,
  PARALLEL_MIN_ELEMENTS,
  type RowRunner,
  rowRunner,
  setRowParallel,
} from "../backends/fused/row_pool.ts";
import * as rowOps from "../backends/fused/row_ops.ts";
import type { FusedContext, Run } from "../backends/fused/kernel_args.ts";
import { heapOffset, type WasmHeapBackend } from "../backends/native/heap.ts";
import { rmsNorm, ropeHeads, swiGlu } from "../src/model/layers.ts";
import { crossEntropy } from "../src/model/loss.ts";
import { attentionBias } from "../src/model/mask.ts";
import { leakedTensors, seededValues as values, testBackends, useBackend } from "./_helpers.ts";

const t = (shape: number[], seed: number, scale = 1) =>
  tf.mul(tf.tensor(values(shape.reduce((p, d) => p * d, 1), seed), shape), scale);

/** The bits of each tensor. */
const bits = (xs: tf.Tensor[]) => xs.map((x) => new Uint32Array(x.dataSync().slice().buffer));

function sameBits(got: tf.Tensor[], want: tf.Tensor[], what: string): void {
  const [g, w] = [bits(got), bits(want)];
  g.forEach((a, i) => {
    const b = w[i]!;
    assert.equal(a.length, b.length, `${what} ${i}: length`);
    const at = a.findIndex((v, j) => v !== b[j]);
    assert.equal(at, -1, `${what} output ${i}: first differing element ${at}`);
  });
}

/** Value and gradients of `f` at `inputs` against a fixed cotangent. */
function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[]): tf.Tensor[] {
  return tf.tidy(() => {
    const y = f(...inputs);
    const dy = t(y.shape, 99);
    return [y, ...tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), dy)))(inputs)];
  });
}

/** `f` with the rows split over the threads and on one thread: the same bits. */
function splitEqualsWhole(name: string, f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[]) {
  setRowParallel(true);
  const split = valueAndGrads(f, xs);
  setRowParallel(false);
  let whole: tf.Tensor[];
  try {
    whole = valueAndGrads(f, xs);
  } finally {
    setRowParallel(true);
  }
  sameBits(split, whole, name);
  tf.dispose([...split, ...whole]);
}

Deno.test("shared heap: one memory byte changes from 'has a maximum' to 'shared'", () => {
  // A module that defines its own memory (1 page, at most 2) and exports it.
  const bytes = new Uint8Array([
    ...[0, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    ...[5, 4, 1, 0x01, 1, 2], // memory section: one memory, flags 1, min 1, max 2
    ...[7, 7, 1, 3, 0x6d, 0x65, 0x6d, 2, 0], // export "mem" memory 0
  ]);
  assert.ok(WebAssembly.validate(bytes));
  const shared = withSharedMemory(bytes);
  assert.ok(shared, "patched");
  assert.deepEqual([...shared].filter((b, i) => b !== bytes[i]), [0x03]);
  assert.equal(bytes[11], 0x01, "the input is left as it was");
  const mem = new WebAssembly.Instance(new WebAssembly.Module(shared)).exports["mem"];
  assert.ok((mem as WebAssembly.Memory).buffer instanceof SharedArrayBuffer);
  // No maximum (a shared memory needs one), an imported memory, not a module: left alone.
  const noMax = new Uint8Array([...bytes.slice(0, 8), 5, 3, 1, 0x00, 1]);
  assert.ok(WebAssembly.validate(noMax));
  assert.equal(withSharedMemory(noMax), null);
  assert.equal(withSharedMemory(encodeModule([])), null, "imported memory");
  assert.equal(withSharedMemory(new Uint8Array([1, 2, 3])), null);
});

Deno.test("row pool: chunks cover the rows once, aligned; a stale job claims nothing", () => {
  assert.equal(chunkRows(1000, 2), 125);
  assert.equal(chunkRows(37037, 2, 4), 4632);
  assert.equal(chunkRows(3, 2), 1);
  assert.equal(chunkRows(5, 2, 4), 4);
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  const ctl = new Int32Array(control, 0, PARAMS_AT / 4);
  const params = new Float64Array(control, PARAMS_AT, 2 + MAX_JOB_NUMBERS);
  for (const [rows, per] of [[1001, chunkRows(1001, 3)], [37037, chunkRows(37037, 2, 4)]]) {
    const seen: [number, number][] = [];
    params.set([rows!, per!, 7, 8]);
    ctl[CHUNKS] = Math.ceil(rows! / per!);
    ctl[DONE] = 0;
    ctl[CLAIM] = tagOf(5) << CHUNK_BITS;
    claimChunks(ctl, params, 4, () => seen.push([-1, -1])); // an older job: nothing to claim
    assert.equal(seen.length, 0);
    claimChunks(ctl, params, 5, (job, r0, r1) => {
      assert.deepEqual([job[0], job[1]], [7, 8], "the job's numbers");
      seen.push([r0, r1]);
    });
    assert.equal(seen[0]![0], 0);
    assert.equal(seen[seen.length - 1]![1], rows);
    seen.forEach(([r0, r1], i) => {
      assert.ok(r1 > r0 && r0 % per! === 0, "aligned, not empty");
      if (i > 0) assert.equal(r0, seen[i - 1]![1], "contiguous");
    });
    assert.equal(ctl[DONE], rows, "every row counted done");
    claimChunks(ctl, params, 5, () => seen.push([-1, -1])); // all claimed: nothing left
    assert.equal(seen[seen.length - 1]![1], rows);
  }
});

const backends = (await testBackends()).filter((b) => b === "wasm" || b === "native");

for (const backend of backends) {
  Deno.test(`row pool[${backend}]: split rows give the same bits as one thread`, async () => {
    await useBackend(backend);
    const { memory } = activeHeap();
    const runner = await rowRunner(memory, elementwiseKernels(memory)!);
    assert.equal(runner.threads, threadCount(), "the backend's runner has every thread");
    const leaked = await leakedTensors(() => {
      tf.tidy(() => {
        // Each above PARALLEL_MIN_ELEMENTS, with odd rows / elements / positions.
        assert.ok(3 * 347 * 97 >= PARALLEL_MIN_ELEMENTS);
        splitEqualsWhole("rmsNorm", (x, w) => rmsNorm(x, w, 1e-6), [
          t([3, 347, 97], 1, 3),
          t([97], 2),
        ]);
        splitEqualsWhole("swiGlu", swiGlu, [t([1001, 37], 5, 6), t([1001, 37], 6)]);
        const ids = tf.tensor1d(Array.from({ length: 411 }, (_, i) => (i * 7) % 97), "int32");
        const weights = tf.tensor1d(Array.from({ length: 411 }, (_, i) => (i % 5) / 4));
        splitEqualsWhole("crossEntropy", (x) => crossEntropy(x, ids, weights), [
          t([411, 97], 31, 4),
        ]);
        const pos = tf.reshape(tf.range(0, 129, 1, "float32"), [1, 129]);
        const freqs = tf.mul(tf.expandDims(pos, -1), tf.tensor1d([1, 0.3, 0.1, 0.02, 0.01]));
        const emb = tf.expandDims(tf.concat([freqs, freqs], -1), 1); // [1, 1, 129, 10]
        const [cos, sin] = [tf.cos(emb), tf.sin(emb)];
        splitEqualsWhole("ropeHeads", (x) => ropeHeads(x, cos, sin, 13, 10), [
          t([3, 129, 130], 9),
        ]);
      });
    });
    assert.equal(leaked, 0, "no tensor left behind");
  });
}

if (backends.includes("native")) {
  Deno.test("row pool[native]: attention's heads split over threads give the same bits", async () => {
    await useBackend("native");
    const leaked = await leakedTensors(() => {
      tf.tidy(() => {
        // 15 heads (uneven chunks), grouped keys, a padded batch row, keys past the bias.
        for (const [b, h, kvh, n, sk, d] of [[3, 5, 5, 128, 128, 32], [2, 6, 2, 96, 112, 48]]) {
          const mask = tf.tensor2d(
            Array.from({ length: b! * n! }, (_, i) => (i === n! - 1 ? 0 : 1)),
            [b!, n!],
            "int32",
          );
          const bias = attentionBias(n!, 0, mask); // [B, 1, T, T]
          splitEqualsWhole(
            `attention b ${b} h ${h} kvh ${kvh}`,
            (q, k, v) => fused.attention(q, k, v, bias, 1 / Math.sqrt(d!), true),
            [t([b!, h!, n!, d!], 21), t([b!, kvh!, sk!, d!], 22), t([b!, kvh!, sk!, d!], 23)],
          );
        }
      });
    });
    assert.equal(leaked, 0, "no tensor left behind");
  });
}

if (backends.includes("native")) {
  Deno.test({
    name: "row pool[native]: helpers that cannot open BLAS leave attention to the main thread" +
      " (ignored where the heap is private)",
    ignore: !(await nativeHeapShared()),
  }, async () => {
    await useBackend("native");
    const { be, memory } = activeHeap();
    const ew = elementwiseKernels(memory)!;
    const lookup = openBlas();
    assert.ok(lookup.ok, "native runs, so a BLAS opened");
    const blas = lookup.library;
    const broken = await createRowRunner(memory, ew, 3);
    const one = await createRowRunner(memory, ew, 1);
    broken.useBlas("no-such-blas-library.so", blas.sgemm); // the helpers fail to open it
    one.useBlas(blas.path, blas.sgemm);
    const before = tf.memory().numTensors;
    const sh = { b: 2, h: 4, kvh: 2, t: 128, s: 128, sk: 128, d: 32, biasRows: 1, causal: true };
    const [q, k, v, bias] = tf.tidy(() => [
      t([2, 4, 128, 32], 31),
      t([2, 2, 128, 32], 32),
      t([2, 2, 128, 32], 33),
      attentionBias(128, 0, undefined),
    ]);
    const threads = blas.threads;
    blas.setThreads(1);
    try {
      const outs = [broken, one].map((r) => {
        const p = be.makeOutput([2, 4, 128, 128], "float32");
        const o = be.makeOutput([2, 128, 4, 32], "float32");
        const at = [q!, k!, v!, bias!, p, o].map((x) => heapOffset(be, x));
        r.run([ROW_KERNEL.attention, ...at, ...attentionShapeNumbers(sh), 0.17], 8, {
          perRow: 1 << 14,
        });
        const bits = [p, o].map((x) => new Uint32Array(be.readSync(x.dataId).slice().buffer));
        [p, o].forEach((x) => be.disposeData(x.dataId, true));
        return bits;
      });
      outs[0]!.forEach((a, i) => {
        assert.equal(a.findIndex((x, j) => x !== outs[1]![i]![j]), -1, `output ${i}`);
      });
      assert.ok(outs[1]![1]!.some((x) => x !== 0), "attention wrote its output");
    } finally {
      blas.setThreads(threads);
      tf.dispose([q!, k!, v!, bias!]);
      await broken.close();
      await one.close();
    }
    assert.equal(tf.memory().numTensors, before, "no tensor left behind");
  });
}

/** The heap is shared (helpers possible) unless LISA_THREADS=1 or LISA_SHARED_HEAP=0. */
async function nativeHeapShared(): Promise<boolean> {
  await useBackend("native");
  return activeHeap().memory.buffer instanceof SharedArrayBuffer;
}

/** The active wasm-heap backend (with its reads) and the tfjs heap memory. */
function activeHeap(): {
  be: WasmHeapBackend & { readSync(id: object): Float32Array };
  memory: WebAssembly.Memory;
} {
  const be = tf.backend() as unknown as WasmHeapBackend & {
    readSync(id: object): Float32Array;
    wasm: { asm: { memory: WebAssembly.Memory } };
  };
  return { be, memory: be.wasm.asm.memory };
}

if (backends.includes("native")) {
  Deno.test({
    name: "row pool[native]: three threads on the raw kernels equal one" +
      " (ignored where the heap is private: LISA_THREADS=1 or LISA_SHARED_HEAP=0)",
    ignore: !(await nativeHeapShared()),
  }, async () => {
    await useBackend("native");
    const { be, memory } = activeHeap();
    const ew = elementwiseKernels(memory)!;
    const three = await createRowRunner(memory, ew, 3);
    const one = await createRowRunner(memory, ew, 1);
    const before = tf.memory().numTensors;
    try {
      const ctx = (rows: RowRunner): FusedContext => ({
        gemm: () => {
          throw new Error("unused");
        },
        product: () => {
          throw new Error("unused");
        },
        ew,
        rows,
      });
      const [x, w, dy, g, ng, ag, rope, cs, sn, lx] = tf.tidy(() => [
        t([5, 1231, 29], 11),
        t([29], 12),
        t([5, 1231, 29], 13),
        t([35711], 14, 5),
        t([35711], 15, -4),
        tf.abs(t([35711], 16)),
        t([2, 601, 5, 12], 17),
        tf.cos(t([1, 1, 601, 12], 18)),
        tf.sin(t([1, 1, 601, 12], 19)),
        t([1231, 59], 20),
      ]);
      const cases: [string, Run, Record<string, tf.Tensor>, Record<string, number>][] = [
        ["rmsNorm", rowOps.rmsNorm, { x: x!, weight: w! }, { eps: 1e-5 }],
        ["rmsNormGrad", rowOps.rmsNormGrad, { dy: dy!, x: x!, weight: w! }, { eps: 1e-5 }],
        ["swiGlu", rowOps.swiGlu, { gate: g!, up: ng! }, {}],
        ["swiGluGrad", rowOps.swiGluGrad, { dy: g!, gate: ng!, up: ag! }, {}],
        ["ropeHeads", rowOps.ropeHeads, { x: rope!, cos: cs!, sin: sn! }, {}],
        ["logSumExp", rowOps.logSumExp, { x: lx! }, {}],
      ];
      assert.equal(three.threads, 3);
      for (const [name, run, inputs, attrs] of cases) {
        const outs = [three, one].map((r) => {
          const got = run({ inputs, backend: be as never, attrs }, ctx(r));
          const list = (Array.isArray(got) ? got : [got]) as TensorInfo[];
          const data = list.map((o) => be.readSync(o.dataId).slice());
          list.forEach((o) => be.disposeData(o.dataId, true));
          return data;
        });
        outs[0]!.forEach((a, i) => {
          const [ua, ub] = [a, outs[1]![i]!].map((v) => new Uint32Array(v.buffer));
          assert.equal(ua!.findIndex((v, j) => v !== ub![j]), -1, `${name} output ${i}`);
        });
      }
      // A job that fails (no such kernel) fails the call on every thread it reached, and the
      // runner still works afterwards (no thread left waiting).
      const norm = (r: RowRunner) => {
        const args = { inputs: { x: x!, weight: w! }, backend: be as never, attrs: { eps: 1e-5 } };
        const y = rowOps.rmsNorm(args, ctx(r)) as TensorInfo;
        const bits = new Uint32Array(be.readSync(y.dataId).slice().buffer);
        be.disposeData(y.dataId, true);
        return bits;
      };
      const want = norm(one);
      for (let round = 0; round < 2; round++) {
        assert.throws(() => three.run([999], 50000), /failed/);
        const got = norm(three);
        assert.equal(got.findIndex((v, j) => v !== want[j]), -1, "rmsNorm after a failure");
      }
      tf.dispose([x!, w!, dy!, g!, ng!, ag!, rope!, cs!, sn!, lx!]);
    } finally {
      await three.close();
      await one.close();
    }
    assert.equal(tf.memory().numTensors, before, "no tensor left behind");
  });
}
