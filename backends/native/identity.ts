/**
 * `Identity` and same-dtype `Cast` on the native backend without a copy: the output shares
 * the input's heap data (reference-counted), as the cpu backend does. The wasm kernels copy,
 * and autodiff issues hundreds of identities per training step (one per weight and
 * activation it passes through), each a full memcpy on the heap. Sharing is safe because no
 * kernel writes into its inputs; variables change by swapping their data, not in place.
 *
 * @module
 */
import type { CastAttrs, KernelConfig, KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import type { KernelArgs } from "./heap.ts";

interface RefCounted {
  incRef(dataId: object): void;
}

function share(args: KernelArgs, x: TensorInfo): TensorInfo {
  (args.backend as unknown as RefCounted).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** `Identity` by sharing; strings go to `fallback`. */
export function identityKernel(backendName: string, fallback: KernelFunc): KernelConfig {
  return {
    kernelName: "Identity",
    backendName,
    kernelFunc: (args: KernelArgs) => {
      const { x } = args.inputs as { x: TensorInfo };
      return x.dtype === "string" ? fallback(args) : share(args, x);
    },
  };
}

/** `Cast` by sharing when the dtype does not change; real conversions go to `fallback`. */
export function castKernel(backendName: string, fallback: KernelFunc): KernelConfig {
  return {
    kernelName: "Cast",
    backendName,
    kernelFunc: (args: KernelArgs) => {
      const { x } = args.inputs as { x: TensorInfo };
      const { dtype } = args.attrs as unknown as CastAttrs;
      return x.dtype === dtype && dtype !== "string" ? share(args, x) : fallback(args);
    },
  };
}
