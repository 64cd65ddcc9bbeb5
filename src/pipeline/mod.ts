/**
 * The experiment pipeline: the pure stages (`tokenize`, `mixHarmful` via {@link userData},
 * `biStateStep` inside the training engine, `proximalTerm`, `evaluate`) composed over Effect
 * into the alignment stage, the fine-tuning stage and the whole `run`.
 *
 * @module
 */
export * from "./tokenize.ts";
export * from "./problem.ts";
export * from "./datasets.ts";
export * from "./stages.ts";
export * from "./evaluate.ts";
export * from "./assets.ts";
export * from "./judges.ts";
export * from "./rundir.ts";
export * from "./fingerprint.ts";
export * from "./resume.ts";
export * from "./prepare.ts";
export * from "./experiment.ts";
export * from "./rows.ts";
export * from "./phases.ts";
export * from "./repair.ts";
export * from "./phase_plan.ts";
export * from "./table.ts";
export * from "./report.ts";
export * from "./sweep.ts";
export * from "./collect.ts";
export * from "./saved.ts";
export * from "./rescore.ts";
