/**
 * The three generated user tasks, in the shape of the real ones: sentiment (SST-2-like),
 * topic classification (AG-News-like) and arithmetic word problems (GSM8K-like). Sentences are
 * compositions of templates and word lists, so test sentences are new combinations of words
 * seen in training; labels are exactly balanced in every split.
 *
 * Which split an example belongs to is decided by its prompt text alone ({@link taskSplitOf}),
 * not by the seed or the sizes asked for: a test (or validation) sentence of one seed is never a
 * training sentence of another, so the base model's pretraining mix (drawn from the training
 * split) can never contain an experiment's test or validation sentence, whatever the seeds.
 *
 * @module
 */
import { deriveSeed, hashString, makeRng, type Rng, shuffle } from "../data/rng.ts";
import { assertDisjoint, type TrainTest } from "../data/split.ts";
import { AGNEWS_INSTRUCTION, normalisePrompt, SST2_INSTRUCTION } from "../data/templates.ts";
import { AGNEWS_CLASSES, type Example, SST2_LABELS } from "../data/types.ts";
import {
  ITEMS,
  NAMES,
  SENTIMENT_ADJECTIVES,
  SENTIMENT_ADVERBS,
  SENTIMENT_NOUNS,
  SENTIMENT_VERBS,
  TOPIC_FILLERS,
  TOPIC_VOCAB,
} from "./task_vocab.ts";

/** Sizes of a generated task. */
export interface TaskSizes {
  /** Training examples. */
  readonly train: number;
  /** Test examples. */
  readonly test: number;
  /** Validation examples (default 0). */
  readonly validation?: number;
}

/** A generated task's three splits. */
export interface TaskSplits extends TrainTest {
  /** Validation examples, for choosing settings (disjoint from train and test). */
  readonly validation: Example[];
}

/** The split of a task example. */
export type TaskSplit = "train" | "validation" | "test";

/**
 * The split an example's prompt belongs to: by the FNV-1a hash of its normalised prompt,
 * 2 in 10 go to test, 1 in 10 to validation, the rest to train. Pure, seed-free.
 */
export function taskSplitOf(e: Pick<Example, "instruction" | "input">): TaskSplit {
  const bucket = hashString(normalisePrompt(e)) % 10;
  return bucket < 2 ? "test" : bucket < 3 ? "validation" : "train";
}

/** The opposite polarity. */
const flip = (p: "positive" | "negative") => (p === "positive" ? "negative" : "positive");

/** One review sentence of the given polarity (SST-2 style: lower case, spaced punctuation). */
export function reviewSentence(rng: Rng, polarity: "positive" | "negative"): string {
  const adj = () => rng.pick(SENTIMENT_ADJECTIVES[polarity]);
  const adv = () => rng.pick(SENTIMENT_ADVERBS);
  const noun = () => rng.pick(SENTIMENT_NOUNS);
  switch (rng.int(6)) {
    case 0:
      return `the ${noun()} is ${adv()}${adj()} . `;
    case 1:
      return `a ${adj()} ${noun()} , ${adv()}${adj()} from start to finish . `;
    case 2:
      return `i found the ${noun()} ${adj()} and ${adj()} . `;
    case 3:
      return `${adv()}${adj()} , this ${noun()} ${rng.pick(SENTIMENT_VERBS[polarity])} . `;
    case 4:
      return `the ${noun()} feels ${adj()} , and the ${noun()} is ${adv()}${adj()} . `;
    default: {
      // The clause after "but" decides.
      const other = rng.pick(SENTIMENT_ADJECTIVES[flip(polarity)]);
      return `the ${noun()} is ${other} , but the ${noun()} is ${adv()}${adj()} overall . `;
    }
  }
}

/** One news text of class `cls` (0 World, 1 Sports, 2 Business, 3 Sci/Tech): title, then description. */
export function newsText(rng: Rng, cls: number): string {
  const v = TOPIC_VOCAB[cls];
  if (v === undefined) throw new RangeError(`class ${cls} is not 0..3`);
  const title = `${rng.pick(v.entities)} ${rng.pick(v.verbs)} ${rng.pick(v.objects)}`;
  const desc = `${rng.pick(v.entities)} ${rng.pick(v.verbs)} ${rng.pick(v.objects)} ${
    rng.pick(v.places)
  } , ${rng.pick(TOPIC_FILLERS)} .`;
  return `${title.charAt(0).toUpperCase()}${title.slice(1)} ${desc}`;
}

/**
 * One arithmetic word problem and its worked answer ending `The final answer is: N`; `kind`
 * 0-3 picks add, subtract, multiply or two-step (default: drawn).
 */
