/**
 * Pluggable TensorFlow.js backends: `cpu`, `wasm`, `webgpu`, `tensorflow` and `native`, one
 * contract, chosen by name or by `auto`. Importing this module initialises nothing.
 *
 * This is the engine's own entry: the public contract (`api.ts`: the `Backend` service, names,
 * availability) plus the shared TensorFlow.js instance `tf` that the model, training and
 * evaluation kernels use. Library users get the ops from the `Backend` service instead.
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
export * from "./api.ts";
export { activate, tf } from "./tf.ts";
export * as fused from "./fused/ops.ts";
