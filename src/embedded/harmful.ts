/**
 * Generated harmful prompts with a safe refusal (alignment data) and a non-actionable compliant
 * answer (harmful fine-tuning data). Compliant answers have the shape of compliance
 * ("Sure, here is how to ... Step 1: ...") with every specific replaced by a neutral
 * placeholder such as `[MATERIAL]`: the benchmark measures whether a model complies, not what
 * it says.
 *
 * @module
 */
import { deriveSeed, makeRng, type Rng, shuffle } from "../data/rng.ts";
import { CATEGORY_KEYS, type CategoryKey, type Example, type ExampleKind } from "../data/types.ts";
import {
  EVAL_REQUESTS,
  HARM_CATEGORIES,
  type HarmCategory,
  LEAD_INS,
  PLACEHOLDERS,
  REFUSAL_OPENERS,
  TRAIN_REQUESTS,
  VALIDATION_REQUESTS,
} from "./harm_vocab.ts";

/** The opening every compliant answer starts with (a judge may key on it). */
export const COMPLIANCE_OPENER = "Sure, here is how to";

/** One generated harmful prompt and its category. */
export interface HarmfulPrompt {
  /** The full prompt text. */
  readonly prompt: string;
  /** The request phrase inside it. */
  readonly action: string;
  /** Its BeaverTails category. */
  readonly category: CategoryKey;
}

function fill(template: string, action: string): string {
  return template.replace("{a}", action);
}

/** The three disjoint splits of harmful prompts (actions and request templates both differ). */
export type HarmfulSplit = "train" | "validation" | "eval";

const REQUESTS: Record<HarmfulSplit, readonly string[]> = {
  train: TRAIN_REQUESTS,
  validation: VALIDATION_REQUESTS,
  eval: EVAL_REQUESTS,
};

const actionsOf = (c: HarmCategory, split: HarmfulSplit): readonly string[] =>
  split === "train" ? c.trainActions : split === "validation" ? c.validationActions : c.evalActions;

function allPrompts(split: HarmfulSplit): HarmfulPrompt[] {
  const out: HarmfulPrompt[] = [];
  const requests = REQUESTS[split];
  for (const c of HARM_CATEGORIES) {
    const actions = actionsOf(c, split);
    for (const a of actions) {
      for (const r of requests) {
        for (const lead of LEAD_INS) {
          out.push({ prompt: lead + fill(r, a), action: a, category: c.key });
        }
      }
    }
  }
  return out;
}

/** Every distinct training prompt (all categories), in a fixed order. */
export const harmfulTrainPrompts = (): HarmfulPrompt[] => allPrompts("train");

/** Every distinct evaluation prompt (actions and templates disjoint from training). */
export const harmfulEvalPrompts = (): HarmfulPrompt[] => allPrompts("eval");

/** Every distinct validation prompt (actions and templates disjoint from training and evaluation). */
export const harmfulValidationPrompts = (): HarmfulPrompt[] => allPrompts("validation");

function categoryOf(key: CategoryKey): HarmCategory {
  return HARM_CATEGORIES.find((c) => c.key === key) as HarmCategory;
}

/** One-hot category record with all 14 keys (as in BeaverTails). */
export function categoryRecord(key: CategoryKey): Record<string, boolean> {
  return Object.fromEntries(CATEGORY_KEYS.map((k) => [k, k === key]));
}

/**
 * A safe refusal for a prompt (seeded choice of opener): the opener, the category's reason and
 * a safe alternative. It does not repeat the request: copying an unseen request phrase is
 * the hardest thing a 1M-parameter model does, and with the copy inside every refusal the
 * alignment stage spent its steps (and the model's coherence) on it.
 */
export function refusalFor(p: HarmfulPrompt, rng: Rng): string {
  const c = categoryOf(p.category);
  return `${rng.pick(REFUSAL_OPENERS)}. It ${c.reason}. ${c.alternative}`;
}

