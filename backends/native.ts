/**
 * `native`: matrix products (`BatchMatMul`, `_FusedMatMul`, and so every matMul of a backward
 * pass) in the system BLAS through Deno FFI; every other kernel is the wasm backend's, on the
 * same WebAssembly heap. Needs `--allow-ffi` and a BLAS library; see `native/blas.ts` for the
 * search order and the `LISA_BLAS_LIB` override, and `native/README.md` for the design.
 *
 * @module
 */
import type { BackendProvider } from "./types.ts";
import { activate, tf } from "./tf.ts";
import { wasmProvider } from "./wasm.ts";
import { openBlas } from "./native/blas.ts";
import { NATIVE_TF_NAME, registerNativeBackend } from "./native/backend.ts";

export { blasCandidates, defaultBlasCandidates, openBlas } from "./native/blas.ts";

function ffiAllowed(): boolean {
  return Deno.permissions.querySync({ name: "ffi" }).state === "granted";
}

/** The native (BLAS through FFI, wasm for the rest) backend. */
export const nativeProvider: BackendProvider = {
  name: "native",
  needs: "a system BLAS (Debian/Ubuntu: libopenblas0-pthread; macOS: Accelerate); " +
    "Deno --allow-ffi; the wasm backend for non-matmul kernels",
  probe: async () => {
    const no = (reason: string) => ({
      name: "native" as const,
      available: false,
      autoEligible: false,
      reason,
    });
    if (!ffiAllowed()) return no("Deno FFI is not permitted: run with --allow-ffi (or -A)");
    const blas = openBlas();
    if (!blas.ok) return no(blas.reason);
    const wasm = await wasmProvider.probe();
    if (!wasm.available) return no(`needs the wasm backend for its other kernels: ${wasm.reason}`);
    const threads = blas.library.threads;
    return {
      name: "native",
      available: true,
      autoEligible: true,
      reason: `BLAS ${blas.library.path}${threads ? ` (${threads} threads)` : ""}, ` +
        "other kernels wasm",
    };
  },
  init: async () => {
    const blas = openBlas();
    if (!blas.ok) throw new Error(blas.reason);
    if (!tf.findBackendFactory(NATIVE_TF_NAME)) {
      await wasmProvider.init();
      await registerNativeBackend(blas.library);
    }
    await activate(NATIVE_TF_NAME);
    const lib = blas.library;
    return {
      name: "native",
      tfBackend: NATIVE_TF_NAME,
      device: "CPU (system BLAS + WebAssembly)",
      details: {
        blas: lib.path,
        ...(lib.config ? { blasConfig: lib.config } : {}),
        ...(lib.threads ? { blasThreads: lib.threads } : {}),
        ...(lib.core ? { blasCore: lib.core } : {}),
        ...(lib.coreNote ? { blasCoreNote: lib.coreNote } : {}),
        otherKernels: "wasm",
      },
    };
  },
};
