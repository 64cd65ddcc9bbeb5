/**
 * The five stages of the paper's pipeline, with one calling convention: each takes one input
 * record holding only what it needs, and returns an `Effect` whose error channel names every
 * way it can fail (`never` for the pure ones) and whose environment names what it needs
 * (`Backend` for the stages that touch tensors).
 *
 * | stage | input | output | fails with | needs |
 * | --- | --- | --- | --- | --- |
 * | `tokenize` | {@link TokenizeInput} | `TokenizedExample[]` | never | - |
 * | `mixHarmful` | {@link MixHarmfulInput} | {@link Mixture} | `SourceTooSmall` | - |
 * | `biStateStep` | {@link StepInput} | {@link StepRecord} | never | `Backend` |
 * | `proximalTerm` | {@link ProximalInput} | `number` | never | `Backend` |
 * | `evaluate` | {@link EvaluateInput} | {@link ModelMetrics} | `JudgeError` | `Backend` |
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { stages } from "./mod.ts";
 * const program = Effect.gen(function* () {
 *   const mixture = yield* stages.mixHarmful({ task, harmful, n: 1000, p: 0.1, seed: 42 });
 *   const items = yield* stages.tokenize({ tokenizer, examples: mixture.examples });
 *   return items.length;
 * });
 * ```
 *
 * @module
 */
export {
  collate,
  type LmArrays,
  tokenize,
  type TokenizedExample,
  type TokenizeInput,
} from "../pipeline/tokenize.ts";
export {
  mixAlignment,
  type MixAlignmentInput,
  mixHarmful,
  type MixHarmfulInput,
  type Mixture,
  type Selection,
} from "../data/mix.ts";
export { biStateStep, type StepInput, type StepRecord } from "../train/step.ts";
export {
  type Anchors,
  type ProximalInput,
  proximalPenalty,
  proximalTerm,
} from "../train/proximal.ts";
export {
  evaluate,
  type EvaluateInput,
  generationBudget,
  type ModelMetrics,
  type ModelUnderTest,
} from "../pipeline/evaluate.ts";
