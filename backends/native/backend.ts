/**
 * The `native` TensorFlow.js backend: a second `BackendWasm` on the wasm backend's module (one
 * heap, so tensors cross between the two by a copy inside the same memory), carrying every
 * wasm kernel except the matrix products, which run in the system BLAS, and `Identity` /
 * same-dtype `Cast`, which share data instead of copying it.
 *
 * @module
 */
import type { KernelBackend, KernelFunc } from "@tensorflow/tfjs-core";
import { tf } from "../tf.ts";
import type { BlasLibrary } from "./blas.ts";
import { batchMatMulKernel, heapMatMul } from "./batch_mat_mul.ts";
import { blasGemm, type HeapGemm } from "./gemm.ts";
import { heapBuffer, type WasmHeapBackend } from "./heap.ts";
import { fusedMatMulKernel } from "./fused_mat_mul.ts";
import { castKernel, identityKernel } from "./identity.ts";
import { gatherKernel } from "./gather.ts";
import { elementwiseKernels } from "../simd/elementwise.ts";
import { createSimdKernels, type WasmModuleHandle } from "../simd/module.ts";
import { installFusedKernels } from "../fused/kernels.ts";
import { rowRunner } from "../fused/row_pool.ts";
import type { HeadProducts } from "../fused/kernel_args.ts";

/** The TensorFlow.js backend name the native engine registers. */
export const NATIVE_TF_NAME = "native";

/** Kernels the native backend provides itself instead of copying the wasm ones. */
export const NATIVE_KERNELS = [
  "BatchMatMul",
  "_FusedMatMul",
  "Identity",
  "Cast",
  "GatherV2",
] as const;

/**
 * Tensor ids (which the wasm module's C++ side keys its tensor table by) for the native
 * instance start here, far above any the wasm instance will hand out, so both can share the
 * module without colliding.
 */
const NATIVE_ID_BASE = 2 ** 30;

/**
 * Where the fused kernels' products (attention's per-head blocks) run, by size in FLOPs
 * (2 M N K).
 */
export interface ProductRouting {
  /**
   * Below this, our SIMD kernel: only a decoding step's one-row products are this small, and
   * there a BLAS call costs more than the arithmetic. Default 1e5.
   */
  readonly simdBelow: number;
  /**
   * Below this (and from `simdBelow`), BLAS on one thread: a training step's blocks (64 rows, up
   * to 256 keys, head dim 64: 0.5-2 MFLOP) run several times faster per core in BLAS than in
   * our 128-bit WebAssembly kernel on an AVX-512 CPU, but splitting each across BLAS's threads
   * costs a hand-off per product, thousands per step, which measured slower than one thread.
   * Larger products (attention's key and value gradients of a group of heads, 8 MFLOP in a
   * training step) use every BLAS thread. Default 4e6.
   */
  readonly serialBelow: number;
}

/** The default {@link ProductRouting}. */
export const PRODUCT_ROUTING: ProductRouting = { simdBelow: 1e5, serialBelow: 4e6 };

let routing: ProductRouting = PRODUCT_ROUTING;

/**
 * Change where the fused kernels' products run (for comparisons: `simdBelow: Infinity` is the
 * SIMD kernel only); returns the previous routing.
 */
export function setProductRouting(r: Partial<ProductRouting>): ProductRouting {
  const was = routing;
  routing = { ...routing, ...r };
  return was;
}

interface EngineInternals {
  readonly registry: Record<string, KernelBackend | undefined>;
}

function kernelOf(name: string, backendName: string): KernelFunc {
  const k = tf.getKernel(name, backendName);
  if (!k) throw new Error(`native: the ${backendName} backend has no ${name} kernel to build on`);
  return k.kernelFunc;
}

/**
 * Register the `native` backend with TensorFlow.js (idempotent). The wasm backend must
 * already be initialised: its module and kernels are what `native` is built from.
 */
