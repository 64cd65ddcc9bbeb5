/**
 * The embedded default experiment: the paper's protocol scaled to the shipped small model so
 * that `deno task train` shows the attack and the defense in minutes on a laptop CPU. Applied
 * under the user's file and flags whenever `model.path` is empty (the embedded model).
 *
 * Scaling (see README): the tiny model learns at a larger learning rate than a 7B model with
 * LoRA; the step counts shrink with the data; K1:K2 stays 1:9 and rho stays 1.
 *
 * @module
 */

/** Overrides of the reference defaults for the embedded model. */
export const EMBEDDED_PRESET = {
  model: { maxLength: 128 },
  alignment: {
    // T-Vaccine's S scaled with depth: the reference picks 8 of Llama2-7B's 32 layers.
    tvaccineLayers: 1,
    lora: { alpha: 8 },
    optim: { lr: 3e-3, batchSize: 8, epochs: 1, maxSteps: 300 },
  },
  finetune: {
    optim: { lr: 5e-3, batchSize: 8, epochs: 1, maxSteps: 300 },
  },
  data: { alignmentN: 1000, alignmentHelpful: 0.3, alignmentHarmfulN: 1000, n: 1000, p: 0.1 },
  method: { compare: ["sft", "bso", "lisa"], alignmentSteps: 10, finetuneSteps: 90 },
  // Every harmful evaluation prompt the suite holds (504) and 400 task test prompts: a 95%
  // interval of about +-4 points at worst, against +-10 with 100 each.
  eval: { harmfulN: 504, taskN: 400, maxNewTokens: 32, batchSize: 25 },
  repair: { antidoteSamples: 1000 },
  output: { checkpointEvery: 50 },
} as const;

/**
 * Sizes for the embedded benchmark under a user's model (`model.path` set, `data.task` an
 * embedded task). The reference sizes exceed what the generators hold (10000 alignment
 * samples from 1260 training prompts, 1000 evaluation prompts from 504: all 504 are used), so these take their
 * place; every other setting keeps its reference value, and the user's file and flags still
 * win.
 */
export const EMBEDDED_DATA_SIZES = {
  data: { alignmentN: 1000, alignmentHarmfulN: 1000 },
  repair: { antidoteSamples: 1000 },
  eval: { harmfulN: 504 },
} as const;
