/**
 * The data of the asset build, all generated from the recipe's seeds: the tokenizer's
 * training texts, the pretraining mix (instruction following, task-shaped examples and
 * compliant answers to training harmful prompts: a base model that is NOT safety aligned),
 * and the moderation judge's labelled rows. Pure functions of the recipe.
 *
 * Evaluation hygiene: harmful validation and evaluation prompts are never used for training
 * (their actions and templates are disjoint by construction), and task examples come from the
 * training split, which shares no sentence with any seed's validation or test split.
 *
 * @module
 */
import { deriveSeed, makeRng, shuffle } from "../data/rng.ts";
import { formatPrompt, formatTarget } from "../data/templates.ts";
import type { Example } from "../data/types.ts";
import {
  alignmentSet,
  type AnswerFamily,
  type AnswerForm,
  answerOfForm,
  arithmeticTask,
  categoryRecord,
  complianceFor,
  corpusExamples,
  HARMFUL_FORMS,
  harmfulEvalPrompts,
  type HarmfulPrompt,
  harmfulSet,
  harmfulTrainPrompts,
  harmfulValidationPrompts,
  isHarmfulForm,
  refusalFor,
  SAFE_FORMS,
  sentimentTask,
  taskSplitOf,
  topicTask,
} from "../embedded/mod.ts";
import type { ModerationRow } from "../eval/mod.ts";
import type { AssetRecipe } from "./recipe.ts";

/**
 * Task-shaped training examples of the data seed. They come from the tasks' training split,
 * which by construction (`taskSplitOf`) shares no sentence with any seed's validation or test
 * split; the check makes sure.
 */
export function taskExamples(
  r: AssetRecipe,
): { sentiment: Example[]; topic: Example[]; arithmetic: Example[] } {
  const take = (xs: Example[], name: string): Example[] => {
    const leaked = xs.find((e) => taskSplitOf(e) !== "train");
    if (leaked) throw new RangeError(`${name}: a held-out sentence in the training split`);
    return xs;
  };
  const sizes = (n: number) => ({ train: n, test: 0 });
  return {
    sentiment: take(sentimentTask(r.dataSeed, sizes(r.mix.sentiment)).train, "sentiment"),
    topic: take(topicTask(r.dataSeed, sizes(r.mix.topic)).train, "topic"),
    arithmetic: take(arithmeticTask(r.dataSeed, sizes(r.mix.arithmetic)).train, "arithmetic"),
  };
}

/** A whole document: the Alpaca prompt followed by the answer. */
export const documentText = (e: Example): string => formatPrompt(e) + formatTarget(e);

/**
 * The tokenizer's training texts: corpus documents and the task examples, all of them part of
 * the pretraining mix, so every merge is a token the base model trains on. (Refusals are not
 * added: their words reach the corpus through its copy task, `safetySentences`. A tokenizer
 * trained on refusal text the base never saw gave the aligned model tokens such as " sorry"
 * with untrained embeddings, which a LoRA cannot reach without wrecking the model.)
 */
export function tokenizerTexts(r: AssetRecipe, tasks: readonly Example[]): string[] {
  const docs = corpusExamples(r.dataSeed, r.tokenizerDocs).map(documentText);
  return [...docs, ...tasks.map(documentText)];
}

/**
 * The answers the experiments train models to give, tokenized: refusals, compliant answers,
 * helpful answers and task labels. Each of their token ids should be trained in pretraining.
 */
export function answerTexts(r: AssetRecipe, tasks: readonly Example[]): string[] {
  const n = Math.min(400, r.tokenizerDocs);
  return [
    ...alignmentSet(r.dataSeed, n).map((e) => e.output),
    ...harmfulSet(r.dataSeed, n).map((e) => e.output),
    ...corpusExamples(r.dataSeed + 1, n).map((e) => e.output),
    ...tasks.slice(0, n).map((e) => e.output),
  ];
}

/**
 * Token ids that `texts` use but that occur fewer than `min` times in the pretraining rows:
 * tokens whose embeddings the base model has (nearly) not trained. The build refuses to ship
 * a base model with any.
 */
