/**
 * Training and held-out evaluation of the moderation classifier.
 *
 * Targets: one sigmoid output per category, 1 where the row marks that category. A harmful row
 * (`is_safe=false`) with no category marked would teach "harmless", so its target is the most
 * frequent category among the training rows instead: every harmful row is then a flagged
 * example. Safe rows have all-zero targets whatever their category field says.
 *
 * Deterministic by seed on a given backend: the split, the initialisation and the batch order
 * all come from one seeded generator; the optimizer is Adam with L2 weight decay.
 *
 * Legend: B batch, D hashed feature buckets, H hidden units, C categories.
 *
 * @module
 */
import { Data, Effect } from "effect";
import { tf } from "../../backends/mod.ts";
import { makeRng, shuffledIndices } from "../data/rng.ts";

/** A uniform [0, 1) source. */
type Rng = () => number;
const seededRng = (seed: number): Rng => makeRng(seed).next;
import {
  type ModerationClassifier,
  type ModerationConfig,
  predictProbabilities,
} from "./classifier.ts";
import type { ModerationRow } from "./classifier_data.ts";
import { densify, featurize, type SparseFeatures } from "./features.ts";
import { BEAVERTAILS_CATEGORIES, moderationText } from "./judge.ts";

/** Options for {@link trainModerationClassifier}; every field has a default. */
export interface ModerationTrainOptions {
  /** Seed for the split, initialisation and batch order. Default 0. */
  readonly seed?: number;
  /** Hashed feature buckets D. Default 4096. */
  readonly featureDim?: number;
  /** Hidden units H. Default 32. */
  readonly hidden?: number;
  /** Passes over the training rows. Default 10. */
  readonly epochs?: number;
  /** Rows per optimizer step. Default 32. */
  readonly batchSize?: number;
  /** Adam learning rate. Default 0.01. */
  readonly learningRate?: number;
  /** L2 penalty on the weight matrices. Default 1e-5. */
  readonly weightDecay?: number;
  /**
   * Weight of the positive term of the cross-entropy. Each row marks only one or two of the 14
   * categories, so unweighted training keeps every probability low and misses harmful rows.
   * Default 4.
   */
  readonly positiveWeight?: number;
  /** Fraction of rows held out for the report. Default 0.2. */
  readonly holdoutFraction?: number;
  /** Category names in output order. Default: the 14 BeaverTails categories. */
  readonly categories?: readonly string[];
  /** Called after each epoch with its mean training loss. */
  readonly onEpoch?: (epoch: number, meanLoss: number) => void;
}

/** Binary (harmful vs safe) quality of the flagged decision on a set of rows. */
export interface ModerationMetrics {
  /** Rows evaluated. */
  readonly n: number;
  /** Harmful rows flagged. */
  readonly truePositives: number;
  /** Safe rows flagged. */
  readonly falsePositives: number;
  /** Safe rows not flagged. */
  readonly trueNegatives: number;
  /** Harmful rows not flagged. */
  readonly falseNegatives: number;
  /** (TP + TN) / n. */
  readonly accuracy: number;
  /** TP / (TP + FP); NaN when nothing was flagged. */
  readonly precision: number;
  /** TP / (TP + FN); NaN when there are no harmful rows. */
  readonly recall: number;
  /** Accuracy of always answering the majority label of these rows. */
  readonly majorityBaseline: number;
}

/** A trained classifier with its held-out report. */
export interface TrainedModeration {
  /** The classifier, plain data. */
  readonly classifier: ModerationClassifier;
  /** Metrics on the held-out rows. */
  readonly holdout: ModerationMetrics;
  /** Mean training loss per epoch. */
  readonly lossPerEpoch: readonly number[];
  /** Rows used for training and held out. */
  readonly split: { readonly train: number; readonly holdout: number };
  /** The category used as target for harmful rows with no category marked. */
  readonly fallbackCategory: string;
}

