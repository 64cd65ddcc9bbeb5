/**
 * The backends' public contract: the `Backend` service and its layers, the names and the
 * availability report, the provider registry. The tensor ops themselves reach a library user
 * through the service (`const { tf } = yield* Backend`); the engine's own modules import them
 * from `tf.ts`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Backend } from "./backends/api.ts";
 * const info = await Effect.runPromise(Effect.provide(Effect.service(Backend), Backend.auto));
 * console.log(info.name, info.device);
 * ```
 *
 * @module
 */
export * from "./types.ts";
export * from "./errors.ts";
export { initBackend, probeAll, provider, registerProvider } from "./registry.ts";
export { Backend, type BackendService, initBackendEffect, type Tf } from "./service.ts";
