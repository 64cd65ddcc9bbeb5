/**
 * Evaluation: the judge contract and its three implementations (moderation classifier,
 * refusal keywords, OpenAI-compatible HTTP), exact-match answer parsing, and the metrics
 * (HS, HS per category, HS+, refusal rate, FA, mean ± std over seeds) and their 95%
 * intervals (Wilson for proportions, seeded bootstrap otherwise).
 *
 * @example
 * ```ts
 * import { harmfulScore, keywordJudge } from "./src/eval/mod.ts";
 * const verdicts = await Effect.runPromise(keywordJudge().judge(items));
 * console.log(harmfulScore(verdicts));
 * ```
 *
 * @module
 */
export * from "./judge.ts";
export * from "./keyword.ts";
export * from "./http.ts";
export * from "./classifier.ts";
export * from "./classifier_data.ts";
export * from "./classifier_train.ts";
export * from "./classifier_io.ts";
export * from "./features.ts";
export * from "./parse.ts";
export * from "./metrics.ts";
export * from "./interval.ts";