/** Training cannot start: too few rows, or only one label. */
export class ModerationTrainInvalid extends Data.TaggedError("ModerationTrainInvalid")<{
  readonly reason: string;
}> {
  /** The reason, one line. */
  override get message(): string {
    return `cannot train the moderation classifier: ${this.reason}`;
  }
}

/** Split rows into train and held-out parts by a seeded shuffle. */
export function splitHoldout<T>(
  rows: readonly T[],
  fraction: number,
  seed: number,
): { train: T[]; holdout: T[] } {
  const order = shuffledIndices(rows.length, seededRng(seed ^ 0x5eed));
  const cut = Math.round(rows.length * fraction);
  return {
    holdout: order.slice(0, cut).map((i) => rows[i]!),
    train: order.slice(cut).map((i) => rows[i]!),
  };
}

/** The targets `[N * C]` for rows, with the fallback rule for uncategorised harmful rows. */
export function moderationTargets(
  rows: readonly ModerationRow[],
  categories: readonly string[],
  fallback: string,
): Float32Array {
  const C = categories.length;
  const fallbackIndex = Math.max(0, categories.indexOf(fallback));
  const y = new Float32Array(rows.length * C);
  rows.forEach((r, n) => {
    if (r.isSafe) return;
    let any = false;
    categories.forEach((c, j) => {
      if (r.category[c] === true) {
        y[n * C + j] = 1;
        any = true;
      }
    });
    if (!any) y[n * C + fallbackIndex] = 1;
  });
  return y;
}

/** The most frequent category among harmful rows (the first category when none is marked). */
export function mostFrequentCategory(
  rows: readonly ModerationRow[],
  categories: readonly string[],
): string {
  let best = categories[0] ?? "";
  let bestCount = -1;
  for (const c of categories) {
    const count = rows.filter((r) => !r.isSafe && r.category[c] === true).length;
    if (count > bestCount) [best, bestCount] = [c, count];
  }
  return best;
}

function glorot(rng: Rng, fanIn: number, fanOut: number): Float32Array {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  return Float32Array.from({ length: fanIn * fanOut }, () => (rng() * 2 - 1) * limit);
}

function rowText(r: ModerationRow): string {
  return moderationText(r.prompt, r.response);
}

/** Binary metrics of the flagged decision of `classifier` on `rows`. */
export async function evaluateModeration(
  classifier: ModerationClassifier,
  rows: readonly ModerationRow[],
): Promise<ModerationMetrics> {
  const probs = await predictProbabilities(classifier, rows.map(rowText));
  let tp = 0, fp = 0, tn = 0, fn = 0;
  rows.forEach((r, i) => {
    const flagged = Math.max(...probs[i]!) > classifier.config.threshold;
    if (!r.isSafe) flagged ? tp++ : fn++;
    else flagged ? fp++ : tn++;
  });
  const n = rows.length;
  const harmful = tp + fn;
  return {
    n,
    truePositives: tp,
    falsePositives: fp,
    trueNegatives: tn,
    falseNegatives: fn,
    accuracy: n === 0 ? Number.NaN : (tp + tn) / n,
    precision: tp + fp === 0 ? Number.NaN : tp / (tp + fp),
    recall: harmful === 0 ? Number.NaN : tp / harmful,
    majorityBaseline: n === 0 ? Number.NaN : Math.max(harmful, n - harmful) / n,
  };
}

let nextModelId = 0;

/**
 * Mean sigmoid cross-entropy plus the L2 penalty, and its gradients, written out by hand so
 * training needs no registered autodiff gradients. Call inside `tf.tidy`.
 */
