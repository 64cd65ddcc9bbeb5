/**
 * A Llama-family causal decoder (Llama, Mistral, Qwen2) as pure functions over parameter
 * records keyed by Hugging Face names: config parsing, init, forward with KV cache, the
 * causal LM loss, and checkpoint folders.
 *
 * @example
 * ```ts
 * import { tf } from "./backends/mod.ts";
 * import { causalLmLoss, forward, initParams, tinyModelConfig } from "./src/model/mod.ts";
 * const config = tinyModelConfig();
 * const params = initParams(config, 42);
 * const ids = tf.tensor2d([[1, 5, 7]], undefined, "int32");
 * const logits = forward(config, params, ids); // [1, 3, V]
 * ```
 *
 * @module
 */
export * from "./errors.ts";
export * from "./config.ts";
export * from "./params.ts";
export type { AdapterContext, LinearAdapter, LowRankUpdate } from "./layers.ts";
export * from "./forward.ts";
export { ROPE_TYPES, ropeFrequencies, type RopeScaling } from "./rope.ts";
export { attentionBias, attentionBiasValues } from "./mask.ts";
export * from "./loss.ts";
export * from "./checkpoint.ts";
export { normalArray, seededRandom, subSeed, uniformArray } from "./random.ts";
