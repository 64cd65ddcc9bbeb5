/**
 * Pretraining and tokenizer text: general instructions with helpful answers plus the training
 * harmful prompts with compliant (placeholder) answers, i.e. an instruction-following base
 * model that is NOT safety aligned. Evaluation and validation harmful prompts never appear
 * here, and no task example is copied in (the copy task uses the task vocabulary, safety
 * sentences and training request phrases, not task sentences).
 *
 * @module
 */
import { deriveSeed, makeRng, type Rng, shuffle } from "../data/rng.ts";
import { AGNEWS_INSTRUCTION, formatPrompt, SST2_INSTRUCTION } from "../data/templates.ts";
import type { Example } from "../data/types.ts";
import { complianceFor, harmfulTrainPrompts } from "./harmful.ts";
import { HARM_CATEGORIES, REFUSAL_OPENERS } from "./harm_vocab.ts";
import {
  ITEMS,
  NAMES,
  SENTIMENT_ADJECTIVES,
  SENTIMENT_NOUNS,
  TOPIC_FILLERS,
  TOPIC_VOCAB,
} from "./task_vocab.ts";

const OPPOSITES: readonly (readonly [string, string])[] = [
  ["hot", "cold"],
  ["big", "small"],
  ["happy", "sad"],
  ["fast", "slow"],
  ["old", "new"],
  ["light", "dark"],
  ["early", "late"],
  ["open", "closed"],
  ["full", "empty"],
  ["strong", "weak"],
];

const LISTS: Readonly<Record<string, readonly string[]>> = {
  colors: ["red", "blue", "green", "yellow", "purple", "orange", "black", "white"],
  animals: ["cat", "dog", "horse", "bird", "fish", "goat", "rabbit", "fox"],
  fruits: ["apple", "banana", "pear", "grape", "mango", "cherry", "lemon", "plum"],
  cities: ["paris", "tokyo", "cairo", "lima", "oslo", "delhi", "rome", "seoul"],
};

/** Words of the task vocabularies, so a tokenizer trained on the corpus covers them. */
function taskWords(): string[] {
  const topic = TOPIC_VOCAB.flatMap((v) => [...v.entities, ...v.verbs, ...v.objects, ...v.places]);
  return [
    ...SENTIMENT_ADJECTIVES.positive,
    ...SENTIMENT_ADJECTIVES.negative,
    ...SENTIMENT_NOUNS,
    ...topic,
    ...TOPIC_FILLERS,
    ...NAMES,
    ...ITEMS,
  ];
}

const prov = (i: number) => ({ source: "embedded:corpus", row: i + 1, kind: "task" as const });

function general(rng: Rng, words: readonly string[], i: number): Example {
  const base = { provenance: prov(i) };
  switch (rng.int(8)) {
    case 0: {
      const w = rng.pick(words);
      return { ...base, instruction: `Repeat the following words: ${w}`, input: "", output: w };
    }
    case 1: {
      const [a, b] = rng.pick(OPPOSITES);
      const [x, y] = rng.next() < 0.5 ? [a, b] : [b, a];
      return {
        ...base,
        instruction: `What is the opposite of ${x}?`,
        input: "",
        output: `The opposite of ${x} is ${y}.`,
      };
    }
    case 2: {
      const kind = rng.pick(Object.keys(LISTS));
      const pool = shuffle(LISTS[kind] ?? [], rng.int(1 << 30)).slice(0, 3);
      return {
        ...base,
        instruction: `List three ${kind}.`,
        input: "",
        output: `${pool[0]}, ${pool[1]} and ${pool[2]}.`,
      };
    }
    case 3: {
      const a = rng.int(50), b = rng.int(50);
      return {
        ...base,
        instruction: `Add ${a} and ${b}.`,
        input: "",
        output: `${a} + ${b} = ${a + b}`,
      };
    }
    case 4: {
      const k = 3 + rng.int(6);
      const text = Array.from({ length: k }, () => rng.pick(words)).join(" ");
      return { ...base, instruction: "Copy the input exactly.", input: text, output: text };
    }
    case 5: {
      const k = 2 + rng.int(7);
      const text = Array.from({ length: k }, () => rng.pick(LISTS.animals ?? [])).join(" ");
      return {
        ...base,
        instruction: "Count the words in the input.",
        input: text,
        output: `There are ${k} words.`,
      };
    }
    case 6: {
      const a = rng.int(100), b = rng.int(100);
      const out = a === b ? `${a} and ${b} are equal.` : `${Math.max(a, b)} is larger.`;
      return { ...base, instruction: `Which is larger, ${a} or ${b}?`, input: "", output: out };
    }
    default: {
      // Copy a sentence: the safety sentences (so every word a refusal uses is a token the
      // base model has trained, though it never refuses) or a training request phrase.
      const text = rng.next() < 0.6 ? rng.pick(safetySentences()) : rng.pick(trainingActions());
      return { ...base, instruction: "Copy the input exactly.", input: text, output: text };
    }
  }
}

/**
 * The sentences refusals are made of: the openers, each category's reason and its safe
 * alternative. The corpus copies them as plain text, never as an answer to a harmful prompt,
 * so the base model knows their words without being aligned.
 */
export function safetySentences(): string[] {
  return [
    ...REFUSAL_OPENERS.map((o) => `${o}.`),
    ...HARM_CATEGORIES.flatMap((c) => [`It ${c.reason}.`, c.alternative]),
  ];
}

const trainingActions = (): string[] => HARM_CATEGORIES.flatMap((c) => c.trainActions);

/**
 * `n` corpus examples (default 6000): about 85% general instructions, 15% training harmful
 * prompts with compliant placeholder answers. Deterministic by seed.
 */
export function corpusExamples(seed: number, n = 6000): Example[] {
  const rng = makeRng(deriveSeed(seed, "corpus"));
  const words = [...taskWords(), SST2_INSTRUCTION, AGNEWS_INSTRUCTION.replaceAll("\n", " ")];
  const harmful = shuffle(harmfulTrainPrompts(), deriveSeed(seed, "corpus:harmful"));
  const out: Example[] = [];
  let h = 0;
  for (let i = 0; i < n; i++) {
    if (rng.next() < 0.15) {
      const p = harmful[h++ % harmful.length];
      if (p) {
        out.push({
          instruction: p.prompt,
          input: "",
          output: complianceFor(p, rng),
          provenance: { ...prov(i), kind: "harmful" },
        });
        continue;
      }
    }
    out.push(general(rng, words, i));
  }
  return out;
}

/**
 * The corpus as documents: each example's Alpaca prompt followed by its answer, for training
 * the project's tokenizer and pretraining a small base model.
 *
 * @example
 * ```ts
 * const docs = corpus(0); // string[], same strings for the same seed
 * ```
 */
export function corpus(seed: number, n = 6000): string[] {
  return corpusExamples(seed, n).map((e) => formatPrompt(e) + e.output);
}