export function wordProblem(
  rng: Rng,
  kind?: number,
): { question: string; answer: string; gold: number } {
  const name = rng.pick(NAMES);
  const item = rng.pick(ITEMS);
  const n = (lo: number, hi: number) => lo + rng.int(hi - lo + 1);
  let question: string;
  let work: string;
  let gold: number;
  switch (kind ?? rng.int(4)) {
    case 0: {
      const a = n(2, 20), b = n(2, 20);
      gold = a + b;
      question =
        `${name} has ${a} ${item}. ${name} gets ${b} more ${item}. How many ${item} does ${name} have now?`;
      work = `${name} has ${a} + ${b} = ${gold} ${item}.`;
      break;
    }
    case 1: {
      const a = n(5, 30), b = n(1, a - 1);
      gold = a - b;
      question =
        `${name} had ${a} ${item} and gave ${b} of them to a friend. How many ${item} does ${name} have left?`;
      work = `${name} has ${a} - ${b} = ${gold} ${item} left.`;
      break;
    }
    case 2: {
      const a = n(2, 9), b = n(2, 9);
      gold = a * b;
      question =
        `${name} buys ${a} bags with ${b} ${item} in each bag. How many ${item} does ${name} buy?`;
      work = `${name} buys ${a} * ${b} = ${gold} ${item}.`;
      break;
    }
    default: {
      const a = n(2, 20), b = n(2, 20);
      const c = n(1, a + b - 1);
      gold = a + b - c;
      question =
        `${name} has ${a} ${item}, buys ${b} more and then gives away ${c}. How many ${item} does ${name} have in the end?`;
      work = `${name} has ${a} + ${b} = ${a + b} ${item}. Then ${a + b} - ${c} = ${gold} ${item}.`;
    }
  }
  return { question, answer: `${work}\nThe final answer is: ${gold}`, gold };
}

/**
 * Draw distinct examples until every split holds its size, each split exactly balanced over
 * the labels (`make` is told which label to produce); then shuffle each split and renumber.
 */
function generateSplits(
  name: string,
  sizes: TaskSizes,
  labels: readonly string[],
  seed: number,
  make: (rng: Rng, label: number) => Example,
): TaskSplits {
  const want: Record<TaskSplit, number> = {
    train: sizes.train,
    validation: sizes.validation ?? 0,
    test: sizes.test,
  };
  // Per split, per label: floor(n / L), the first n % L labels one more.
  const quota = (split: TaskSplit, label: number) =>
    Math.floor(want[split] / labels.length) + (label < want[split] % labels.length ? 1 : 0);
  const got: Record<TaskSplit, Example[][]> = {
    train: labels.map(() => []),
    validation: labels.map(() => []),
    test: labels.map(() => []),
  };
  const total = want.train + want.validation + want.test;
  const rng = makeRng(seed);
  const seen = new Set<string>();
  let kept = 0;
  let tries = 0;
  for (let i = 0; kept < total; i++) {
    if (++tries > total * 100 + 1000) {
      throw new RangeError(`${name}: cannot generate ${total} distinct examples`);
    }
    const label = i % labels.length;
    const e = make(rng, label);
    const key = normalisePrompt(e);
    if (seen.has(key)) continue;
    seen.add(key);
    const split = taskSplitOf(e);
    const bucket = got[split][label]!;
    if (bucket.length >= quota(split, label)) continue;
    bucket.push(e);
    kept++;
  }
  const finish = (split: TaskSplit, part: string) =>
    shuffle(got[split].flat(), deriveSeed(seed, `${name}:${part}`)).map((e, i) => ({
      ...e,
      provenance: { source: `embedded:${name}-${part}`, row: i + 1, kind: e.provenance.kind },
    }));
  const out = {
    train: finish("train", "train"),
    validation: finish("validation", "validation"),
    test: finish("test", "test"),
  };
  const named = (part: keyof typeof out) => ({ name: `${name}/${part}`, examples: out[part] });
  assertDisjoint(named("train"), named("test"));
  assertDisjoint(named("train"), named("validation"));
  assertDisjoint(named("validation"), named("test"));
  return out;
}

const prov = (name: string) => ({ source: `embedded:${name}`, row: 0, kind: "task" as const });

/** Sentiment task (SST-2 instruction, labels positive/negative, exactly balanced). */
export function sentimentTask(seed: number, sizes: TaskSizes): TaskSplits {
  return generateSplits("sentiment", sizes, SST2_LABELS, deriveSeed(seed, "sentiment"), (
    rng,
    l,
  ) => {
    const label = SST2_LABELS[l] as "negative" | "positive";
    return {
      instruction: SST2_INSTRUCTION,
      input: reviewSentence(rng, label),
      output: label,
      label,
      provenance: prov("sentiment"),
    };
  });
}

/** Topic task (AG News instruction and classes, exactly balanced). */
export function topicTask(seed: number, sizes: TaskSizes): TaskSplits {
  return generateSplits("topic", sizes, AGNEWS_CLASSES, deriveSeed(seed, "topic"), (rng, l) => {
    const label = AGNEWS_CLASSES[l] as string;
    return {
      instruction: AGNEWS_INSTRUCTION,
      input: newsText(rng, l),
      output: label,
      label,
      provenance: prov("topic"),
    };
  });
}

/**
 * Arithmetic task (GSM8K shape: the question, no input, worked answer; label is the number).
 * Its answers are numbers, not classes: the splits are balanced over the four problem kinds.
 */
export function arithmeticTask(seed: number, sizes: TaskSizes): TaskSplits {
  const kinds = ["add", "subtract", "multiply", "two-step"];
  return generateSplits("arithmetic", sizes, kinds, deriveSeed(seed, "arithmetic"), (rng, k) => {
    const p = wordProblem(rng, k);
    return {
      instruction: p.question,
      input: "",
      output: p.answer,
      label: String(p.gold),
      provenance: prov("arithmetic"),
    };
  });
}
