/**
 * Batched text generation with a KV cache: greedy or sampled (temperature, top-p, seed).
 *
 * @example
 * ```ts
 * import { generate } from "./src/generate/mod.ts";
 * const rows = await generate(config, params, { inputIds: [[0, 5, 6]], attentionMask: [[0, 1, 1]] },
 *   { maxNewTokens: 8, eosIds: [2], padId: 0 });
 * ```
 *
 * @module
 */
export * from "./generate.ts";
