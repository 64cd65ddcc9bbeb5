/**
 * Safety-preserving fine-tuning of language models against harmful fine-tuning attacks:
 * Lisa (Lazy Safety Alignment, Huang et al., NeurIPS 2024) and the defenses of all three
 * stages (alignment, fine-tuning, repair after fine-tuning), on TensorFlow.js with pluggable
 * backends, composed over Effect.
 *
 * Every area is a namespace. `stages` holds the five stages of the paper's pipeline
 * (`tokenize`, `mixHarmful`, `biStateStep`, `proximalTerm`, `evaluate`) with one calling
 * convention: one input record in, an `Effect` out. `config.resolveConfig` gives a library
 * user the same experiment as the command line, `pipeline.runPipeline` runs it, and
 * `training.train` / `training.trainSteps` / `training.makeTrainer` compose the training
 * loop. The stages that touch tensors require the `backends.Backend` service.
 *
 * Importing this module has no side effects: no backend is initialised until a
 * `Backend` layer is built.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect";
 * import { backends, config, pipeline, training } from "./mod.ts";
 *
 * const program = Effect.gen(function* () {
 *   const cfg = yield* config.resolveConfig({ values: { method: { compare: ["sft", "lisa"] } } });
 *   return yield* pipeline.runPipeline(cfg, "runs/library-example", "run");
 * });
 * const layers = Layer.mergeAll(backends.Backend.auto, training.Progress.auto());
 * // await Effect.runPromise(program.pipe(Effect.provide(layers)));
 * ```
 *
 * @module
 */
export * as backends from "./backends/api.ts";
export * as config from "./src/config/mod.ts";
export * as stages from "./src/stages/mod.ts";
export * as pipeline from "./src/pipeline/mod.ts";
export * as training from "./src/train/mod.ts";
export * as repair from "./src/repair/mod.ts";
export * as data from "./src/data/mod.ts";
export * as embedded from "./src/embedded/mod.ts";
export * as model from "./src/model/mod.ts";
export * as lora from "./src/lora/mod.ts";
export * as io from "./src/io/mod.ts";
export * as tokenizer from "./src/tokenizer/mod.ts";
export * as generation from "./src/generate/mod.ts";
export * as evaluation from "./src/eval/mod.ts";
export * as report from "./src/report/mod.ts";
export * as parallel from "./src/parallel/mod.ts";
export * as cluster from "./src/cluster/mod.ts";
