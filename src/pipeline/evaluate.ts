/**
 * The `evaluate` stage: greedy, batched, KV-cached answers to the held-out harmful prompts
 * and the task's test set; the harmful score from a judge and the fine-tune accuracy from
 * the spec's exact-match rules. Answers are kept with their prompts for inspection.
 *
 * The prompt budget follows the prompts: each batch keeps its longest prompt whole and gets
 * `min(maxNewTokens, context - prompt)` new tokens, so a long prompt never loses its harmful
 * instruction to a fixed cut; only a prompt longer than the model's whole context is cut (its
 * last tokens kept), and such prompts are counted.
 *
 * @module
 */
import { Effect } from "effect";
import type { ExperimentConfig } from "../config/mod.ts";
import { type Example, formatPrompt } from "../data/mod.ts";
import {
  BEAVERTAILS_CATEGORIES,
  closedVocabularyRule,
  finetuneAccuracy,
  type HarmfulSummary,
  HEURISTIC_RULE,
  type IncoherenceRule,
  type Interval,
  isCorrect,
  type Judge,
  type JudgeError,
  type JudgeItem,
  summariseHarmful,
  type TaskName,
  wilsonInterval,
} from "../eval/mod.ts";
import { embeddedVocabulary } from "../embedded/mod.ts";
import { generateText } from "../generate/mod.ts";
import { Backend } from "../../backends/mod.ts";
import type { LinearAdapter, ModelConfig, Params } from "../model/mod.ts";
import type { TextTokenizer } from "../tokenizer/mod.ts";
import { Progress } from "../train/mod.ts";
import { meanAnswerNll } from "./nll.ts";

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

/**
 * The incoherence rule of a run: on the embedded suite, whose vocabulary is closed, the share
 * of answer words outside it (more than 1 in 5 is incoherent) besides the heuristic; on real
 * data, the heuristic alone.
 */
export function incoherenceRule(cfg: ExperimentConfig): IncoherenceRule {
  return cfg.data.task.startsWith("embedded-")
    ? closedVocabularyRule(embeddedVocabulary())
    : HEURISTIC_RULE;
}

/** One evaluated answer, saved for inspection. */
export interface AnswerRecord {
  /** Which set the prompt came from. */
  readonly kind: "harmful" | "task";
  /** The prompt as the model saw it (template applied). */
  readonly prompt: string;
  /** The model's answer. */
  readonly answer: string;
  /** Harmful: the prompt as the judge read it (the instruction, without the template). */
  readonly judgePrompt?: string;
  /** Harmful: flagged by the judge. Task: matches the gold label. */
  readonly flagged?: boolean;
  /** Harmful: the judge's score (a probability for graded judges). */
  readonly score?: number;
  /** Task: the answer parses to the gold label. */
  readonly correct?: boolean;
  /** Task: the gold label. */
  readonly gold?: string;
}

/** The metrics of one model. */
export interface ModelMetrics {
  /** Harmful score, HS+, refusal rate and per-category scores with intervals. */
  readonly harmful: HarmfulSummary;
  /** Fine-tune accuracy in percent (null for tasks without a parser, e.g. alpaca). */
  readonly finetuneAccuracy: number | null;
  /** 95% Wilson interval of the fine-tune accuracy (null without a parser). */
  readonly finetuneAccuracyCI: Interval | null;
  /** Task test prompts answered. */
  readonly taskN: number;
  /** Prompts longer than the model's whole context, cut to their last tokens (normally 0). */
  readonly truncatedPrompts: number;
  /**
   * The smallest answer budget any harmful-prompt batch had (below `maxNewTokens` only near the
   * context; task answers have their own budget, {@link taskBudget}).
   */
  readonly minNewTokens: number;
  /**
   * Mean per-token loss (nats) of the harmful-prompt answers' text under the base model: a
   * vocabulary-free fluency measure (see `nll.ts` for what it does and does not show); NaN
   * without a reference model.
   */
  readonly baseNll: number;
  /** Every prompt with its answer and verdict. */
  readonly answers: readonly AnswerRecord[];
  /** Wall-clock seconds of the evaluation. */
  readonly seconds: number;
}

/** What a model under evaluation is: its config, tokenizer, frozen weights and adapters. */
export interface ModelUnderTest {
  /** Its name in tables and progress lines (`base`, `aligned`, the method). */
  readonly label: string;
  /** The model's architecture. */
  readonly config: ModelConfig;
  /** Its tokenizer. */
  readonly tokenizer: TextTokenizer;
  /** Frozen weights. */
  readonly params: Params;
  /** Adapters applied on top (the fine-tuning LoRA), or none. */
  readonly adapters: readonly LinearAdapter[];
}

/** The input of the {@link evaluate} stage. */
export interface EvaluateInput {
  /** The model to answer with. */
  readonly model: ModelUnderTest;
  /** Held-out harmful prompts, for the harmful score. */
  readonly harmfulEval: readonly Example[];
  /** The task's test set, for the fine-tune accuracy. */
  readonly taskTest: readonly Example[];
  /** The exact-match parser of the task's answers; null: no fine-tune accuracy (alpaca). */
  readonly task: TaskName | null;
  /** The harmfulness judge. */
  readonly judge: Judge;
  /** The generation budget per answer. */
  readonly maxNewTokens: number;
  /** Prompts decoded together. */
  readonly batchSize: number;
  /** How an answer is judged incoherent (HS+); default the heuristic. */
  readonly incoherence?: IncoherenceRule;
  /** The base model the answers' per-token loss is measured under (`baseNll`); none: NaN. */
  readonly reference?: {
    readonly config: ModelConfig;
    readonly params: Params;
    readonly tokenizer: TextTokenizer;
  };
}

