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
  IGNORE_INDEX,
  type LmTargets,
  type ModelConfig,
  type Params,
  readOutLoss,
  targetPositions,
} from "../model/mod.ts";
import type { LoraAdapter } from "../lora/mod.ts";
import type { FeatureOptions, Features, LossOptions, TrainingProblem } from "../train/mod.ts";
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
  const targetsOf = (b: LmArrays): LmTargets => {
    const found = targetPositions(b.labels);
    return {
      rows: tf.tensor1d(found.rows, "int32"), // [N]
      ids: tf.tensor1d(found.ids, "int32"), // [N]
    };
  };
  return {
    trainable: adapter.trainable(),
    loss(batch: LmArrays, opts?: LossOptions): tf.Scalar {
      const t = tensors(batch);
      return causalLmLoss(config, base, {
        inputIds: t.inputIds, // [B, T]
        labels: t.labels!, // [B, T]
        attentionMask: t.attentionMask, // [B, T]
        // LM head and cross-entropy on the target positions only (prompt tokens are not).
        targets: targetsOf(batch),
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
    features(batch: LmArrays, opts: FeatureOptions = {}): Features {
      const t = tensors(batch);
      const lm = { inputIds: t.inputIds, labels: t.labels!, attentionMask: t.attentionMask };
      const targets = targetsOf(batch);
      const hidden: tf.Tensor[] = [];
      const loss = causalLmLoss(config, base, { ...lm, targets }, {
        hiddenHook: (layer, h) => {
          hidden[layer] = h; // [B, T, C]
          return h;
        },
        ...(opts.reference ? {} : {
          adapters: [adapter],
          training: true,
          dropoutSeed: input.dropoutSeed * 1_000_003 + calls++,
        }),
      });
      return {
        loss,
        hidden,
        mask: tf.cast(t.attentionMask, "float32"), // [B, T]
        targets: tf.cast(tf.notEqual(lm.labels, IGNORE_INDEX), "float32"), // [B, T]
        ...(opts.lens
          ? { lensLosses: hidden.map((h) => readOutLoss(config, base, h, { ...lm, targets })) }
          : {}),
      };
    },
    tokens: batchTokens,
    rngState: () => calls,
    setRngState: (s: unknown) => {
      calls = typeof s === "number" ? s : 0;
    },
  };
}
