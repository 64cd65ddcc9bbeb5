/**
 * `BatchMatMul` on the native backend: `sgemm` from the system BLAS over the wasm heap.
 * Handles transposes, any rank >= 2 and NumPy-style broadcasting of the batch dimensions.
 * Non-float32 inputs go to the wasm kernel. The gradients of `matMul` are matMuls, so the
 * backward pass comes through here too.
 *
 * @module
 */
import type { BatchMatMulAttrs, KernelConfig, KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import type { BlasLibrary } from "./blas.ts";
import { batchedSgemm, matMulGeometry } from "./gemm.ts";
import { heapBuffer, heapOffset, type KernelArgs, type WasmHeapBackend } from "./heap.ts";

/** `out = op(a) op(b)` by BLAS, for float32 tensors already on the native backend. */
export function blasMatMul(
  blas: BlasLibrary,
  backend: WasmHeapBackend,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
): TensorInfo {
  const g = matMulGeometry(a.shape, b.shape, transposeA, transposeB);
  const at = { a: heapOffset(backend, a), b: heapOffset(backend, b) };
  const out = backend.makeOutput(g.outShape, "float32"); // [...batch, M, N]
  batchedSgemm(blas.sgemm, heapBuffer(backend), { ...at, out: heapOffset(backend, out) }, g);
  return out;
}

/** The `BatchMatMul` kernel for `backendName`, falling back to `fallback` for non-float32. */
export function batchMatMulKernel(
  blas: BlasLibrary,
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
      return blasMatMul(
        blas,
        args.backend as WasmHeapBackend,
        a,
        b,
        transposeA === true,
        transposeB === true,
      );
    },
  };
}