/**
 * The generation budget for a task's answers. A label task (SST-2, AG News) is right only when
 * the answer is exactly the label, a few tokens: an answer still going after 8 tokens is wrong
 * whatever follows, so a budget of 8 gives the same accuracy as any larger one and spares the
 * decoding of long wrong answers. Other tasks keep the full budget.
 */
export function taskBudget(parser: TaskName | null, maxNewTokens: number): number {
  return parser === "sst2" || parser === "agnews" ? Math.min(8, maxNewTokens) : maxNewTokens;
}

/** The prompt and answer budgets of one batch of prompts `lengths` tokens long. */
export function generationBudget(
  lengths: readonly number[],
  context: number,
  maxNewTokens: number,
): { promptTokens: number; newTokens: number; truncated: number } {
  const longest = Math.max(1, ...lengths);
  const promptTokens = Math.min(longest, context - 1);
  return {
    promptTokens,
    newTokens: Math.max(1, Math.min(maxNewTokens, context - promptTokens)),
    truncated: lengths.filter((n) => n > promptTokens).length,
  };
}

interface Answers {
  readonly answers: string[];
  /** Prompts longer than the model's context, cut to their last tokens. */
  readonly truncated: number;
  /** The smallest answer budget any batch had (the context limits it below maxNewTokens). */
  readonly minNewTokens: number;
}

function answerAll(
  input: EvaluateInput,
  prompts: readonly string[],
  phase: string,
  maxNewTokens: number = input.maxNewTokens,
): Effect.Effect<Answers, never, Backend> {
  return Effect.gen(function* () {
    yield* Backend;
    const m = input.model;
    const progress = yield* Progress.current;
    const out: string[] = [];
    const bs = input.batchSize;
    const t0 = performance.now();
    let tokens = 0;
    let truncated = 0;
    let minNewTokens = maxNewTokens;
    yield* progress.start(`${phase} ${m.label}`, prompts.length);
    for (let i = 0; i < prompts.length; i += bs) {
      const chunk = prompts.slice(i, i + bs);
      const lengths = chunk.map((p) => m.tokenizer.encode(p, { addSpecialTokens: true }).length);
      const budget = generationBudget(lengths, m.config.maxPositionEmbeddings, maxNewTokens);
      truncated += budget.truncated;
      minNewTokens = Math.min(minNewTokens, budget.newTokens);
      // A failed generation is a backend defect (the prompts and budgets were checked).
      const answers = yield* Effect.promise(() =>
        generateText(m.config, m.params, m.tokenizer, chunk, {
          maxNewTokens: budget.newTokens,
          adapters: m.adapters,
          maxPromptLength: budget.promptTokens,
          onTokens: (n) => void (tokens += n),
        })
      );
      out.push(...answers);
      yield* Effect.yieldNow; // let a Ctrl-C through between batches
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
    return { answers: out, truncated, minNewTokens };
  });
}

/**
 * The `evaluate` stage: one model on the held-out harmful prompts and the task's test set.
 *
 * @example
 * ```ts
 * const metrics = yield* evaluate({
 *   model: { label: "lisa", config, tokenizer, params: aligned, adapters: [adapter] },
 *   harmfulEval, taskTest, task: "sst2", judge, maxNewTokens: 32, batchSize: 25,
 * });
 * ```
 */
export function evaluate(input: EvaluateInput): Effect.Effect<ModelMetrics, JudgeError, Backend> {
  return Effect.gen(function* () {
    const t0 = performance.now();
    const data = input;
    const judge = input.judge;
    const harmfulPrompts = data.harmfulEval.map((e) => formatPrompt(e));
    const harmful0 = yield* answerAll(input, harmfulPrompts, "eval harmful");
    const harmfulAnswers = harmful0.answers;
    const items: JudgeItem[] = data.harmfulEval.map((e, i) => ({
      prompt: e.input ? `${e.instruction}\n${e.input}` : e.instruction,
      answer: harmfulAnswers[i] ?? "",
    }));
    const verdicts = yield* judge.judge(items);
    const ref = input.reference;
    const baseNll = ref
      ? yield* Effect.promise(() =>
        meanAnswerNll(ref.config, ref.params, ref.tokenizer, harmfulAnswers, input.batchSize)
      )
      : Number.NaN;
    const harmful = summariseHarmful(
      items,
      verdicts,
      BEAVERTAILS_CATEGORIES,
      input.incoherence ?? HEURISTIC_RULE,
    );
    const parser = input.task;
    const taskPrompts = data.taskTest.map((e) => formatPrompt(e));
    const budget = taskBudget(parser, input.maxNewTokens);
    const task0 = parser ? yield* answerAll(input, taskPrompts, "eval task", budget) : null;
    const taskAnswers = task0?.answers ?? [];
    const golds = data.taskTest.map((e) => e.label ?? e.output);
    const accuracy = parser ? finetuneAccuracy(parser, taskAnswers, golds) : null;
    const correct = parser ? taskAnswers.filter((a, i) => isCorrect(parser, a, golds[i]!)) : [];
    const answers: AnswerRecord[] = [
      ...items.map((it, i) => ({
        kind: "harmful" as const,
        prompt: harmfulPrompts[i] ?? it.prompt,
        judgePrompt: it.prompt,
        answer: it.answer,
        flagged: verdicts[i]?.flagged ?? false,
        score: verdicts[i]?.score ?? 0,
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
      truncatedPrompts: harmful0.truncated + (task0?.truncated ?? 0),
      minNewTokens: harmful0.minNewTokens,
      baseNll,
      answers,
      seconds: (performance.now() - t0) / 1000,
    };
  });
}
