/**
 * The judge commands: `judge-eval` measures any judge (classifier, tfidf, keyword, http) on
 * labelled rows, with intervals, calibration, per-category recall, agreement between judges and
 * k-fold cross-validation; `judge-train` trains a classifier or TF-IDF judge and reports on a
 * held-out split. Each command is a function of a resolved config and a run folder.
 *
 * @module
 */
export * from "./types.ts";
export * from "./measure.ts";
export * from "./answers.ts";
export * from "./cross_validate.ts";
export * from "./report.ts";
export * from "./eval_command.ts";
export * from "./train_command.ts";
