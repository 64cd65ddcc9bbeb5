/**
 * The build's behaviour check of the base model, by greedy decoding: does it comply with
 * held-out harmful prompts (it should: it is not safety aligned), follow general instructions,
 * and answer the task prompts in the tasks' format? Only generated placeholder texts are used,
 * and the recorded samples are truncated.
 *
 * @module
 */
import { Effect } from "effect";
import { deriveSeed } from "../data/rng.ts";
import { formatPrompt } from "../data/templates.ts";
import type { Example } from "../data/types.ts";
import {
  arithmeticTask,
  COMPLIANCE_OPENER,
  corpusExamples,
  DEFAULT_SUITE_SIZES,
  harmfulEvalSet,
  sentimentTask,
  topicTask,
} from "../embedded/mod.ts";
import {
  classifierJudge,
  isCorrect,
  type ModerationClassifier,
  type TaskName,
} from "../eval/mod.ts";
import { generateText } from "../generate/mod.ts";
import type { ModelConfig, Params } from "../model/mod.ts";
import type { TextTokenizer } from "../tokenizer/mod.ts";
import type { AssetRecipe } from "./recipe.ts";
import { formatPromptForJudge } from "./data.ts";

/** The experiment seed whose test splits the check reads (the default run's seed). */
export const CHECK_SEED = 42;

/** One recorded completion. */
export interface Sample {
  /** The instruction (and input), truncated. */
  readonly prompt: string;
  /** The greedy answer, truncated. */
  readonly answer: string;
}

/** What the check measured. */
export interface CheckReport {
  /** Harmful evaluation prompts tried. */
  readonly harmfulPrompts: number;
  /** Fraction of answers that open with the compliance phrase. */
  readonly complianceRate: number;
  /** Fraction the embedded judge flags (null without a judge). */
  readonly judgeFlaggedRate: number | null;
  /** Exact-match accuracy on general instructions. */
  readonly generalExactMatch: number;
  /** Exact-match accuracy of the base model on each task's test split (seed {@link CHECK_SEED}). */
  readonly taskAccuracy: Readonly<Record<"sentiment" | "topic" | "arithmetic", number>>;
  /** A few completions of each kind. */
  readonly samples: Readonly<
    Record<"harmful" | "general" | "sentiment" | "topic" | "arithmetic", readonly Sample[]>
  >;
  /** Seconds spent. */
  readonly seconds: number;
}

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…` : s);

const show = (e: Example, answer: string): Sample => ({
  prompt: cut(e.input === "" ? e.instruction : `${e.instruction.split("\n")[0]} | ${e.input}`, 100),
  answer: cut(answer, 160),
});

/** Greedy answers of the model for examples, in batches. */
async function answers(
  c: ModelConfig,
  p: Params,
  tok: TextTokenizer,
  examples: readonly Example[],
  maxNewTokens: number,
): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < examples.length; i += 32) {
    const prompts = examples.slice(i, i + 32).map(formatPrompt);
    out.push(...(await generateText(c, p, tok, prompts, { maxNewTokens })));
  }
  return out;
}

/** Run the behaviour check. */
export async function checkBaseModel(
  r: AssetRecipe,
  c: ModelConfig,
  p: Params,
  tok: TextTokenizer,
  judge: ModerationClassifier | null,
): Promise<CheckReport> {
  const start = performance.now();
  const n = r.check.taskTest;
  const k = r.check.samples;
  const maxNew = r.check.maxNewTokens;
  const harmful = harmfulEvalSet(CHECK_SEED, n);
  const harmfulAnswers = await answers(c, p, tok, harmful, maxNew);
  const complianceRate =
    harmfulAnswers.filter((a) => a.trim().startsWith(COMPLIANCE_OPENER)).length /
    Math.max(1, harmful.length);
  let judgeFlaggedRate: number | null = null;
  if (judge) {
    const items = harmful.map((e, i) => ({
      prompt: formatPromptForJudge(e),
      answer: harmfulAnswers[i]!,
    }));
    const verdicts = await Effect.runPromise(classifierJudge(judge).judge(items));
    judgeFlaggedRate = verdicts.filter((v) => v.flagged).length / Math.max(1, verdicts.length);
  }
  const general = corpusExamples(deriveSeed(r.dataSeed, "check"), n * 2)
    .filter((e) => e.provenance.kind !== "harmful").slice(0, n);
  const generalAnswers = await answers(c, p, tok, general, maxNew);
  const generalExactMatch =
    general.filter((e, i) => generalAnswers[i]!.trim() === e.output).length /
    Math.max(1, general.length);
  const tasks: [("sentiment" | "topic" | "arithmetic"), TaskName, Example[]][] = [
    [
      "sentiment",
      "sst2",
      sentimentTask(CHECK_SEED, DEFAULT_SUITE_SIZES.sentiment).test.slice(0, n),
    ],
    ["topic", "agnews", topicTask(CHECK_SEED, DEFAULT_SUITE_SIZES.topic).test.slice(0, n)],
    [
      "arithmetic",
      "gsm8k",
      arithmeticTask(CHECK_SEED, DEFAULT_SUITE_SIZES.arithmetic).test.slice(0, n),
    ],
  ];
  const taskAccuracy = { sentiment: 0, topic: 0, arithmetic: 0 };
  const taskSamples: Record<string, Sample[]> = {};
  for (const [name, task, examples] of tasks) {
    const got = await answers(c, p, tok, examples, maxNew);
    taskAccuracy[name] = examples.filter((e, i) => isCorrect(task, got[i]!, e.output)).length /
      Math.max(1, examples.length);
    taskSamples[name] = examples.slice(0, k).map((e, i) => show(e, got[i]!));
  }
  return {
    harmfulPrompts: harmful.length,
    complianceRate,
    judgeFlaggedRate,
    generalExactMatch,
    taskAccuracy,
    samples: {
      harmful: harmful.slice(0, k).map((e, i) => show(e, harmfulAnswers[i]!)),
      general: general.slice(0, k).map((e, i) => show(e, generalAnswers[i]!)),
      sentiment: taskSamples.sentiment ?? [],
      topic: taskSamples.topic ?? [],
      arithmetic: taskSamples.arithmetic ?? [],
    },
    seconds: (performance.now() - start) / 1000,
  };
}
