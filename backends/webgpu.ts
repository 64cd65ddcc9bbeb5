/**
 * `webgpu`: TensorFlow.js's WebGPU backend on Deno's `navigator.gpu`. On a real GPU it is the
 * fast path; on a machine without one, Mesa's lavapipe (software Vulkan) gives an adapter
 * that is slow but exact enough for parity tests.
 *
 * @module
 */
import type { BackendProvider } from "./types.ts";
import { activate, tf } from "./tf.ts";

/** tfjs-backend-webgpu's `MatMulProgramType.MatMulPackedProgram`. */
const MATMUL_PACKED_PROGRAM = 3;

interface AdapterInfoLike {
  readonly description?: string;
  readonly vendor?: string;
  readonly isFallbackAdapter?: boolean;
}

interface AdapterLike {
  readonly info?: AdapterInfoLike;
  readonly isFallbackAdapter?: boolean;
}

interface GpuLike {
  requestAdapter(): Promise<AdapterLike | null>;
}

/** Deno's WebGPU entry point, or null when the runtime was started without it. */
function gpu(): GpuLike | null {
  const nav = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator;
  return nav?.gpu ?? null;
}

/** True for software adapters (lavapipe/llvmpipe, SwiftShader, WARP). */
export function isSoftwareAdapter(info: AdapterInfoLike | undefined, fallback?: boolean): boolean {
  const text = `${info?.description ?? ""} ${info?.vendor ?? ""}`.toLowerCase();
  return fallback === true || info?.isFallbackAdapter === true ||
    /llvmpipe|lavapipe|swiftshader|warp|software/.test(text);
}

/**
 * The Vulkan loader warns on every adapter request when XDG_RUNTIME_DIR is unset (common in
 * containers and CI); give it a private empty folder so the output stays clean.
 */
function quietVulkanLoader(): void {
  try {
    if (!Deno.env.get("XDG_RUNTIME_DIR")) {
      Deno.env.set("XDG_RUNTIME_DIR", Deno.makeTempDirSync({ prefix: "lisa-xdg-" }));
    }
  } catch {
    // without env/write permission the warning is harmless; carry on
  }
}

async function adapterInfo(): Promise<{ description: string; software: boolean } | string> {
  quietVulkanLoader();
  const g = gpu();
  if (!g) {
    return "navigator.gpu is missing: run Deno with --unstable-webgpu (the project's tasks do)";
  }
  let adapter: AdapterLike | null = null;
  try {
    adapter = await g.requestAdapter();
  } catch (e) {
    return `requestAdapter failed: ${e instanceof Error ? e.message : e}`;
  }
  if (!adapter) {
    return "no GPU adapter: install a GPU driver, or Mesa's lavapipe for a software one " +
      "(Debian: apt-get install mesa-vulkan-drivers)";
  }
  const description = adapter.info?.description || adapter.info?.vendor || "unknown adapter";
  return { description, software: isSoftwareAdapter(adapter.info, adapter.isFallbackAdapter) };
}

/** The WebGPU backend. */
export const webgpuProvider: BackendProvider = {
  name: "webgpu",
  needs: "a WebGPU adapter: a GPU driver with Vulkan/Metal/D3D12, or mesa-vulkan-drivers " +
    "(lavapipe) for a slow software one; Deno flag --unstable-webgpu",
  probe: async () => {
    const info = await adapterInfo();
    if (typeof info === "string") {
      return { name: "webgpu", available: false, autoEligible: false, reason: info };
    }
    return {
      name: "webgpu",
      available: true,
      autoEligible: !info.software,
      reason: info.software
        ? `software adapter "${info.description}": correct but slower than the CPU backends; ` +
          "used only when asked for by name"
        : `adapter "${info.description}"`,
    };
  },
  init: async () => {
    const info = await adapterInfo();
    if (typeof info === "string") throw new Error(info);
    await import("@tensorflow/tfjs-backend-webgpu");
    // Split-K matmuls add partial sums with atomics in no fixed order, so reruns differ in
    // the last bits; the packed program sums in a fixed order: same seed, same numbers.
    tf.env().set("WEBGPU_MATMUL_PROGRAM_TYPE", MATMUL_PACKED_PROGRAM);
    await activate("webgpu");
    return {
      name: "webgpu",
      tfBackend: "webgpu",
      device: info.software ? `${info.description} (software)` : info.description,
      details: { software: info.software },
    };
  },
};
