/**
 * The contract the training engine trains: a record of trainable variables and a loss over an
 * opaque batch. The engine never looks inside a batch; the model glue decides what one is.
 *
 * Kernel gradients: tfjs-core registers none by itself. The engine differentiates only basic
 * ops (add, sub, mul, square, sum, addN, matMul through the problem's loss), so whoever builds
 * the problem must have registered gradients for them and for its own forward pass (the model
 * module does this when it loads).
 *
 * Shapes: B batch, T time, V vocab, C channels.
 *
 * @module
 */
import type { tf } from "../../backends/mod.ts";

/**
 * Rewrites the output of decoder layer `layer` during a forward pass. The model applies it to
 * every layer's hidden state (`[B, T, C]`) and continues with what it returns. Vaccine uses it
 * twice per step: once to read the gradient of each layer's output, once to add a perturbation.
 */
export type HiddenHook = (layer: number, h: tf.Tensor) => tf.Tensor;

/** What {@link TrainingProblem.features} computes besides the layer outputs. */
export interface FeatureOptions {
  /**
   * Run the frozen reference model instead of the model being trained: the weights without
   * the trainable adapter (in fine-tuning, the aligned model). Its tensors carry no gradient.
   */
  readonly reference?: boolean;
  /**
   * Also read every layer's output out through the final norm and the output head (the
   * "logit lens") and return each layer's loss on the batch's targets.
   */
  readonly lens?: boolean;
}

/**
 * One forward pass with its internals exposed, for methods that act on representations
 * (RepNoise's noise term, LDIFS's feature distance). Built inside the caller's tidy.
 */
export interface Features {
  /** The batch loss, as {@link TrainingProblem.loss} computes it. */
  readonly loss: tf.Scalar;
  /** Every layer's output in layer order: `[B, T, C]` (or `[B, C]` for a non-sequence model). */
  readonly hidden: readonly tf.Tensor[];
  /** Positions that hold data, `[B, T]` (or `[B]`): 1 for a real token, 0 for padding. */
  readonly mask: tf.Tensor;
  /** Positions whose token is a target (the answer), same shape as {@link mask}. */
  readonly targets: tf.Tensor;
  /** With `lens`: each layer's loss when its output is read out as logits, in layer order. */
  readonly lensLosses?: readonly tf.Scalar[];
}

/** Options a method may pass to {@link TrainingProblem.loss}. */
export interface LossOptions {
  /** Applied to each layer's output during the forward pass. */
  readonly hiddenHook?: HiddenHook;
}

/**
 * What the engine trains. Generic over the batch type `Batch`, which is opaque to the engine.
 *
 * @example
 * ```ts
 * const problem: TrainingProblem<{ x: tf.Tensor2D; y: tf.Tensor1D }> = {
 *   trainable: { w: tf.variable(tf.zeros([4, 3])) },
 *   loss: ({ x, y }) => tf.losses.softmaxCrossEntropy(tf.oneHot(y, 3), x.matMul(w)),
 * };
 * ```
 */
export interface TrainingProblem<Batch> {
  /** The weights the optimiser updates (the fine-tuning LoRA in the real pipeline). */
  readonly trainable: Record<string, tf.Variable>;
  /** Mean loss over the batch's target tokens; called inside the engine's `tf.tidy`. */
  loss(batch: Batch, opts?: LossOptions): tf.Scalar;
  /** Current-model logits for the KL method: `[B, T, V]` (or `[B, V]`). */
  logits?(batch: Batch): tf.Tensor;
  /** Frozen aligned-model logits for the KL method, same shape as {@link logits}. */
  referenceLogits?(batch: Batch): tf.Tensor;
  /**
   * A forward pass with the layer outputs and masks exposed (RepNoise, LDIFS). Without
   * `reference` it advances the problem's randomness exactly as {@link loss} does.
   */
  features?(batch: Batch, opts?: FeatureOptions): Features;
  /** Tokens (or examples) in a batch, for the tokens/s figure; defaults to 1 per batch. */
  tokens?(batch: Batch): number;
  /** The problem's own RNG state (e.g. LoRA dropout), saved in checkpoints as JSON. */
  rngState?(): unknown;
  /** Restore what {@link rngState} returned, on resume. */
  setRngState?(state: unknown): void;
}

/** Sum of the element counts of every trainable variable. */
export function parameterCount(trainable: Record<string, tf.Variable>): number {
  return Object.values(trainable).reduce((n, v) => n + v.size, 0);
}
