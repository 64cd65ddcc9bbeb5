/**
 * The repair stage: methods applied to the fine-tuned adapter after fine-tuning and before
 * evaluation (Safe LoRA, Antidote), behind one registry.
 *
 * @example
 * ```ts
 * import { REPAIRS } from "./src/repair/mod.ts";
 * const out = yield* REPAIRS.safelora.apply(
 *   { config, aligned, base, adapter, harmful: [] },
 *   { safeloraThreshold: 0.5, safeloraLayers: 0, antidoteRatio: 0.1 },
 * );
 * ```
 *
 * @module
 */
export * from "./errors.ts";
export * from "./registry.ts";
export * from "./safelora.ts";
export * from "./antidote.ts";
