/**
 * `wasm`: TensorFlow.js's WebAssembly backend (XNNPACK kernels, SIMD when the runtime has it,
 * one thread: the threaded build needs cross-origin isolation, which Deno does not provide),
 * with its matrix products replaced by our own WebAssembly SIMD kernel (`simd/`).
 *
 * @module
 */
import type { BackendProvider } from "./types.ts";
import { activate, tf } from "./tf.ts";
import { installSimdKernels, wasmKernelChoice } from "./simd/kernels.ts";
import type { WasmModuleHandle } from "./simd/module.ts";
import { sharedHeapWanted, withSharedHeap } from "./simd/shared_heap.ts";
import { threadCount } from "./simd/pool.ts";

const WASM_FILES = ["tfjs-backend-wasm.wasm", "tfjs-backend-wasm-simd.wasm"];

/** The file URL of the wasm package's `dist/` folder, where its `.wasm` binaries live. */
export function wasmDistUrl(): string {
  const override = Deno.env.get("LISA_TFJS_WASM_DIR");
  if (override) return new URL(override.endsWith("/") ? override : `${override}/`, "file:///").href;
  const entry = import.meta.resolve("@tensorflow/tfjs-backend-wasm");
  return new URL("./", entry).href;
}

/** Whether this runtime validates a WebAssembly module that uses SIMD instructions. */
export function hasWasmSimd(): boolean {
  // A tiny module whose one function uses an i8x16 splat (v128): valid only with SIMD.
  const bytes = new Uint8Array([
    0,
    97,
    115,
    109,
    1,
    0,
    0,
    0,
    1,
    5,
    1,
    96,
    0,
    1,
    123,
    3,
    2,
    1,
    0,
    10,
    10,
    1,
    8,
    0,
    65,
    0,
    253,
    15,
    253,
    98,
    11,
  ]);
  return WebAssembly.validate(bytes);
}

async function distHasBinaries(): Promise<string | null> {
  const dist = wasmDistUrl();
  if (!dist.startsWith("file:")) return null;
  for (const f of WASM_FILES) {
    try {
      await Deno.stat(new URL(f, dist));
    } catch {
      return `missing ${f} in ${new URL(dist).pathname}`;
    }
  }
  return null;
}

/** The WebAssembly (XNNPACK) backend. */
export const wasmProvider: BackendProvider = {
  name: "wasm",
  needs: "WebAssembly (built into Deno); SIMD when available",
  probe: async () => {
    const missing = await distHasBinaries();
    return missing ? { name: "wasm", available: false, autoEligible: false, reason: missing } : {
      name: "wasm",
      available: true,
      autoEligible: true,
      reason: `XNNPACK kernels, ${hasWasmSimd() ? "SIMD" : "no SIMD"}, 1 thread`,
    };
  },
  init: async () => {
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    if (tf.getBackend() !== "wasm") wasm.setWasmPaths(wasmDistUrl());
    // A shared heap lets helper threads run kernels on tensors in place (simd/row_pool.ts).
    if (sharedHeapWanted() && threadCount() > 1) await withSharedHeap(() => activate("wasm"));
    else await activate("wasm");
    const module = (tf.backend() as unknown as { wasm: WasmModuleHandle }).wasm;
    const ours = wasmKernelChoice() === "simd" ? await installSimdKernels("wasm", module) : null;
    return {
      name: "wasm",
      tfBackend: "wasm",
      device: ours ? "CPU (WebAssembly: our SIMD matmul + XNNPACK)" : "CPU (WebAssembly, XNNPACK)",
      details: {
        simd: hasWasmSimd(),
        threads: ours?.threads ?? 1,
        matMul: ours ? `simd (ours), ${ours.threads} thread(s)` : "tfjs",
      },
    };
  },
};
