/**
 * The slice of the wasm backend the native kernels touch: where a tensor lives in the shared
 * WebAssembly heap, and how to allocate an output there.
 *
 * @module
 */
import type { DataType, KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";

/** What the native kernels need from a `BackendWasm` instance (structural, to stay decoupled). */
export interface WasmHeapBackend {
  readonly wasm: { readonly HEAPU8: Uint8Array };
  readonly dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

/** The arguments TensorFlow.js passes to a kernel function. */
export type KernelArgs = Parameters<KernelFunc>[0];

/** The byte offset of a tensor's data in the wasm heap (moving it here first if needed). */
export function heapOffset(backend: WasmHeapBackend, t: TensorInfo): number {
  const data = backend.dataIdMap.get(t.dataId);
  if (!data) throw new Error(`native: tensor of shape [${t.shape}] has no data on this backend`);
  return data.memoryOffset;
}

/**
 * The heap's current buffer. Take it after every allocation: growing the wasm memory replaces
 * the buffer, and views or pointers into the old one are stale.
 */
export function heapBuffer(backend: WasmHeapBackend): ArrayBuffer {
  return backend.wasm.HEAPU8.buffer as ArrayBuffer;
}

/** A float32 view of a tensor's data in the heap (fresh: see {@link heapBuffer}). */
export function heapF32(backend: WasmHeapBackend, t: TensorInfo): Float32Array {
  const size = t.shape.reduce((p, d) => p * d, 1);
  return new Float32Array(heapBuffer(backend), heapOffset(backend, t), size);
}
