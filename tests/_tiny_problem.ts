/**
 * A tiny causal-LM training problem in memory (random weights, a fresh LoRA, random token
 * batches with padding and masked prompts), for tests of methods that read a real decoder's
 * internals: layer outputs, the logit lens, LoRA parameters named by layer.
 *
 * @module
 */
import { tf } from "../backends/mod.ts";
import { seededRandom } from "../src/data/rng.ts";
import { createAdapter, type LoraAdapter } from "../src/lora/mod.ts";
import {
  disposeParams,
  initParams,
  type ModelConfig,
  normalArray,
  type Params,
  tinyModelConfig,
} from "../src/model/mod.ts";
import { lmProblem } from "../src/pipeline/problem.ts";
import type { LmArrays } from "../src/pipeline/tokenize.ts";
import { padForTraining } from "../src/tokenizer/mod.ts";
import type { TrainingProblem } from "../src/train/mod.ts";

/** The problem with what built it. */
export interface TinyLm {
  readonly config: ModelConfig;
  readonly base: Params;
  readonly adapter: LoraAdapter;
  readonly problem: TrainingProblem<LmArrays>;
  /** Free the weights and the adapter. */
  dispose(): void;
}

/** A tiny decoder of `numLayers` layers with a LoRA on q and v (or `targets`). */
export function tinyLm(
  seed = 1,
  numLayers = 4,
  targets: ("q_proj" | "v_proj" | "o_proj")[] = ["q_proj", "v_proj"],
): TinyLm {
  const config = tinyModelConfig({ numLayers, vocabSize: 40 });
  const base = initParams(config, seed, { std: 0.2 });
  const adapter = createAdapter(config, { r: 4, alpha: 8, dropout: 0, targets }, seed + 1);
  // Move B off zero so the adapter changes the model (a fresh LoRA is a no-op).
  const rand = seededRandom(seed * 97);
  tf.tidy(() => {
    for (const m of adapter.modules.values()) {
      m.B.assign(tf.tensor(normalArray(m.B.size, 0.1, rand), m.B.shape));
    }
  });
  const problem = lmProblem({ config, base, adapter, dropoutSeed: seed });
  return {
    config,
    base,
    adapter,
    problem,
    dispose() {
      adapter.dispose();
      disposeParams(base);
    },
  };
}

/** `rows` random examples (prompts of 3-5 tokens, answers of 2-4) as one padded batch. */
export function tinyBatch(seed: number, rows = 3): LmArrays {
  const rand = seededRandom(seed);
  const ids = (n: number) => Array.from({ length: n }, () => 3 + Math.floor(rand() * 37));
  const items = Array.from({ length: rows }, () => ({
    prompt: ids(3 + Math.floor(rand() * 3)),
    target: [...ids(2 + Math.floor(rand() * 3)), 2],
  }));
  return padForTraining(items, 0, 16);
}
