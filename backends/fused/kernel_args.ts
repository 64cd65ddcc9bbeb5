/**
 * What every fused kernel of a heap backend runs on (`FusedContext`) and the small helpers
 * they share for reading their inputs and attributes.
 *
 * @module
 */
import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import type { HeapGemm } from "../native/gemm.ts";
import type { KernelArgs, WasmHeapBackend } from "../native/heap.ts";
import type { ElementwiseKernels } from "../simd/elementwise.ts";
import type { RowRunner } from "./row_pool.ts";

/** What the kernels of one heap backend run on. */
export interface FusedContext {
  /** The backend's product for small matrices (attention's per-head products), on the current heap (take it after allocating). */
  gemm(backend: WasmHeapBackend): HeapGemm;
  /** The backend's product for a layer's matrices (several threads where it has them). */
  product(backend: WasmHeapBackend): HeapGemm;
  /** The SIMD elementwise kernels on the same heap. */
  readonly ew: ElementwiseKernels;
  /** The row-wise passes' threads (`row_pool.ts`). */
  readonly rows: RowRunner;
  /** Attention's heads on the row pool's threads, where the backend allows it (`native`). */
  readonly heads?: HeadProducts;
}

/**
 * What splitting attention's heads over threads needs from a backend whose products are BLAS:
 * every thread then runs its heads' block products in BLAS on one thread, which is what the
 * one-thread path runs them in only for the sizes {@link covers} accepts.
 */
export interface HeadProducts {
  /** Whether the products of `min` to `max` FLOPs (2 M N K) run in one-thread BLAS. */
  covers(min: number, max: number): boolean;
  /** Run `fn` with BLAS on one thread (its own threads would compete with ours). */
  oneThread(fn: () => void): void;
}

/** A fused kernel's body. */
export type Run = (args: KernelArgs, ctx: FusedContext) => TensorInfo | TensorInfo[];

/** Elements of a shape. */
export const size = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);

/** A number attribute, or an error naming it. */
export function attr(attrs: NamedAttrMap | undefined, name: string): number {
  const v = attrs?.[name];
  if (typeof v !== "number") throw new Error(`fused kernel: attribute ${name} must be a number`);
  return v;
}

/** An input of the given dtype, or an error naming it. */
export function need(args: KernelArgs, name: string, dtype = "float32"): TensorInfo {
  const t = (args.inputs as Record<string, TensorInfo | undefined>)[name];
  if (!t) throw new Error(`fused kernel: missing input ${name}`);
  if (t.dtype !== dtype) throw new Error(`fused kernel: ${name} must be ${dtype}, got ${t.dtype}`);
  return t;
}

/** A temporary [shape] float32 buffer on the heap, freed by the returned function. */
export function scratch(be: WasmHeapBackend, shape: number[]): { t: TensorInfo; free: () => void } {
  const t = be.makeOutput(shape, "float32");
  return { t, free: () => be.disposeData(t.dataId, true) };
}
