/**
 * `GatherV2` along the first axis (an embedding lookup, `tf.gather(table, ids)`) on a heap
 * backend as one copy per index: each gathered slice is contiguous in the table and in the
 * output, so it is a `copyWithin` inside the heap. The wasm backend's own kernel computes every
 * output element's source position from strides, about 100x slower on a [1024 x 512] lookup
 * (40 ms, a training step's largest non-product kernel after the fused ones). Other axes, batch
 * dimensions and dtypes go to the backend's kernel.
 *
 * Legend: N indices, R the table's rows, S the floats of one slice (the table's other dims).
 *
 * @module
 */
import type { GatherV2Attrs, KernelConfig, KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import { heapBuffer, heapOffset, type KernelArgs, type WasmHeapBackend } from "./heap.ts";

/** The dtypes gathered by copying (4 bytes per element). */
const COPIED = new Set(["float32", "int32"]);

/**
 * Copy slices `ids[i]` of `table` [R, S] into `out` [N, S] on the heap (byte offsets, S in
 * elements of 4 bytes).
 *
 * @throws Error naming the index when one is outside [0, R - 1] (as the wasm kernel does).
 */
export function gatherRows(
  heap: ArrayBuffer,
  table: number,
  rows: number,
  slice: number,
  ids: Int32Array,
  out: number,
): void {
  const words = new Int32Array(heap);
  for (let i = 0; i < ids.length; i++) {
    const r = ids[i]!;
    if (!(r >= 0 && r <= rows - 1)) {
      throw new Error(`GatherV2: the index value ${r} is not in [0, ${rows - 1}]`);
    }
    const from = (table >> 2) + r * slice;
    words.copyWithin((out >> 2) + i * slice, from, from + slice);
  }
}

/** `GatherV2` by {@link gatherRows} on the first axis; everything else to `fallback`. */
export function gatherKernel(backendName: string, fallback: KernelFunc): KernelConfig {
  return {
    kernelName: "GatherV2",
    backendName,
    kernelFunc: (args: KernelArgs) => {
      const { x, indices } = args.inputs as { x: TensorInfo; indices: TensorInfo };
      const { axis, batchDims } = args.attrs as unknown as GatherV2Attrs;
      const first = x.shape.length >= 1 && (axis === 0 || axis === -x.shape.length);
      if (!first || (batchDims ?? 0) !== 0 || !COPIED.has(x.dtype) || indices.dtype !== "int32") {
        return fallback(args);
      }
      const be = args.backend as WasmHeapBackend;
      const n = indices.shape.reduce((p, d) => p * d, 1);
      const slice = x.shape.slice(1).reduce((p, d) => p * d, 1);
      const out = be.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype);
      if (n === 0 || slice === 0) return out;
      const heap = heapBuffer(be); // after the allocation: it may have grown the heap
      const ids = new Int32Array(heap, heapOffset(be, indices), n);
      try {
        gatherRows(heap, heapOffset(be, x), x.shape[0]!, slice, ids, heapOffset(be, out));
      } catch (e) {
        be.disposeData(out.dataId, true);
        throw e;
      }
      return out;
    },
  };
}
