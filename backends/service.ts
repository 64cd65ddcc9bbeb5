/**
 * The backend as an Effect service: one class, one Layer per way of choosing it.
 *
 * @module
 */
import { Context, Effect, Layer } from "effect";
import { BackendUnavailable } from "./errors.ts";
import { initBackend } from "./registry.ts";
import type { BackendChoice, BackendInfo, BackendName } from "./types.ts";

/** The active tensor backend. Provided by {@link Backend.layer}. */
export class Backend extends Context.Service<Backend, BackendInfo>()("lisa/Backend") {
  /** A Layer that initialises `choice` (a name or `auto`) when built. */
  static layer(choice: BackendChoice): Layer.Layer<Backend, BackendUnavailable> {
    return Layer.effect(Backend, initBackendEffect(choice));
  }
  /** The fastest backend that initialises, in the documented priority order. */
  static readonly auto: Layer.Layer<Backend, BackendUnavailable> = Backend.layer("auto");
  /** The pure-JS reference backend. */
  static readonly cpu: Layer.Layer<Backend, BackendUnavailable> = Backend.layer("cpu");
  /** The WebAssembly (XNNPACK) backend. */
  static readonly wasm: Layer.Layer<Backend, BackendUnavailable> = Backend.layer("wasm");
  /** The WebGPU backend. */
  static readonly webgpu: Layer.Layer<Backend, BackendUnavailable> = Backend.layer("webgpu");
  /** libtensorflow through tfjs-node, when installed. */
  static readonly tensorflow: Layer.Layer<Backend, BackendUnavailable> = Backend.layer(
    "tensorflow",
  );
  /** System BLAS through FFI. */
  static readonly native: Layer.Layer<Backend, BackendUnavailable> = Backend.layer("native");
}

/** Initialise a backend as an Effect that fails with {@link BackendUnavailable}. */
export function initBackendEffect(
  choice: BackendChoice,
): Effect.Effect<BackendInfo, BackendUnavailable> {
  return Effect.tryPromise({
    try: () => initBackend(choice),
    catch: (e) =>
      e instanceof BackendUnavailable
        ? e
        : new BackendUnavailable({ requested: choice, cause: String(e), report: [] }),
  });
}

/** Names accepted by `--backend`. */
export type { BackendChoice, BackendName };
