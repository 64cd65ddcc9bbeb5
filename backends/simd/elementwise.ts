/**
 * The fused elementwise kernels (`elementwise_module.ts`) instantiated on a heap: the tfjs wasm
 * module's memory, shared by the `wasm` and `native` backends, so they read and write tensors
 * in place. One instance per memory.
 *
 * @module
 */
import { encodeModule, memoryImportOf } from "./asm.ts";
import { ELEMENTWISE_FUNCS } from "./elementwise_module.ts";

/** The kernels, on byte offsets into their memory (sizes in floats). */
export interface ElementwiseKernels {
  /**
   * Each of `rows` rows of `n` (rows `ld` floats apart): `out = softmax(x * scale + bias)`;
   * bias 0 = none.
   */
  softmaxRows(
    x: number,
    bias: number,
    out: number,
    rows: number,
    n: number,
    ld: number,
    scale: number,
  ): void;
  /** Each of `rows` rows of `n` (`ld` apart): `ds = scale p (ds - sum(ds p))` in place. */
  softmaxGradRows(ds: number, p: number, rows: number, n: number, ld: number, scale: number): void;
  /** `out = g sigmoid(g) u` over `n` floats. */
  swiglu(g: number, u: number, out: number, n: number): void;
  /** The gradients of {@link swiglu} for upstream `dy`. */
  swigluGrad(dy: number, g: number, u: number, dg: number, du: number, n: number): void;
  /** Per row of `n`: stats[2r] = max, stats[2r + 1] = sum of exp(x - max). */
  rowMaxSumExp(x: number, stats: number, rows: number, n: number): void;
  /** Per row of `n`: out = exp(x - shift[r]) scale[r]. */
  rowExpShift(x: number, shift: number, scale: number, out: number, rows: number, n: number): void;
  /** `y = y + a x` over `n` floats. */
  axpy(x: number, y: number, n: number, a: number): void;
}

const instances = new WeakMap<WebAssembly.Memory, ElementwiseKernels>();

/** The kernels on `memory` (instantiated on first use), or null without WebAssembly SIMD. */
export function elementwiseKernels(memory: WebAssembly.Memory): ElementwiseKernels | null {
  const done = instances.get(memory);
  if (done) return done;
  const bytes = encodeModule(ELEMENTWISE_FUNCS, memoryImportOf(memory));
  if (!WebAssembly.validate(bytes)) return null;
  const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
  const kernels = {
    softmaxRows: ex["softmaxRows"],
    softmaxGradRows: ex["softmaxGradRows"],
    swiglu: ex["swiglu"],
    swigluGrad: ex["swigluGrad"],
    rowMaxSumExp: ex["rowMaxSumExp"],
    rowExpShift: ex["rowExpShift"],
    axpy: ex["axpy"],
  } as unknown as ElementwiseKernels;
  instances.set(memory, kernels);
  return kernels;
}
