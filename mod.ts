/**
 * Safety-preserving fine-tuning of language models against harmful fine-tuning attacks:
 * Lisa (Lazy Safety Alignment, Huang et al., NeurIPS 2024) and its baselines, on
 * TensorFlow.js with pluggable backends, composed over Effect.
 *
 * Importing this module has no side effects: no backend is initialised until
 * {@link initBackend} (or the {@link Backend} layer) runs.
 *
 * @example
 * ```ts
 * import { initBackend, resolveConfig, parseArgs } from "./mod.ts";
 * const config = await resolveConfig(parseArgs(["--method.rho=1"]));
 * const backend = await initBackend(config.backend);
 * ```
 *
 * @module
 */
export * from "./backends/mod.ts";
export * from "./src/config/mod.ts";