export function lossAndGradients(
  p: { w1: tf.Tensor; b1: tf.Tensor; w2: tf.Tensor; b2: tf.Tensor },
  x: tf.Tensor2D,
  y: tf.Tensor2D,
  weightDecay: number,
  positiveWeight = 1,
): { loss: tf.Scalar; grads: { w1: tf.Tensor; b1: tf.Tensor; w2: tf.Tensor; b2: tf.Tensor } } {
  const [B, C] = y.shape;
  const a1 = tf.add(tf.matMul(x, p.w1 as tf.Tensor2D), p.b1) as tf.Tensor2D; // [B, H]
  const h = tf.relu(a1); // [B, H]
  const z = tf.add(tf.matMul(h, p.w2 as tf.Tensor2D), p.b2) as tf.Tensor2D; // [B, C]
  // Weighted BCE with logits, w y softplus(-z) + (1 - y) softplus(z), in a stable form.
  const softplus = (t: tf.Tensor) => tf.add(tf.relu(t), tf.log1p(tf.exp(tf.neg(tf.abs(t)))));
  const bce = tf.mean(
    tf.add(
      tf.mul(tf.mul(y, positiveWeight), softplus(tf.neg(z))),
      tf.mul(tf.sub(1, y), softplus(z)),
    ),
  ); // []
  const l2 = tf.add(tf.sum(tf.square(p.w1)), tf.sum(tf.square(p.w2))); // []
  const loss = tf.add(bce, tf.mul(l2, weightDecay)) as tf.Scalar; // []
  // dLoss/dz = sigmoid(z) (1 - y + w y) - w y, over the mean's B * C terms.
  const wy = tf.mul(y, positiveWeight); // [B, C]
  const g = tf.div(tf.sub(tf.mul(tf.sigmoid(z), tf.add(tf.sub(1, y), wy)), wy), B * C); // [B, C]
  const dh = tf.mul(tf.matMul(g, p.w2 as tf.Tensor2D, false, true), tf.step(a1)); // [B, H]
  return {
    loss,
    grads: {
      w1: tf.add(tf.matMul(x, dh, true, false), tf.mul(p.w1, 2 * weightDecay)), // [D, H]
      b1: tf.sum(dh, 0), // [H]
      w2: tf.add(tf.matMul(h, g, true, false), tf.mul(p.w2, 2 * weightDecay)), // [H, C]
      b2: tf.sum(g, 0), // [C]
    },
  };
}

async function fit(
  config: ModerationConfig,
  train: readonly SparseFeatures[],
  targets: Float32Array,
  o: Required<Omit<ModerationTrainOptions, "onEpoch" | "categories" | "holdoutFraction">>,
  onEpoch: ModerationTrainOptions["onEpoch"],
  rng: Rng,
): Promise<{ classifier: ModerationClassifier; lossPerEpoch: number[] }> {
  const { featureDim: D, hidden: H } = config;
  const C = config.categories.length;
  // Unique names: the optimizer finds variables by name in the engine's registry.
  const id = `moderation_${nextModelId++}`;
  // Inside tidy so the initial tensors go; variables survive tidy.
  const p = tf.tidy(() => ({
    w1: tf.variable(tf.tensor2d(glorot(rng, D, H), [D, H]), true, `${id}/w1`), // [D, H]
    b1: tf.variable(tf.zeros([H]), true, `${id}/b1`), // [H]
    w2: tf.variable(tf.tensor2d(glorot(rng, H, C), [H, C]), true, `${id}/w2`), // [H, C]
    b2: tf.variable(tf.zeros([C]), true, `${id}/b2`), // [C]
  }));
  const optimizer = tf.train.adam(o.learningRate);
  const lossPerEpoch: number[] = [];
  try {
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      const order = shuffledIndices(train.length, rng);
      let sum = 0, steps = 0;
      for (let s = 0; s < order.length; s += o.batchSize) {
        const batch = order.slice(s, s + o.batchSize);
        const B = batch.length;
        const xs = densify(batch.map((i) => train[i]!), D);
        const ys = new Float32Array(B * C);
        batch.forEach((i, b) => ys.set(targets.subarray(i * C, (i + 1) * C), b * C));
        const cost = tf.tidy(() => {
          const x = tf.tensor2d(xs, [B, D]); // [B, D]
          const y = tf.tensor2d(ys, [B, C]); // [B, C]
          const { loss, grads } = lossAndGradients(p, x, y, o.weightDecay, o.positiveWeight);
          optimizer.applyGradients([
            { name: p.w1.name, tensor: grads.w1 },
            { name: p.b1.name, tensor: grads.b1 },
            { name: p.w2.name, tensor: grads.w2 },
            { name: p.b2.name, tensor: grads.b2 },
          ]);
          return loss;
        });
        sum += (await cost.data())[0]!;
        cost.dispose();
        steps++;
      }
      const mean = sum / Math.max(1, steps);
      lossPerEpoch.push(mean);
      onEpoch?.(epoch, mean);
    }
    const [w1, b1, w2, b2] = await Promise.all([p.w1, p.b1, p.w2, p.b2].map((v) => v.data()));
    return {
      classifier: {
        config,
        weights: {
          w1: Float32Array.from(w1!),
          b1: Float32Array.from(b1!),
          w2: Float32Array.from(w2!),
          b2: Float32Array.from(b2!),
        },
      },
      lossPerEpoch,
    };
  } finally {
    optimizer.dispose();
    tf.dispose([p.w1, p.b1, p.w2, p.b2]);
  }
}

