/**
 * Installing our WebAssembly SIMD kernels on the `wasm` backend in place of tfjs's own
 * `BatchMatMul` / `_FusedMatMul` (XNNPACK through tfjs, which on this project's shapes runs at
 * 0.1-4 GFLOP/s: it re-creates operators per call and loops over batches), and sharing
 * `Identity` / same-dtype `Cast` instead of copying, as `native` does.
 * `LISA_WASM_KERNELS=tfjs` keeps tfjs's kernels (for comparison).
 *
 * @module
 */
import type { KernelConfig, KernelFunc } from "@tensorflow/tfjs-core";
import { tf } from "../tf.ts";
import { batchMatMulKernel, heapMatMul } from "../native/batch_mat_mul.ts";
import { fusedMatMulKernel } from "../native/fused_mat_mul.ts";
import { castKernel, identityKernel } from "../native/identity.ts";
import { gatherKernel } from "../native/gather.ts";
import { createSimdKernels, type SimdKernels, type WasmModuleHandle } from "./module.ts";
import { createGemmPool, type GemmPool } from "./pool.ts";
import { type HeapGemm, matMulGeometry } from "../native/gemm.ts";
import { heapBuffer } from "../native/heap.ts";
import { elementwiseKernels } from "./elementwise.ts";
import { installFusedKernels } from "../fused/kernels.ts";
import { rowRunner } from "../fused/row_pool.ts";

/** Which kernels the wasm backend runs its matrix products with. */
export type WasmKernelChoice = "simd" | "tfjs";

/** The choice from `LISA_WASM_KERNELS` (default `simd`). */
export function wasmKernelChoice(): WasmKernelChoice {
  return Deno.env.get("LISA_WASM_KERNELS")?.trim() === "tfjs" ? "tfjs" : "simd";
}

function kernelOf(name: string, backendName: string): KernelFunc {
  const k = tf.getKernel(name, backendName);
  if (!k) throw new Error(`simd: the ${backendName} backend has no ${name} kernel to build on`);
  return k.kernelFunc;
}

function replace(config: KernelConfig): void {
  if (tf.getKernel(config.kernelName, config.backendName)) {
    tf.unregisterKernel(config.kernelName, config.backendName);
  }
  tf.registerKernel(config);
}

/** What was installed on a backend. */
export interface InstalledSimd {
  readonly kernels: SimdKernels;
  /** Threads the matrix products use (1 when no helper threads could start). */
  readonly threads: number;
}

const installed = new Map<string, InstalledSimd>();

/**
 * `gemm` on the pool's threads when the product has compact operands and is large enough to
 * split (see `pool.ts`; the same sums as one thread), on this thread otherwise.
 */
export function threadedGemm(
  gemm: HeapGemm,
  pool: GemmPool | null,
  heap: () => ArrayBuffer,
): HeapGemm {
  if (!pool) return gemm;
  return (ta, tb, m, n, k, a, lda, b, ldb, c, ldc) => {
    if (ldc === n && lda === (ta ? m : k) && ldb === (tb ? k : n)) {
      const g = matMulGeometry(ta ? [k, m] : [m, k], tb ? [n, k] : [k, n], ta, tb);
      if (pool.run(gemm, heap, { a, b, out: c }, g)) return;
    }
    gemm(ta, tb, m, n, k, a, lda, b, ldb, c, ldc);
  };
}

/**
 * Replace the matrix products (and identity copies) of the initialised wasm-heap backend
 * `backendName` with ours, on `threads` threads (see `pool.ts`). Idempotent. Returns null (and
 * changes nothing) when the runtime has no WebAssembly SIMD or the module hides its memory.
 */
export async function installSimdKernels(
  backendName: string,
  module: WasmModuleHandle,
  threads?: number,
): Promise<InstalledSimd | null> {
  const done = installed.get(backendName);
  if (done) return done;
  const kernels = createSimdKernels(module);
  if (!kernels) return null;
  let pool: GemmPool | null = null;
  try {
    pool = await createGemmPool(threads);
  } catch {
    pool = null; // no helper threads here: one thread is still correct
  }
  const original = {
    matMul: kernelOf("BatchMatMul", backendName),
    add: kernelOf("Add", backendName),
    prelu: kernelOf("Prelu", backendName),
    fused: kernelOf("_FusedMatMul", backendName),
    identity: kernelOf("Identity", backendName),
    cast: kernelOf("Cast", backendName),
    gather: kernelOf("GatherV2", backendName),
  };
  const matMul = heapMatMul(() => kernels.gemm, pool ? pool.run : undefined);
  replace(batchMatMulKernel(matMul, backendName, original.matMul));
  replace(fusedMatMulKernel(matMul, backendName, original));
  replace(identityKernel(backendName, original.identity));
  replace(castKernel(backendName, original.cast));
  replace(gatherKernel(backendName, original.gather));
  const memory = module.asm.memory;
  const ew = memory ? elementwiseKernels(memory) : null;
  if (memory && ew) {
    installFusedKernels(backendName, {
      gemm: () => kernels.gemm,
      product: (backend) => threadedGemm(kernels.gemm, pool, () => heapBuffer(backend)),
      ew,
      rows: await rowRunner(memory, ew, threads),
    });
  }
  const result = { kernels, threads: pool?.threads ?? 1 };
  installed.set(backendName, result);
  return result;
}
