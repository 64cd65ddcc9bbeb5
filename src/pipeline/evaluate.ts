/**
 * The `evaluate` stage: greedy, batched, KV-cached answers to the held-out harmful prompts
 * and the task's test set; the harmful score from a judge and the fine-tune accuracy from
 * the spec's exact-match rules. Answers are kept with their prompts for inspection.
 *
 * @module
 */
import { Effect } from "effect";
import type { ExperimentConfig } from "../config/mod.ts";
import { type Example, formatPrompt } from "../data/mod.ts";
import {
  BEAVERTAILS_CATEGORIES,
  finetuneAccuracy,
  type HarmfulSummary,
  type Interval,
  isCorrect,
  type Judge,
  type JudgeError,
  type JudgeItem,
  summariseHarmful,
  type TaskName,
  wilsonInterval,
} from "../eval/mod.ts";
import { generateText } from "../generate/mod.ts";
import type { LinearAdapter } from "../model/mod.ts";
import type { Params } from "../model/mod.ts";
import { Progress } from "../train/mod.ts";
import type { LoadedLm } from "./stages.ts";

/** Which exact-match parser a task's answers use. */
export function parserFor(task: ExperimentConfig["data"]["task"]): TaskName | null {
  switch (task) {
    case "sst2":
    case "embedded-sentiment":
      return "sst2";
    case "agnews":
    case "embedded-topic":
      return "agnews";
    case "gsm8k":
    case "embedded-arithmetic":
      return "gsm8k";
    default:
      return null;
  }
}

/** One evaluated answer, saved for inspection. */
export interface AnswerRecord {
  readonly kind: "harmful" | "task";
  readonly prompt: string;
  readonly answer: string;
  /** Harmful: flagged by the judge. Task: matches the gold label. */
  readonly flagged?: boolean;
  readonly correct?: boolean;
  readonly gold?: string;
}

/** The metrics of one model. */
export interface ModelMetrics {
  readonly harmful: HarmfulSummary;
  /** Fine-tune accuracy in percent (null for tasks without a parser, e.g. alpaca). */
  readonly finetuneAccuracy: number | null;
  /** 95% Wilson interval of the fine-tune accuracy (null without a parser). */
  readonly finetuneAccuracyCI: Interval | null;
  /** Task test prompts answered. */
  readonly taskN: number;
  readonly answers: readonly AnswerRecord[];
  readonly seconds: number;
}

/** What a model under evaluation is: frozen weights plus optional adapters. */
export interface ModelUnderTest {
  readonly label: string;
  readonly params: Params;
  readonly adapters: readonly LinearAdapter[];
}

function answerAll(
  cfg: ExperimentConfig,
  lm: LoadedLm,
  m: ModelUnderTest,
  prompts: readonly string[],
  phase: string,
): Effect.Effect<string[], never, Progress> {
  return Effect.gen(function* () {
    const progress = yield* Progress;
    const out: string[] = [];
    const bs = cfg.eval.batchSize;
    const t0 = performance.now();
    let tokens = 0;
    yield* progress.start(`${phase} ${m.label}`, prompts.length);
    for (let i = 0; i < prompts.length; i += bs) {
      const chunk = prompts.slice(i, i + bs);
      const answers = yield* Effect.promise(() =>
        generateText(lm.config, m.params, lm.tokenizer, chunk, {
          maxNewTokens: cfg.eval.maxNewTokens,
          adapters: m.adapters,
          maxPromptLength: Math.max(8, lm.config.maxPositionEmbeddings - cfg.eval.maxNewTokens),
          onTokens: (n) => void (tokens += n),
        })
      );
      out.push(...answers);
      const elapsed = (performance.now() - t0) / 1000;
      yield* progress.update({
        done: out.length,
        total: prompts.length,
        state: "eval",
        loss: NaN,
        tokensPerSec: tokens / Math.max(elapsed, 1e-9),
        etaSec: (elapsed / out.length) * (prompts.length - out.length),
      });
    }
    yield* progress.finish();
    return out;
  });
}

/** Evaluate one model on the harmful prompts and the task's test set. */
export function evaluate(
  cfg: ExperimentConfig,
  lm: LoadedLm,
  m: ModelUnderTest,
  data: { harmfulEval: readonly Example[]; taskTest: readonly Example[] },
  judge: Judge,
): Effect.Effect<ModelMetrics, JudgeError, Progress> {
  return Effect.gen(function* () {
    const t0 = performance.now();
    const harmfulPrompts = data.harmfulEval.map((e) => formatPrompt(e));
    const harmfulAnswers = yield* answerAll(cfg, lm, m, harmfulPrompts, "eval harmful");
    const items: JudgeItem[] = data.harmfulEval.map((e, i) => ({
      prompt: e.input ? `${e.instruction}\n${e.input}` : e.instruction,
      answer: harmfulAnswers[i] ?? "",
    }));
    const verdicts = yield* judge.judge(items);
    const harmful = summariseHarmful(items, verdicts, BEAVERTAILS_CATEGORIES);
    const parser = parserFor(cfg.data.task);
    const taskPrompts = data.taskTest.map((e) => formatPrompt(e));
    const taskAnswers = parser ? yield* answerAll(cfg, lm, m, taskPrompts, "eval task") : [];
    const golds = data.taskTest.map((e) => e.label ?? e.output);
    const accuracy = parser ? finetuneAccuracy(parser, taskAnswers, golds) : null;
    const correct = parser ? taskAnswers.filter((a, i) => isCorrect(parser, a, golds[i]!)) : [];
    const answers: AnswerRecord[] = [
      ...items.map((it, i) => ({
        kind: "harmful" as const,
        prompt: harmfulPrompts[i] ?? it.prompt,
        answer: it.answer,
        flagged: verdicts[i]?.flagged ?? false,
      })),
      ...taskAnswers.map((a, i) => ({
        kind: "task" as const,
        prompt: taskPrompts[i] ?? "",
        answer: a,
        gold: golds[i] ?? "",
        correct: parser ? isCorrect(parser, a, golds[i] ?? "") : false,
      })),
    ];
    return {
      harmful,
      finetuneAccuracy: accuracy,
      finetuneAccuracyCI: parser ? wilsonInterval(correct.length, taskAnswers.length) : null,
      taskN: taskAnswers.length,
      answers,
      seconds: (performance.now() - t0) / 1000,
    };
  });
}
