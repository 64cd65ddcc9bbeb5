/**
 * LoRA adapters kept outside the model code: creation (A random, B zero), use in `forward`,
 * merging into base weights, and PEFT-compatible save/load.
 *
 * @example
 * ```ts
 * import { createAdapter, mergeAdapter } from "./src/lora/mod.ts";
 * const align = createAdapter(config, { r: 16, alpha: 4, dropout: 0, targets: ["q_proj", "v_proj"] }, 1);
 * const aligned = mergeAdapter(params, align);
 * ```
 *
 * @module
 */
export * from "./config.ts";
export * from "./adapter.ts";
export * from "./merge.ts";
export * from "./io.ts";
export * from "./peft.ts";
