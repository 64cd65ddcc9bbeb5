/**
 * Local parallelism: the independent phases of `run` and the cells of a sweep in worker
 * processes, each with its own backend, with the same results as a serial run.
 *
 * @module
 */
export * from "./job.ts";
export * from "./pool.ts";
export * from "./plans.ts";