export async function registerNativeBackend(blas: BlasLibrary): Promise<void> {
  if (tf.findBackendFactory(NATIVE_TF_NAME)) return;
  const wasmPkg = await import("@tensorflow/tfjs-backend-wasm");
  const registry = (tf.engine() as unknown as EngineInternals).registry;
  const base = registry["wasm"] as InstanceType<typeof wasmPkg.BackendWasm> | undefined;
  if (!base) throw new Error("native: initialise the wasm backend before registering native");

  /** `BackendWasm` on the shared module; disposing it leaves the module to its owner. */
  class NativeBackend extends wasmPkg.BackendWasm {
    /** The BLAS library the matrix products run in. */
    readonly blas: BlasLibrary = blas;
    constructor() {
      super(base!.wasm);
      (this as unknown as { dataIdNextNumber: number }).dataIdNextNumber = NATIVE_ID_BASE;
    }
    override dispose(): void {
      // The module (and its heap) belongs to the wasm backend, which may still be in use.
    }
  }

  for (const k of tf.getKernelsForBackend("wasm")) {
    if ((NATIVE_KERNELS as readonly string[]).includes(k.kernelName)) continue;
    tf.registerKernel({ ...k, backendName: NATIVE_TF_NAME });
  }
  const matMul = heapMatMul((backend) => blasGemm(blas.sgemm, heapBuffer(backend)));
  tf.registerKernel(batchMatMulKernel(matMul, NATIVE_TF_NAME, kernelOf("BatchMatMul", "wasm")));
  tf.registerKernel(
    fusedMatMulKernel(matMul, NATIVE_TF_NAME, {
      add: kernelOf("Add", "wasm"),
      prelu: kernelOf("Prelu", "wasm"),
      fused: kernelOf("_FusedMatMul", "wasm"),
    }),
  );
  tf.registerKernel(identityKernel(NATIVE_TF_NAME, kernelOf("Identity", "wasm")));
  tf.registerKernel(castKernel(NATIVE_TF_NAME, kernelOf("Cast", "wasm")));
  tf.registerKernel(gatherKernel(NATIVE_TF_NAME, kernelOf("GatherV2", "wasm")));
  const memory = (base.wasm as unknown as { asm: { memory?: WebAssembly.Memory } }).asm.memory;
  const ew = memory ? elementwiseKernels(memory) : null;
  // Attention's products: see ProductRouting.
  const simd = createSimdKernels(base.wasm as unknown as WasmModuleHandle);
  if (ew) {
    const gemm = (backend: WasmHeapBackend): HeapGemm => {
      const big = blasGemm(blas.sgemm, heapBuffer(backend));
      const threads = blas.threads;
      const { simdBelow, serialBelow } = routing;
      return (ta, tb, m, n, k, a, lda, b, ldb, c, ldc) => {
        const flops = 2 * m * n * k;
        if (simd && flops < simdBelow) {
          return simd.gemm(ta, tb, m, n, k, a, lda, b, ldb, c, ldc);
        }
        if (threads <= 1 || flops >= serialBelow) {
          return big(ta, tb, m, n, k, a, lda, b, ldb, c, ldc);
        }
        blas.setThreads(1);
        try {
          big(ta, tb, m, n, k, a, lda, b, ldb, c, ldc);
        } finally {
          blas.setThreads(threads);
        }
      };
    };
    // A layer's products run where `BatchMatMul` runs them (BLAS), so fused and unfused layers
    // give the same bits.
    const product = (backend: WasmHeapBackend) => blasGemm(blas.sgemm, heapBuffer(backend));
    const rows = await rowRunner(memory!, ew);
    rows.useBlas(blas.path, blas.sgemm);
    // Attention's heads on the row pool's threads, each product in BLAS on one thread: the sums
    // of the one-thread path where its routing puts every block product in one-thread BLAS.
    const heads: HeadProducts = {
      covers: (min, max) =>
        (!simd || min >= routing.simdBelow) && (blas.threads <= 1 || max < routing.serialBelow),
      oneThread: (fn) => {
        const threads = blas.threads;
        if (threads <= 1) return fn();
        blas.setThreads(1);
        try {
          fn();
        } finally {
          blas.setThreads(threads);
        }
      },
    };
    installFusedKernels(NATIVE_TF_NAME, { gemm, product, ew, rows, heads });
  }
  // Low priority: tfjs must never pick it on its own; the project's registry chooses.
  tf.registerBackend(NATIVE_TF_NAME, () => new NativeBackend(), 0);
}
