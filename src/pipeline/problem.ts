/**
 * The causal-LM training problem: a frozen base model plus one trainable LoRA adapter, as
 * the training engine's {@link TrainingProblem}. The base weights never change here; the
 * engine only sees the adapter's variables.
 *
 * @module
 */
import { tf } from "../../backends/mod.ts";
import {
  causalLmLoss,
  forward,
  type ModelConfig,
  type Params,
  targetPositions,
} from "../model/mod.ts";
import type { LoraAdapter } from "../lora/mod.ts";
import type { LossOptions, TrainingProblem } from "../train/mod.ts";
import { batchTokens, type LmArrays } from "./tokenize.ts";
import { batchToTensors } from "../tokenizer/mod.ts";

/** What the LM problem needs. */
export interface LmProblemInput {
  /** The model's architecture. */
  readonly config: ModelConfig;
  /** Frozen weights: the base model, or the aligned model (alignment adapter merged). */
  readonly base: Params;
  /** The adapter being trained. */
  readonly adapter: LoraAdapter;
  /** Seed for LoRA dropout; each step draws a fresh mask from it. */
  readonly dropoutSeed: number;
}

/** Build the training problem; its `trainable` are the adapter's variables (PEFT names). */
export function lmProblem(input: LmProblemInput): TrainingProblem<LmArrays> {
  const { config, base, adapter } = input;
  let calls = 0;
  const tensors = (b: LmArrays) => batchToTensors(b);
  return {
    trainable: adapter.trainable(),
    loss(batch: LmArrays, opts?: LossOptions): tf.Scalar {
      const t = tensors(batch);
      const targets = targetPositions(batch.labels);
      return causalLmLoss(config, base, {
        inputIds: t.inputIds, // [B, T]
        labels: t.labels!, // [B, T]
        attentionMask: t.attentionMask, // [B, T]
        // LM head and cross-entropy on the target positions only (prompt tokens are not).
        targets: {
          rows: tf.tensor1d(targets.rows, "int32"), // [N]
          ids: tf.tensor1d(targets.ids, "int32"), // [N]
        },
      }, {
        adapters: [adapter],
        training: true,
        dropoutSeed: input.dropoutSeed * 1_000_003 + calls++,
        ...(opts?.hiddenHook ? { hiddenHook: opts.hiddenHook } : {}),
      });
    },
    logits(batch: LmArrays): tf.Tensor {
      const t = tensors(batch);
      return forward(config, base, t.inputIds, { // [B, T, V]
        adapters: [adapter],
        attentionMask: t.attentionMask,
      });
    },
    referenceLogits(batch: LmArrays): tf.Tensor {
      const t = tensors(batch);
      return forward(config, base, t.inputIds, { attentionMask: t.attentionMask }); // [B, T, V]
    },
    tokens: batchTokens,
    rngState: () => calls,
    setRngState: (s: unknown) => {
      calls = typeof s === "number" ? s : 0;
    },
  };
}
