/**
 * Evaluation: the judge contract and its implementations (the embedded hashed-feature
 * classifier, TF-IDF + logistic-regression judges, the refusal-keyword detector, the
 * OpenAI-compatible HTTP judge), the judge card, the measurement of judges on labelled data
 * (accuracy, F1, AUROC, calibration, agreement), exact-match answer parsing, and the metrics
 * (HS, HS per category, HS+, refusal rate, FA, mean ± std over seeds) with their 95%
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
export * from "./http_formats.ts";
export * from "./classifier.ts";
export * from "./classifier_data.ts";
export * from "./classifier_train.ts";
export * from "./classifier_io.ts";
export * from "./features.ts";
export * from "./parse.ts";
export * from "./metrics.ts";
export * from "./interval.ts";
export * from "./judge_metrics.ts";
export * from "./judge_card.ts";
export * from "./labelled.ts";
export * from "./folds.ts";
export * from "./tfidf.ts";
export * from "./logistic.ts";
export * from "./linear_judge.ts";
export * from "./linear_io.ts";
export * from "./coherence.ts";
