/**
 * `BatchMatMul` on a backend whose tensors live in the wasm heap: one {@link HeapGemm} per
 * batch (BLAS `sgemm` for `native`, our WebAssembly SIMD kernel for `wasm`). Handles
 * transposes, any rank >= 2 and NumPy-style broadcasting of the batch dimensions. Non-float32
 * inputs go to the fallback kernel. The gradients of `matMul` are matMuls, so the backward
 * pass comes through here too.
 *
 * @module
 */
import type { BatchMatMulAttrs, KernelConfig, KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import {
  batchedGemm,
  type HeapGemm,
  type HeapOperands,
  type MatMulGeometry,
  matMulGeometry,
} from "./gemm.ts";
import { heapBuffer, heapOffset, type KernelArgs, type WasmHeapBackend } from "./heap.ts";

/** `out = op(a) op(b)` for float32 tensors on a heap backend. */
export type HeapMatMul = (
  backend: WasmHeapBackend,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
) => TensorInfo;

/**
 * Runs a whole batched product on several threads, or returns false to leave it to the
 * single-threaded loop (see `simd/pool.ts`).
 */
export type ParallelGemm = (
  gemm: HeapGemm,
  heap: () => ArrayBuffer,
  at: HeapOperands,
  g: MatMulGeometry,
) => boolean;

/**
 * A {@link HeapMatMul} from a way to get a {@link HeapGemm} for the current heap (called after
 * the output is allocated, since allocation may grow and replace the heap), optionally
 * multi-threaded.
 */
export function heapMatMul(
  gemmFor: (backend: WasmHeapBackend) => HeapGemm,
  parallel?: ParallelGemm,
): HeapMatMul {
  return (backend, a, b, transposeA, transposeB) => {
    const g = matMulGeometry(a.shape, b.shape, transposeA, transposeB);
    const out = backend.makeOutput(g.outShape, "float32"); // [...batch, M, N]
    const at = {
      a: heapOffset(backend, a),
      b: heapOffset(backend, b),
      out: heapOffset(backend, out),
    };
    const gemm = gemmFor(backend);
    if (parallel?.(gemm, () => heapBuffer(backend), at, g)) return out;
    batchedGemm(gemm, at, g, (offset, floats) => {
      new Float32Array(heapBuffer(backend), offset, floats).fill(0);
    });
    return out;
  };
}

/** The `BatchMatMul` kernel for `backendName`, falling back to `fallback` for non-float32. */
export function batchMatMulKernel(
  matMul: HeapMatMul,
  backendName: string,
  fallback: KernelFunc,
): KernelConfig {
  return {
    kernelName: "BatchMatMul",
    backendName,
    kernelFunc: (args: KernelArgs) => {
      const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
      const { transposeA, transposeB } = args.attrs as unknown as BatchMatMulAttrs;
      if (a.dtype !== "float32" || b.dtype !== "float32") return fallback(args);
      return matMul(
        args.backend as WasmHeapBackend,
        a,
        b,
        transposeA === true,
        transposeB === true,
      );
    },
  };
}