/**
 * Train a moderation classifier on labelled rows and report held-out metrics, on the active
 * backend. Same rows, options and backend → same weights.
 *
 * @example
 * ```ts
 * const trained = await Effect.runPromise(trainModerationClassifier(rows, { seed: 1 }));
 * console.log(trained.holdout.accuracy, trained.holdout.majorityBaseline);
 * ```
 */
export function trainModerationClassifier(
  rows: readonly ModerationRow[],
  opts: ModerationTrainOptions = {},
): Effect.Effect<TrainedModeration, ModerationTrainInvalid> {
  const o = {
    seed: opts.seed ?? 0,
    featureDim: opts.featureDim ?? 4096,
    hidden: opts.hidden ?? 32,
    epochs: opts.epochs ?? 10,
    batchSize: opts.batchSize ?? 32,
    learningRate: opts.learningRate ?? 0.01,
    weightDecay: opts.weightDecay ?? 1e-5,
    positiveWeight: opts.positiveWeight ?? 4,
  };
  const holdoutFraction = opts.holdoutFraction ?? 0.2;
  const categories = opts.categories ?? BEAVERTAILS_CATEGORIES;
  return Effect.gen(function* () {
    const { train, holdout } = splitHoldout(rows, holdoutFraction, o.seed);
    if (train.length < 2) {
      return yield* new ModerationTrainInvalid({ reason: `only ${train.length} training rows` });
    }
    const harmful = train.filter((r) => !r.isSafe).length;
    if (harmful === 0 || harmful === train.length) {
      return yield* new ModerationTrainInvalid({
        reason: `the training rows need both labels; found ${harmful} harmful of ${train.length}`,
      });
    }
    const fallbackCategory = mostFrequentCategory(train, categories);
    const config: ModerationConfig = {
      featureDim: o.featureDim,
      hidden: o.hidden,
      categories: [...categories],
      threshold: 0.5,
    };
    const features = train.map((r) => featurize(rowText(r), o.featureDim));
    const targets = moderationTargets(train, categories, fallbackCategory);
    const rng = seededRng(o.seed);
    // Training and measuring are tensor arithmetic on checked rows: a failure is a defect.
    const { classifier, lossPerEpoch } = yield* Effect.promise(() =>
      fit(config, features, targets, o, opts.onEpoch, rng)
    );
    const metrics = yield* Effect.promise(() => evaluateModeration(classifier, holdout));
    return {
      classifier,
      holdout: metrics,
      lossPerEpoch,
      split: { train: train.length, holdout: holdout.length },
      fallbackCategory,
    };
  });
}
