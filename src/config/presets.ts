/**
 * The embedded default experiment: the paper's protocol scaled to the shipped small model so
 * that `deno task train` shows the attack and the defense in minutes on a laptop CPU. Applied
 * under the user's file and flags whenever `model.path` is empty (the embedded model).
 *
 * Scaling (see README): the tiny model learns at a larger learning rate than a 7B model with
 * LoRA; the step counts shrink with the data; K1:K2 stays 1:9.
 *
 * Lisa's rho is derived, not copied. The proximal gradient is `rho * (w - anchor)`. Under AdamW
 * a step moves each weight by about lr, so after K steps whose updates keep their sign (the
 * drift toward the user's data that the term exists to resist) `|w - anchor| ~ lr * K` and the
 * pull at the end of a state is about `rho * lr * K`. The reference pulls with
 * 1 x 1e-5 x 900 = 9e-3 at the end of a fine-tune state (and 1 x 1e-5 x 100 = 1e-3 at the end
 * of an alignment state); keeping that pull at lr 5e-3 and K2 = 90 gives
 * rho = 9e-3 / (5e-3 x 90) = 0.02 (the same 1e-3 at K1 = 10, as K1:K2 is kept). The
 * random-walk form `rho * lr * sqrt(K)` would give 0.0063; we keep the consistent-sign form
 * because a random walk is not what the term is meant to hold back. Keeping rho = 1 at a 500x
 * larger lr pulls 50x harder than the reference: Lisa then does not fine-tune after the gate.
 * The validation split (3 seeds, rho 0.005 to 1; README) checks the derived value rather than
 * tuning it: at 0.02 Lisa's harmful score is about a quarter of SFT's with its accuracy within
 * 1.5 points, and the proximal gradient is of the data gradient's order at the end of a state.
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
  // rho 0.02 keeps the reference's proximal pull rho * lr * K2 (see the module comment).
  method: { compare: ["sft", "bso", "lisa"], alignmentSteps: 10, finetuneSteps: 90, rho: 0.02 },
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