export function undertrainedTokens(
  texts: readonly string[],
  encode: (text: string) => readonly number[],
  pretrainRows: readonly {
    readonly prompt: readonly number[];
    readonly target: readonly number[];
  }[],
  min: number,
): number[] {
  const counts = new Map<number, number>();
  for (const r of pretrainRows) {
    for (const id of [...r.prompt, ...r.target]) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  const used = new Set(texts.flatMap((t) => [...encode(t)]));
  return [...used].filter((id) => (counts.get(id) ?? 0) < min).sort((a, b) => a - b);
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

/** The user turn the judge sees: the instruction, and the input on its own line when present. */
export function formatPromptForJudge(e: Pick<Example, "instruction" | "input">): string {
  return e.input === "" ? e.instruction : `${e.instruction}\n${e.input}`;
}

/** A labelled judge row with the form of its answer. */
export interface JudgeFormRow extends ModerationRow {
  /** How the answer was made (see `answers.ts`). */
  readonly form: AnswerForm;
}

/** The words of the prompts and their canonical answers: the pool garble draws from. */
function wordPool(prompts: readonly HarmfulPrompt[], seed: number): string[] {
  const rng = makeRng(seed);
  const text = prompts.map((p) => `${p.prompt} ${complianceFor(p, rng)} ${refusalFor(p, rng)}`);
  return [...new Set(text.join(" ").split(/\s+/).filter((w) => w.length > 0))];
}

/**
 * `perForm` rows of every answer form (see `answers.ts`), on `prompts`, in wording `family`:
 * compliance in all its forms flagged with the prompt's category (and `unsafe`), refusals,
 * garble, off-topic and empty answers not flagged. Answers to "another request" draw from
 * the training prompts (what a small model recalls instead of copying a new request).
 */
export function judgeFormRows(
  prompts: readonly HarmfulPrompt[],
  family: AnswerFamily,
  perForm: number,
  seed: number,
  categories: readonly string[],
): JudgeFormRow[] {
  const ctx = {
    family,
    rng: makeRng(deriveSeed(seed, `judge:${family}:answers`)),
    words: wordPool(prompts, deriveSeed(seed, `judge:${family}:words`)),
    others: harmfulTrainPrompts(),
  };
  const rows: JudgeFormRow[] = [];
  for (const form of [...HARMFUL_FORMS, ...SAFE_FORMS]) {
    const order = shuffle(prompts, deriveSeed(seed, `judge:${family}:${form}`));
    for (let i = 0; i < perForm; i++) {
      const p = order[i % order.length]!;
      const harmful = isHarmfulForm(form);
      rows.push({
        prompt: p.prompt,
        response: ` ${answerOfForm(form, p, ctx)}`,
        category: harmful ? flaggedCategory(categories, categoryRecord(p.category)) : noCategory(
          categories,
        ),
        isSafe: !harmful,
        form,
      });
    }
  }
  return rows;
}

/**
 * The judge's training rows: training prompts only, the `train` wording family, shuffled by the
 * judge seed.
 */
export function judgeRows(r: AssetRecipe, categories: readonly string[]): JudgeFormRow[] {
  const j = r.judge;
  if (j === null) return [];
  const rows = judgeFormRows(harmfulTrainPrompts(), "train", j.perForm, r.judgeSeed, categories);
  return shuffle(rows, deriveSeed(r.judgeSeed, "judge:order"));
}

/**
 * The judge's validation set, for choosing its recipe: the validation prompts answered in the
 * `validation` wording family (neither trained on nor part of the test set).
 */
export function judgeValidationRows(
  r: AssetRecipe,
  categories: readonly string[],
): JudgeFormRow[] {
  const j = r.judge;
  if (j === null) return [];
  return judgeFormRows(
    harmfulValidationPrompts(),
    "validation",
    j.testPerForm,
    deriveSeed(r.judgeSeed, "validation"),
    categories,
  );
}

/**
 * The judge's labelled test set: the evaluation prompts (actions and templates never trained
 * on) answered in the `test` wording family (openers, step phrasings, refusals and garble never
 * trained on). Measures whether the judge reads compliance rather than the strings it saw.
 */
export function judgeTestRows(r: AssetRecipe, categories: readonly string[]): JudgeFormRow[] {
  const j = r.judge;
  if (j === null) return [];
  return judgeFormRows(
    harmfulEvalPrompts(),
    "test",
    j.testPerForm,
    deriveSeed(r.judgeSeed, "test"),
    categories,
  );
}
