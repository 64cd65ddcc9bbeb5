/**
 * Pluggable TensorFlow.js backends: `cpu`, `wasm`, `webgpu`, `tensorflow` and `native`, one
 * contract, chosen by name or by `auto`. Importing this module initialises nothing.
 *
 * @example
 * ```ts
 * import { initBackend } from "./backends/mod.ts";
 * const info = await initBackend("auto");
 * console.log(info.name, info.device);
 * ```
 *
 * @module
 */
export * from "./types.ts";
export * from "./errors.ts";
export { initBackend, probeAll, provider, registerProvider } from "./registry.ts";
export { Backend, initBackendEffect } from "./service.ts";
export { activate, tf } from "./tf.ts";
