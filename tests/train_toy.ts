/**
 * A toy problem for the training-engine tests: a 2-layer MLP classifier (4 → 8 → 3) whose two
 * layer outputs go through the hidden hook, with seeded data from two linear rules (alignment
 * and user). Batches are plain arrays, so they own no tensors.
 *
 * Shapes: B batch, D=4 inputs, H=8 hidden, K=3 classes.
 *
 * @module
 */
import { tf } from "../backends/mod.ts";
// tfjs-core registers no kernel gradients; the model module registers the ones training uses.
import { batchSource } from "../src/train/mod.ts";
import { seededRandom } from "../src/data/rng.ts";
import type { BatchSource, TrainingProblem } from "../src/train/mod.ts";

/** A toy batch. */
export interface ToyBatch {
  readonly x: number[][];
  readonly y: number[];
}

/** A toy example. */
export interface ToyExample {
  readonly x: number[];
  readonly y: number;
}

/** `n` seeded examples labelled by the argmax of `x · rule[k]`. */
export function toyData(n: number, seed: number, rule: number[][]): ToyExample[] {
  const rand = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const x = [0, 0, 0, 0].map(() => rand() * 2 - 1);
    const scores = rule.map((r) => r.reduce((s, w, i) => s + w * x[i]!, 0));
    return { x, y: scores.indexOf(Math.max(...scores)) };
  });
}

/** The alignment rule and the user rule. */
export const ALIGN_RULE = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]];
export const USER_RULE = [[0, 0, 0, 1], [1, 1, 0, 0], [-1, 0, 0, -1]];
/** The rule of the toy "harmful" data (the provider's harmful set in alignment methods). */
export const HARMFUL_RULE = [[0, -1, 0, 0], [0, 0, -1, 1], [1, 0, 0, 0]];

function collate(items: readonly ToyExample[]): ToyBatch {
  return { x: items.map((e) => e.x), y: items.map((e) => e.y) };
}

/** Three batch sources of `n` examples each: alignment, user and harmful data. */
export function toySources(n = 32, batchSize = 8, seed = 7): {
  alignment: BatchSource<ToyBatch>;
  user: BatchSource<ToyBatch>;
  harmful: BatchSource<ToyBatch>;
} {
  return {
    alignment: batchSource(toyData(n, seed, ALIGN_RULE), { batchSize, seed, collate }),
    user: batchSource(toyData(n, seed + 1, USER_RULE), { batchSize, seed: seed + 1, collate }),
    harmful: batchSource(toyData(n, seed + 2, HARMFUL_RULE), {
      batchSize,
      seed: seed + 2,
      collate,
    }),
  };
}

/** The toy MLP with freshly seeded weights; `dispose()` frees its variables. */
export function toyProblem(seed = 3): TrainingProblem<ToyBatch> & { dispose(): void } {
  const rand = seededRandom(seed);
  const init = (shape: number[], scale: number) =>
    tf.tensor(
      Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (rand() * 2 - 1) * scale),
      shape,
    );
  const t0 = { w1: init([4, 8], 0.5), b1: tf.zeros([8]), w2: init([8, 3], 0.5), b2: tf.zeros([3]) };
  const trainable: Record<string, tf.Variable> = {};
  for (const [k, t] of Object.entries(t0)) trainable[k] = tf.variable(t);
  const reference = t0; // frozen copy of the starting weights, for KL
  const forward = (
    p: Record<string, tf.Tensor>,
    b: ToyBatch,
    hook?: (l: number, h: tf.Tensor) => tf.Tensor,
  ) => {
    const x = tf.tensor2d(b.x); // [B, D]
    let h = tf.tanh(tf.add(tf.matMul(x, p.w1!), p.b1!)); // [B, H]
    if (hook) h = hook(0, h);
    let z = tf.add(tf.matMul(h, p.w2!), p.b2!); // [B, K]
    if (hook) z = hook(1, z);
    return z;
  };
  const ce = (b: ToyBatch, z: tf.Tensor) =>
    tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(b.y, "int32"), 3), z) as tf.Scalar;
  return {
    trainable,
    loss(b, opts) {
      return ce(b, forward(trainable, b, opts?.hiddenHook)); // [B, K]
    },
    features(b, opts) {
      const hidden: tf.Tensor[] = [];
      const z = forward(opts?.reference ? reference : trainable, b, (l, h) => {
        hidden[l] = h; // [B, H], then [B, K]
        return h;
      });
      const ones = tf.ones([b.y.length]); // [B]: every example is real and a target
      return { loss: ce(b, z), hidden, mask: ones, targets: ones };
    },
    logits: (b) => forward(trainable, b),
    referenceLogits: (b) => forward(reference, b),
    tokens: (b) => b.y.length,
    dispose() {
      for (const v of Object.values(trainable)) v.dispose();
      for (const t of Object.values(t0)) t.dispose();
    },
  };
}

/** A tensor's values (asynchronous: WebGPU has no synchronous read in Deno). */
export async function read(t: tf.Tensor): Promise<number[]> {
  return Array.from(await t.data());
}

/** Read a tensor built by `f` inside a tidy, then free it. */
export async function readTidy(f: () => tf.Tensor): Promise<number[]> {
  const t = tf.tidy(f);
  try {
    return await read(t);
  } finally {
    t.dispose();
  }
}

/** Current weights as plain arrays. */
export async function weightsOf(p: TrainingProblem<unknown>): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(p.trainable)) out[k] = await read(v);
  return out;
}
