/**
 * Safety-preserving fine-tuning of language models against harmful fine-tuning attacks:
 * Lisa (Lazy Safety Alignment, Huang et al., NeurIPS 2024) and its baselines, on
 * TensorFlow.js with pluggable backends, composed over Effect.
 *
 * The pipeline's stages are exported at the top level (`tokenize`, `mixHarmful`,
 * `biStateStep`, `proximalTerm`, `evaluate`) so a library user can build their own loop; each
 * area is also exported as a namespace (`model`, `lora`, `data`, `train`, ...).
 *
 * Importing this module has no side effects: no backend is initialised until
 * {@link initBackend} (or the {@link Backend} layer) runs.
 *
 * @example
 * ```ts
 * import { initBackend, parseArgs, resolveConfig } from "./mod.ts";
 * const config = await resolveConfig(parseArgs(["--method.rho=1"]));
 * const backend = await initBackend(config.backend);
 * ```
 *
 * @module
 */
export * from "./backends/mod.ts";
export * from "./src/config/mod.ts";

// The stages, by their paper names.
export { collate, tokenize } from "./src/pipeline/tokenize.ts";
export { mixAlignment, mixHarmful } from "./src/data/mix.ts";
export { biStateStep } from "./src/train/step.ts";
export { proximalGate, proximalTerm } from "./src/train/proximal.ts";
export { stateAt, stateSequence } from "./src/train/schedule.ts";
export { evaluate } from "./src/pipeline/evaluate.ts";
export { lmProblem } from "./src/pipeline/problem.ts";
export { runPipeline } from "./src/pipeline/experiment.ts";
export { runSweep } from "./src/pipeline/sweep.ts";
export { createMethod, train as trainLoop } from "./src/train/mod.ts";

// Every area as a namespace.
export * as data from "./src/data/mod.ts";
export * as embedded from "./src/embedded/mod.ts";
export * as model from "./src/model/mod.ts";
export * as lora from "./src/lora/mod.ts";
export * as safetensors from "./src/io/mod.ts";
export * as tokenizer from "./src/tokenizer/mod.ts";
export * as generation from "./src/generate/mod.ts";
export * as train from "./src/train/mod.ts";
export * as evaluation from "./src/eval/mod.ts";
export * as report from "./src/report/mod.ts";
export * as pipeline from "./src/pipeline/mod.ts";