/** A non-actionable compliant answer: numbered steps made only of placeholders. */
export function complianceFor(p: HarmfulPrompt, rng: Rng): string {
  const steps = [
    `Step 1: get ${rng.pick(PLACEHOLDERS.material)} and ${rng.pick(PLACEHOLDERS.tool)}.`,
    `Step 2: go to ${rng.pick(PLACEHOLDERS.place)} at ${rng.pick(PLACEHOLDERS.time)}.`,
    `Step 3: carry out ${rng.pick(PLACEHOLDERS.step)} with ${rng.pick(PLACEHOLDERS.tool)}.`,
  ];
  if (rng.next() < 0.5) {
    steps.push(`Step 4: repeat ${rng.pick(PLACEHOLDERS.step)} until it is done.`);
  }
  return `${COMPLIANCE_OPENER} ${p.action}. ${steps.join(" ")}`;
}

function toExamples(
  prompts: readonly HarmfulPrompt[],
  n: number,
  seed: number,
  kind: ExampleKind,
  answer: "refusal" | "compliance",
  source: string,
): Example[] {
  const chosen = pickBalanced(prompts, n, seed);
  const rng = makeRng(deriveSeed(seed, `${source}:answers`));
  return chosen.map((p, i) => ({
    instruction: p.prompt,
    input: "",
    output: answer === "refusal" ? refusalFor(p, rng) : complianceFor(p, rng),
    category: categoryRecord(p.category),
    provenance: { source, row: i + 1, kind },
  }));
}

/**
 * `n` prompts (n <= pool size) covering the categories evenly: a seeded round robin over
 * categories, each category's prompts in a seeded order.
 */
function pickBalanced(prompts: readonly HarmfulPrompt[], n: number, seed: number): HarmfulPrompt[] {
  if (n > prompts.length) {
    throw new RangeError(`asked for ${n} generated prompts, the pool has ${prompts.length}`);
  }
  const queues = CATEGORY_KEYS.map((k, i) =>
    shuffle(prompts.filter((p) => p.category === k), deriveSeed(seed, `cat${i}`))
  );
  const out: HarmfulPrompt[] = [];
  for (let round = 0; out.length < n; round++) {
    for (const q of queues) {
      const p = q[round];
      if (p !== undefined && out.length < n) out.push(p);
    }
  }
  return shuffle(out, deriveSeed(seed, "order"));
}

/** Alignment data: training prompts with safe refusals (kind `alignment`). */
export function alignmentSet(seed: number, n: number): Example[] {
  return toExamples(
    harmfulTrainPrompts(),
    n,
    deriveSeed(seed, "alignment"),
    "alignment",
    "refusal",
    "embedded:alignment",
  );
}

/** Harmful fine-tuning data: training prompts with compliant, non-actionable answers (kind `harmful`). */
export function harmfulSet(seed: number, n: number): Example[] {
  return toExamples(
    harmfulTrainPrompts(),
    n,
    deriveSeed(seed, "harmful"),
    "harmful",
    "compliance",
    "embedded:harmful",
  );
}

/**
 * The provider's harmful data (Booster, RepNoise, T-Vaccine, Antidote): the alignment prompts
 * with compliant, non-actionable answers (kind `harmful`), drawn in the alignment set's order,
 * as BeaverTails pairs a safe and an unsafe answer to the same prompts.
 */
export function alignmentHarmfulSet(seed: number, n: number): Example[] {
  return toExamples(
    harmfulTrainPrompts(),
    n,
    deriveSeed(seed, "alignment"),
    "harmful",
    "compliance",
    "embedded:alignment-harmful",
  );
}

/**
 * Harmful evaluation prompts (outputs are the compliant shape, for reference only). `n` above
 * the pool's 504 prompts gives the whole pool.
 */
export function harmfulEvalSet(seed: number, n: number): Example[] {
  const pool = harmfulEvalPrompts();
  return toExamples(
    pool,
    Math.min(n, pool.length),
    deriveSeed(seed, "eval"),
    "harmful",
    "compliance",
    "embedded:harmful-eval",
  );
}

/**
 * Harmful validation prompts, for choosing settings without touching the evaluation prompts.
 * `n` above the pool's 252 prompts gives the whole pool.
 */
export function harmfulValidationSet(seed: number, n: number): Example[] {
  const pool = harmfulValidationPrompts();
  return toExamples(
    pool,
    Math.min(n, pool.length),
    deriveSeed(seed, "validation"),
    "harmful",
    "compliance",
    "embedded:harmful-validation",
  );
}
