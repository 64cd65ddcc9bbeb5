/**
 * `_FusedMatMul` on a heap backend (`native`, `wasm`): `act(op(a) op(b) + bias)`. The product
 * runs in the backend's {@link HeapMatMul} (BLAS, or our WebAssembly kernel);
 * a rank-1 bias over the last dimension (the linear-layer case) and the pointwise activations
 * are applied in place in one pass over the output; any other bias shape and `prelu` go
 * through the backend's own `Add` / `Prelu` kernels. The gradient (defined by tfjs-core in
 * terms of matMul) runs through the backend's `BatchMatMul`.
 *
 * @module
 */
import type {
  _FusedMatMulAttrs,
  KernelConfig,
  KernelFunc,
  NamedAttrMap,
  TensorInfo,
} from "@tensorflow/tfjs-core";
import type { HeapMatMul } from "./batch_mat_mul.ts";
import { heapF32, type KernelArgs, type WasmHeapBackend } from "./heap.ts";

/** The activations {@link applyActivation} does in place (all but `prelu`). */
export type PointwiseActivation = "linear" | "relu" | "relu6" | "elu" | "leakyrelu" | "sigmoid";

/** Apply a pointwise activation to `x` in place. */
export function applyActivation(
  x: Float32Array,
  activation: PointwiseActivation,
  leakyreluAlpha: number,
): void {
  const n = x.length;
  switch (activation) {
    case "linear":
      return;
    case "relu":
      for (let i = 0; i < n; i++) if (x[i]! < 0) x[i] = 0;
      return;
    case "relu6":
      for (let i = 0; i < n; i++) x[i] = Math.min(6, Math.max(0, x[i]!));
      return;
    case "elu":
      for (let i = 0; i < n; i++) if (x[i]! < 0) x[i] = Math.expm1(x[i]!);
      return;
    case "leakyrelu":
      for (let i = 0; i < n; i++) if (x[i]! < 0) x[i] = x[i]! * leakyreluAlpha;
      return;
    case "sigmoid":
      for (let i = 0; i < n; i++) x[i] = 1 / (1 + Math.exp(-x[i]!));
      return;
  }
}

/** Add a vector of length `n` to every row of the row-major `x` in place. */
export function addRowBias(x: Float32Array, bias: Float32Array): void {
  const n = bias.length;
  for (let row = 0; row < x.length; row += n) {
    for (let j = 0; j < n; j++) x[row + j] = x[row + j]! + bias[j]!;
  }
}

/** The kernels `_FusedMatMul` may delegate to. */
export interface FusedFallbacks {
  /** The backend's `Add` kernel (general bias broadcasting). */
  readonly add: KernelFunc;
  /** The backend's `Prelu` kernel. */
  readonly prelu: KernelFunc;
  /** The backend's own `_FusedMatMul`, for non-float32 input. */
  readonly fused: KernelFunc;
}

function run(
  f: KernelFunc,
  backend: WasmHeapBackend,
  inputs: Record<string, TensorInfo>,
  attrs: NamedAttrMap = {},
): TensorInfo {
  const r = f({ inputs, backend: backend as never, attrs });
  if (Array.isArray(r)) throw new Error("native: expected one output from a fallback kernel");
  return r;
}

/** The `_FusedMatMul` kernel for `backendName`. */
export function fusedMatMulKernel(
  matMul: HeapMatMul,
  backendName: string,
  fallbacks: FusedFallbacks,
): KernelConfig {
  return {
    kernelName: "_FusedMatMul",
    backendName,
    kernelFunc: (args: KernelArgs) => {
      const { a, b, bias, preluActivationWeights } = args.inputs as {
        a: TensorInfo;
        b: TensorInfo;
        bias?: TensorInfo;
        preluActivationWeights?: TensorInfo;
      };
      const attrs = args.attrs as unknown as _FusedMatMulAttrs;
      if (a.dtype !== "float32" || b.dtype !== "float32") return fallbacks.fused(args);
      const backend = args.backend as WasmHeapBackend;
      let out = matMul(backend, a, b, attrs.transposeA, attrs.transposeB); // [..., M, N]
      const n = out.shape[out.shape.length - 1]!;
      if (bias) {
        const biasSize = bias.shape.reduce((p, d) => p * d, 1);
        if (bias.shape.length <= 1 && biasSize === n && bias.dtype === "float32") {
          addRowBias(heapF32(backend, out), heapF32(backend, bias));
        } else {
          const sum = run(fallbacks.add, backend, { a: out, b: bias });
          backend.disposeData(out.dataId);
          out = sum;
        }
      }
      if (attrs.activation === "prelu") {
        if (!preluActivationWeights) throw new Error("_FusedMatMul: prelu needs its weights");
        const act = run(fallbacks.prelu, backend, { x: out, alpha: preluActivationWeights });
        backend.disposeData(out.dataId);
        return act;
      }
      applyActivation(heapF32(backend, out), attrs.activation, attrs.leakyreluAlpha ?? 0.2);
      return out;
    },
  };
}
