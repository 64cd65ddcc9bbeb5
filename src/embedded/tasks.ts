/**
 * The three generated user tasks, in the shape of the real ones: sentiment (SST-2-like),
 * topic classification (AG-News-like) and arithmetic word problems (GSM8K-like). Sentences are
 * compositions of templates and word lists, so test sentences are new combinations of words
 * seen in training; labels are exactly balanced; train and test are checked disjoint.
 *
 * @module
 */
import { deriveSeed, makeRng, type Rng, shuffle } from "../data/rng.ts";
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

/** One arithmetic word problem and its worked answer ending `The final answer is: N`. */
export function wordProblem(rng: Rng): { question: string; answer: string; gold: number } {
  const name = rng.pick(NAMES);
  const item = rng.pick(ITEMS);
  const n = (lo: number, hi: number) => lo + rng.int(hi - lo + 1);
  let question: string;
  let work: string;
  let gold: number;
  switch (rng.int(4)) {
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

/** Generate `total` examples with distinct prompts, labels cycling through `classes`. */
function distinct(
  total: number,
  seed: number,
  make: (rng: Rng, i: number) => Example,
): Example[] {
  const rng = makeRng(seed);
  const seen = new Set<string>();
  const out: Example[] = [];
  let tries = 0;
  while (out.length < total) {
    if (++tries > total * 50) throw new RangeError(`cannot generate ${total} distinct examples`);
    const e = make(rng, out.length);
    const key = normalisePrompt(e);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(e);
  }
  return out;
}

/** Stratified split: test takes the classes in turn (exact balance when sizes divide evenly); checked. */
function finish(name: string, all: Example[], sizes: TaskSizes, seed: number): TrainTest {
  const order = shuffle(all, deriveSeed(seed, `${name}:order`));
  const byLabel = new Map<string, Example[]>();
  for (const e of order) byLabel.set(e.label ?? "", [...(byLabel.get(e.label ?? "") ?? []), e]);
  const queues = [...byLabel.values()];
  const test: Example[] = [];
  for (let round = 0; test.length < sizes.test; round++) {
    for (const q of queues) {
      if (q[round] !== undefined && test.length < sizes.test) test.push(q[round] as Example);
    }
  }
  const inTest = new Set(test);
  const train = order.filter((e) => !inTest.has(e));
  const renumber = (xs: Example[], part: string) =>
    xs.map((e, i) => ({
      ...e,
      provenance: { source: `embedded:${name}-${part}`, row: i + 1, kind: e.provenance.kind },
    }));
  const out = { train: renumber(train, "train"), test: renumber(test, "test") };
  assertDisjoint({ name: `${name}/train`, examples: out.train }, {
    name: `${name}/test`,
    examples: out.test,
  });
  return out;
}

const prov = (name: string, i: number) => ({
  source: `embedded:${name}`,
  row: i + 1,
  kind: "task" as const,
});

/** Sentiment task (SST-2 instruction, labels positive/negative, exactly balanced). */
export function sentimentTask(seed: number, sizes: TaskSizes): TrainTest {
  const s = deriveSeed(seed, "sentiment");
  const all = distinct(sizes.train + sizes.test, s, (rng, i) => {
    const label = SST2_LABELS[i % 2] as "negative" | "positive";
    return {
      instruction: SST2_INSTRUCTION,
      input: reviewSentence(rng, label),
      output: label,
      label,
      provenance: prov("sentiment", i),
    };
  });
  return finish("sentiment", all, sizes, s);
}

/** Topic task (AG News instruction and classes, exactly balanced). */
export function topicTask(seed: number, sizes: TaskSizes): TrainTest {
  const s = deriveSeed(seed, "topic");
  const all = distinct(sizes.train + sizes.test, s, (rng, i) => {
    const label = AGNEWS_CLASSES[i % 4] as string;
    return {
      instruction: AGNEWS_INSTRUCTION,
      input: newsText(rng, i % 4),
      output: label,
      label,
      provenance: prov("topic", i),
    };
  });
  return finish("topic", all, sizes, s);
}

/** Arithmetic task (GSM8K shape: the question, no input, worked answer; label is the number). */
export function arithmeticTask(seed: number, sizes: TaskSizes): TrainTest {
  const s = deriveSeed(seed, "arithmetic");
  const all = distinct(sizes.train + sizes.test, s, (rng, i) => {
    const p = wordProblem(rng);
    return {
      instruction: p.question,
      input: "",
      output: p.answer,
      label: String(p.gold),
      provenance: prov("arithmetic", i),
    };
  });
  return finish("arithmetic", all, sizes, s);
}
