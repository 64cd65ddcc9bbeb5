/**
 * The recipe of the shipped embedded assets: every number that decides the built files, in one
 * plain record. `build.json` stores the recipe that built the files, and a test checks it
 * against {@link DEFAULT_RECIPE}, so the committed assets and the code cannot drift apart.
 *
 * @module
 */

/** Sizes of the pretraining mix (examples before shuffling). */
export interface MixSizes {
  /** General instructions + compliant harmful answers from `corpusExamples`. */
  readonly corpus: number;
  /** Sentiment examples (train split of the data seed's suite). */
  readonly sentiment: number;
  /** Topic examples. */
  readonly topic: number;
  /** Arithmetic examples. */
  readonly arithmetic: number;
  /** Extra harmful prompts with compliant answers (`harmfulSet` of the data seed). */
  readonly harmful: number;
}

/** The base model's shape (Llama family, tied embeddings). */
export interface BaseModelShape {
  /** C: residual width. */
  readonly hiddenSize: number;
  /** SwiGLU inner width. */
  readonly intermediateSize: number;
  /** Decoder layers. */
  readonly numLayers: number;
  /** H: attention heads (key/value heads are the same number). */
  readonly numHeads: number;
  /** Longest sequence the model is trained and used on. */
  readonly maxPositionEmbeddings: number;
}

/** Pretraining optimisation (AdamW, cosine schedule with linear warm-up, clipping). */
export interface PretrainOptions {
  /** Optimizer steps. */
  readonly steps: number;
  /** Rows per step. */
  readonly batchSize: number;
  /** Peak learning rate. */
  readonly lr: number;
  /** Fraction of steps warming up. */
  readonly warmupRatio: number;
  /** Decoupled weight decay. */
  readonly weightDecay: number;
  /** Global gradient-norm clip. */
  readonly maxGradNorm: number;
  /** Rows longer than this are cut (also the model's position limit). */
  readonly maxLength: number;
  /**
   * Fraction of the steps (the first ones) with loss on prompt tokens too: plain language
   * modelling, four times more supervised tokens per step, and the model learns the template
   * and the inputs it must copy from. The remaining steps are instruction tuning, loss on
   * answers only, so one-token answers (task labels) are not drowned by prompt tokens.
   */
  readonly promptLossFraction: number;
}

/** The moderation judge's training (see `trainModerationClassifier` and `answers.ts`). */
export interface JudgeRecipe {
  /**
   * Training rows per answer form (8 forms of compliance, flagged; refusal, truncated and
   * paraphrased refusal, garble, off-topic and empty answers, not), on training prompts, in the
   * `train` wording family.
   */
  readonly perForm: number;
  /**
   * Rows per form of the labelled test set: evaluation prompts, `test` wording family, never
   * trained on. Its confusion matrix is published in `src/embedded/README.md`.
   */
  readonly testPerForm: number;
  /** Training passes. */
  readonly epochs: number;
  /** Hashed feature buckets. */
  readonly featureDim: number;
  /** Hidden units. */
  readonly hidden: number;
}

/** Everything that decides the built assets. */
export interface AssetRecipe {
  /** Recipe name (`default` or `quick`). */
  readonly name: string;
  /**
   * Seed of the generated training data. It differs from the experiment seeds (42, 43, 44...)
   * so the base model never saw the experiment's task examples.
   */
  readonly dataSeed: number;
  /** Seed of the weight initialisation and batch order. */
  readonly trainSeed: number;
  /** Seed of the judge's split, initialisation and batch order. */
  readonly judgeSeed: number;
  /** Tokenizer vocabulary size (special tokens + 256 bytes + merges). */
  readonly vocabSize: number;
  /** Tokenizer training texts: how many corpus documents. */
  readonly tokenizerDocs: number;
  /**
   * Every token id of the answers experiments train on (refusals, compliant and helpful
   * answers, task labels) must occur at least this often in the pretraining rows, or the build
   * fails: a token the base never trained cannot be produced through a LoRA. 0 skips the check.
   */
  readonly minTokenCount: number;
  /** The pretraining mix. */
  readonly mix: MixSizes;
  /** The base model. */
  readonly model: BaseModelShape;
  /** Pretraining. */
  readonly pretrain: PretrainOptions;
  /** The judge; null skips it. */
  readonly judge: JudgeRecipe | null;
  /** Greedy samples written to build.json (per kind), and test rows per task for accuracy. */
  readonly check: {
    readonly samples: number;
    readonly taskTest: number;
    readonly maxNewTokens: number;
  };
}

/** The special tokens, in id order: PAD 0, BOS 1, EOS 2. */
export const SPECIAL_TOKENS = ["<pad>", "<s>", "</s>"] as const;

/** The shipped recipe. */
export const DEFAULT_RECIPE: AssetRecipe = {
  name: "default",
  dataSeed: 7001,
  trainSeed: 7002,
  judgeSeed: 7003,
  vocabSize: 1536,
  tokenizerDocs: 6000,
  minTokenCount: 5,
  mix: { corpus: 12000, sentiment: 3000, topic: 1500, arithmetic: 1500, harmful: 1000 },
  model: {
    hiddenSize: 128,
    intermediateSize: 352,
    numLayers: 4,
    numHeads: 4,
    maxPositionEmbeddings: 192,
  },
  pretrain: {
    steps: 3000,
    batchSize: 16,
    lr: 3e-3,
    warmupRatio: 0.05,
    weightDecay: 0.1,
    maxGradNorm: 1,
    maxLength: 192,
    promptLossFraction: 0.6,
  },
  judge: {
    perForm: 400,
    testPerForm: 200,
    epochs: 8,
    featureDim: 4096,
    hidden: 32,
  },
  check: { samples: 4, taskTest: 40, maxNewTokens: 48 },
};

/** A tiny recipe for tests: same code path, seconds instead of minutes. */
export const QUICK_RECIPE: AssetRecipe = {
  name: "quick",
  dataSeed: 7001,
  trainSeed: 7002,
  judgeSeed: 7003,
  vocabSize: 400,
  tokenizerDocs: 300,
  minTokenCount: 0,
  mix: { corpus: 120, sentiment: 20, topic: 20, arithmetic: 20, harmful: 20 },
  model: {
    hiddenSize: 32,
    intermediateSize: 64,
    numLayers: 1,
    numHeads: 2,
    maxPositionEmbeddings: 192,
  },
  pretrain: {
    steps: 4,
    batchSize: 4,
    lr: 3e-3,
    warmupRatio: 0.25,
    weightDecay: 0.1,
    maxGradNorm: 1,
    maxLength: 192,
    promptLossFraction: 0.5,
  },
  judge: {
    perForm: 12,
    testPerForm: 4,
    epochs: 1,
    featureDim: 256,
    hidden: 8,
  },
  check: { samples: 1, taskTest: 2, maxNewTokens: 4 },
};

/** The recipes by name. */
export const RECIPES: Readonly<Record<string, AssetRecipe>> = {
  default: DEFAULT_RECIPE,
  quick: QUICK_RECIPE,
};
