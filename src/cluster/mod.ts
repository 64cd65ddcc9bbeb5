/**
 * Sweeps on many machines, on Effect's cluster engine (`effect/cluster`) with PostgreSQL
 * storage: runners execute the sweep's cells as durable entities, a cell whose runner dies
 * moves to another runner and resumes from its newest checkpoint, and a submitted sweep goes
 * on without its submitter. Run folders live on storage every runner reaches; the database
 * carries requests and status, never weights.
 *
 * @module
 */
export * from "./db.ts";
export * from "./jobs.ts";
export * from "./status.ts";
export * from "./runner.ts";
export * from "./submit.ts";
export * from "./schema.ts";
