/**
 * The embedded benchmark: generated offline data for the default run (harmful prompts over the
 * 14 BeaverTails categories with refusals and non-actionable compliant answers, disjoint
 * evaluation prompts, three user tasks, and a pretraining corpus). Deterministic by seed.
 *
 * @module
 */
export * from "./harm_vocab.ts";
export * from "./harmful.ts";
export * from "./task_vocab.ts";
export * from "./tasks.ts";
export * from "./corpus.ts";
export * from "./suite.ts";
export * from "./answers.ts";
export * from "./vocabulary.ts";
