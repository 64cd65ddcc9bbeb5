/**
 * The backend as an Effect service. Building its layer initialises a tensor backend and makes
 * it active; the service then hands out the TensorFlow.js ops bound to it. Every pipeline
 * stage that creates tensors requires `Backend` in its environment, so no stage runs before a
 * layer (one of the choices below, or a test's own) has initialised one.
 *
 * @module
 */
import { Context, Effect, Layer } from "effect";
import { BackendUnavailable } from "./errors.ts";
import { initBackend } from "./registry.ts";
import { tf } from "./tf.ts";
import type { BackendChoice, BackendInfo, BackendName } from "./types.ts";

/** The TensorFlow.js ops (tfjs-core's namespace). */
export type Tf = typeof tf;

/** What the {@link Backend} service holds: what is active, and the ops that run on it. */
export interface BackendService extends BackendInfo {
  /** The tensor ops, running on this backend. */
  readonly tf: Tf;
}

/** The active tensor backend. Provided by {@link Backend.layer} (or a test's own layer). */
export class Backend extends Context.Service<Backend, BackendService>()("lisa/Backend") {
  /** A Layer that initialises `choice` (a name or `auto`) when built. */
  static layer(choice: BackendChoice): Layer.Layer<Backend, BackendUnavailable> {
    return Layer.effect(Backend, Effect.map(initBackendEffect(choice), Backend.fromInfo));
  }
  /** The service for a backend that is already initialised and active. */
  static fromInfo(info: BackendInfo): BackendService {
    return { ...info, tf };
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
