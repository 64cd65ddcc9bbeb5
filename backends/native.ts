/**
 * `native`: matrix products in the system BLAS through Deno FFI, other kernels in the wasm
 * backend's. This is the slot the native engine fills; until it is built it reports itself
 * unavailable with the reason.
 *
 * @module
 */
import type { BackendProvider } from "./types.ts";

const NOT_BUILT = "the native BLAS engine is not part of this build yet";

/** The native (BLAS through FFI) backend slot. */
export const nativeProvider: BackendProvider = {
  name: "native",
  needs: "a system BLAS (libopenblas0-pthread on Debian/Ubuntu); Deno --allow-ffi",
  probe: () =>
    Promise.resolve({ name: "native", available: false, autoEligible: false, reason: NOT_BUILT }),
  init: () => Promise.reject(new Error(NOT_BUILT)),
};
