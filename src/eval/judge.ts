/**
 * The one judge contract: a batch of (prompt, answer) pairs in, one verdict per pair out.
 *
 * Three implementations live beside this file: the moderation classifier
 * (`classifier.ts`), the refusal-keyword judge (`keyword.ts`) and the OpenAI-compatible HTTP
 * judge (`http.ts`). Metrics (`metrics.ts`) only read {@link JudgeVerdict}s, so any judge
 * plugs into the harmful score.
 *
 * @module
 */
import { Context, Data, type Effect } from "effect";
import { CATEGORY_KEYS } from "../data/types.ts";
import type { JudgeCard } from "./judge_card.ts";

/** One answer to judge, with the prompt that produced it. */
export interface JudgeItem {
  /** The harmful (or task) prompt the model was given. */
  readonly prompt: string;
  /** The model's answer: the text after the response marker. */
  readonly answer: string;
}

/** What a judge says about one answer. */
export interface JudgeVerdict {
  /** The answer is harmful (counts toward the harmful score). */
  readonly flagged: boolean;
  /** The answer opens or contains a refusal phrase (see `keyword.ts`). */
  readonly refused: boolean;
  /**
   * Per-category scores in [0, 1]. The classifier gives sigmoid probabilities for all 14
   * BeaverTails categories; the HTTP judge gives 1 for each category the server named; the
   * keyword judge gives none.
   */
  readonly categories: Readonly<Record<string, number>>;
  /**
   * The judge's overall harm score in [0, 1]: a probability for graded judges (see
   * {@link Judge.graded}), else 1 for flagged and 0 for not.
   */
  readonly score: number;
  /** Keyword judge: the answer only echoes the prompt (neither refusal nor success). */
  readonly echoed?: boolean;
}

/** The 14 BeaverTails harm categories, in the dataset's order (keys contain commas). */
export const BEAVERTAILS_CATEGORIES: readonly string[] = CATEGORY_KEYS;

/**
 * The text the reference moderation judge reads for one answer.
 *
 * @example
 * ```ts
 * moderationText("hi", " hello"); // "BEGINNING OF CONVERSATION: USER: hi ASSISTANT: hello"
 * ```
 */
export function moderationText(prompt: string, answer: string): string {
  return `BEGINNING OF CONVERSATION: USER: ${prompt} ASSISTANT:${answer}`;
}

/** The judge's configuration is invalid (a missing field, a bad value). */
export class JudgeConfigInvalid extends Data.TaggedError("JudgeConfigInvalid")<{
  readonly field: string;
  readonly expected: string;
  readonly found: string;
}> {
  /** One line naming the field, what was expected and what was found. */
  override get message(): string {
    return `judge config: field '${this.field}' expected ${this.expected}, found ${this.found}`;
  }
}

/** The judge server could not be reached (connection refused, DNS, reset) after retries. */
export class JudgeUnreachable extends Data.TaggedError("JudgeUnreachable")<{
  readonly url: string;
  readonly attempts: number;
  readonly reason: string;
}> {
  /** One line with the URL, attempt count and reason. */
  override get message(): string {
    return `judge server unreachable at ${this.url} after ${this.attempts} attempt(s): ${this.reason}`;
  }
}

/** The judge server did not answer within the timeout, on every attempt. */
export class JudgeTimeout extends Data.TaggedError("JudgeTimeout")<{
  readonly url: string;
  readonly attempts: number;
  readonly timeoutMs: number;
}> {
  /** One line with the URL, attempt count and timeout. */
  override get message(): string {
    return `judge server at ${this.url} did not answer within ${this.timeoutMs} ms ` +
      `(${this.attempts} attempt(s))`;
  }
}

/** The judge server answered with a non-2xx status. `body` is a redacted excerpt. */
export class JudgeHttpStatus extends Data.TaggedError("JudgeHttpStatus")<{
  readonly url: string;
  readonly status: number;
  readonly attempts: number;
  readonly body: string;
}> {
  /** One line with the URL, status and a short body excerpt. */
  override get message(): string {
    return `judge server at ${this.url} answered HTTP ${this.status} ` +
      `(${this.attempts} attempt(s)): ${this.body}`;
  }
}

/** The judge server answered 2xx but not in the expected shape. `excerpt` is redacted. */
export class JudgeMalformedReply extends Data.TaggedError("JudgeMalformedReply")<{
  readonly url: string;
  readonly expected: string;
  readonly excerpt: string;
}> {
  /** One line with what was expected and what came back. */
  override get message(): string {
    return `judge server at ${this.url} sent a malformed reply: expected ${this.expected}, ` +
      `found ${JSON.stringify(this.excerpt)}`;
  }
}

/** Every way judging can fail. */
export type JudgeError =
  | JudgeConfigInvalid
  | JudgeUnreachable
  | JudgeTimeout
  | JudgeHttpStatus
  | JudgeMalformedReply;

/** A judge: one verdict per item, in order. */
export interface Judge {
  /** A short name for reports, e.g. `classifier`, `keyword`, `http:llama-guard`. */
  readonly name: string;
  /**
   * True when verdict scores are graded probabilities (AUROC and calibration are measured on
   * them); false or absent when a score only restates the flag.
   */
  readonly graded?: boolean;
  /** What reports say about this judge: version, meaning of its score, its measurement. */
  readonly card?: JudgeCard;
  /** Judge a batch; the result has one verdict per item, in the same order. */
  judge(items: readonly JudgeItem[]): Effect.Effect<JudgeVerdict[], JudgeError>;
}

/** The judge as an Effect service, so the CLI provides one implementation by Layer. */
export class JudgeService extends Context.Service<JudgeService, Judge>()("lisa/Judge") {}
