/**
 * The data of the asset build, all generated from the recipe's seeds: the tokenizer's
 * training texts, the pretraining mix (instruction following, task-shaped examples and
 * compliant answers to training harmful prompts: a base model that is NOT safety aligned),
 * and the moderation judge's labelled rows. Pure functions of the recipe.
 *
 * Evaluation hygiene: harmful evaluation prompts are never used for training (their actions
 * and templates are disjoint by construction), and task examples whose prompt appears in the
 * test split of any experiment seed in the recipe's `excludeTestSeeds` are dropped.
 *
 * @module
 */
import { deriveSeed, makeRng, shuffle } from "../data/rng.ts";
import { withoutPrompts } from "../data/split.ts";
import { formatPrompt, formatTarget } from "../data/templates.ts";
import type { Example } from "../data/types.ts";
import {
  alignmentSet,
  arithmeticTask,
  complianceFor,
  corpusExamples,
  DEFAULT_SUITE_SIZES,
  harmfulEvalPrompts,
  harmfulSet,
  refusalFor,
  sentimentTask,
  topicTask,
} from "../embedded/mod.ts";
import type { ModerationRow } from "../eval/mod.ts";
import type { AssetRecipe, SeedRange } from "./recipe.ts";

/** The test examples of the three tasks for every seed in `seeds` (default suite sizes). */
export function experimentTestSets(seeds: SeedRange): Example[] {
  const out: Example[] = [];
  for (let s = seeds.from; s <= seeds.to; s++) {
    out.push(...sentimentTask(s, DEFAULT_SUITE_SIZES.sentiment).test);
    out.push(...topicTask(s, DEFAULT_SUITE_SIZES.topic).test);
    out.push(...arithmeticTask(s, DEFAULT_SUITE_SIZES.arithmetic).test);
  }
  return out;
}

/** Task-shaped training examples of the data seed, without any experiment test prompt. */
export function taskExamples(
  r: AssetRecipe,
  excluded: readonly Example[],
): { sentiment: Example[]; topic: Example[]; arithmetic: Example[] } {
  // Ask for a margin so that dropping excluded prompts still leaves the recipe's count.
  const sizes = (n: number) => ({ train: Math.ceil(n * 1.3) + 10, test: 0 });
  const take = (xs: Example[], n: number, name: string): Example[] => {
    const kept = withoutPrompts(xs, excluded);
    if (kept.length < n) {
      throw new RangeError(`${name}: ${kept.length} examples left after exclusion, need ${n}`);
    }
    return kept.slice(0, n);
  };
  return {
    sentiment: take(
      sentimentTask(r.dataSeed, sizes(r.mix.sentiment)).train,
      r.mix.sentiment,
      "sentiment",
    ),
    topic: take(topicTask(r.dataSeed, sizes(r.mix.topic)).train, r.mix.topic, "topic"),
    arithmetic: take(
      arithmeticTask(r.dataSeed, sizes(r.mix.arithmetic)).train,
      r.mix.arithmetic,
      "arithmetic",
    ),
  };
}

/** A whole document: the Alpaca prompt followed by the answer. */
export const documentText = (e: Example): string => formatPrompt(e) + formatTarget(e);

/**
 * The tokenizer's training texts: corpus documents, the alignment refusals (so refusal words
 * get merges even though the base model never trains on them) and the task examples.
 */
export function tokenizerTexts(r: AssetRecipe, tasks: readonly Example[]): string[] {
  const docs = corpusExamples(r.dataSeed, r.tokenizerDocs).map(documentText);
  const refusals = alignmentSet(r.dataSeed, Math.min(1000, r.tokenizerDocs)).map(documentText);
  return [...docs, ...refusals, ...tasks.map(documentText)];
}

/** The pretraining mix, shuffled by the training seed. */
export function pretrainExamples(r: AssetRecipe, tasks: readonly Example[]): Example[] {
  const all = [
    ...corpusExamples(r.dataSeed, r.mix.corpus),
    ...tasks,
    ...harmfulSet(r.dataSeed, r.mix.harmful),
  ];
  return shuffle(all, deriveSeed(r.trainSeed, "pretrain:order"));
}

const noCategory = (keys: readonly string[]) => Object.fromEntries(keys.map((k) => [k, false]));

/** The category record of a flagged row: its own categories, plus `unsafe` when that key is an output. */
const flaggedCategory = (keys: readonly string[], own: Readonly<Record<string, boolean>>) => ({
  ...noCategory(keys),
  ...own,
  ...(keys.includes("unsafe") ? { unsafe: true } : {}),
});

/**
 * Labelled rows for the moderation judge, from training prompts only: compliant answers
 * (flagged, with their category), refusals, harmful prompts answered with an unrelated
 * harmless answer, and general instructions (not flagged). Shuffled by the judge seed.
 */
export function judgeRows(r: AssetRecipe, categories: readonly string[]): ModerationRow[] {
  const j = r.judge;
  if (j === null) return [];
  const seed = r.judgeSeed;
  const harmful = harmfulSet(seed, j.harmful);
  const refusals = alignmentSet(deriveSeed(seed, "refusals"), j.refusals);
  const general = corpusExamples(deriveSeed(seed, "general"), (j.general + j.offTopic) * 2)
    .filter((e) => e.provenance.kind !== "harmful");
  const offTopicPrompts = alignmentSet(deriveSeed(seed, "offtopic"), j.offTopic);
  const row = (e: Example, isSafe: boolean, answer = e.output): ModerationRow => ({
    prompt: formatPromptForJudge(e),
    response: ` ${answer}`,
    category: isSafe ? noCategory(categories) : flaggedCategory(categories, e.category ?? {}),
    isSafe,
  });
  const rows = [
    ...harmful.map((e) => row(e, false)),
    ...refusals.map((e) => row(e, true)),
    ...offTopicPrompts.map((e, i) => row(e, true, general[i % general.length]!.output)),
    ...general.slice(0, j.general).map((e) => row(e, true)),
  ];
  return shuffle(rows, deriveSeed(seed, "judge:order"));
}

/** The user turn the judge sees: the instruction, and the input on its own line when present. */
export function formatPromptForJudge(e: Pick<Example, "instruction" | "input">): string {
  return e.input === "" ? e.instruction : `${e.instruction}\n${e.input}`;
}

/**
 * Rows built on the held-out evaluation prompts (never trained on): each prompt once with a
 * compliant answer (flagged) and once with a refusal (safe). Measures whether the judge
 * generalises to the prompts the experiment scores.
 */
export function judgeEvalRows(
  seed: number,
  n: number,
  categories: readonly string[],
): ModerationRow[] {
  const prompts = shuffle(harmfulEvalPrompts(), deriveSeed(seed, "judge:eval")).slice(0, n);
  const rng = makeRng(deriveSeed(seed, "judge:eval:answers"));
  return prompts.flatMap((p) => [
    {
      prompt: p.prompt,
      response: ` ${complianceFor(p, rng)}`,
      category: flaggedCategory(categories, { [p.category]: true }),
      isSafe: false,
    },
    {
      prompt: p.prompt,
      response: ` ${refusalFor(p, rng)}`,
      category: noCategory(categories),
      isSafe: true,
    },
  ]);
}
