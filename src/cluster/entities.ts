/**
 * The sweep's durable units on Effect's cluster engine: two entity types whose requests are
 * persisted in PostgreSQL, so a request survives its sender exiting and, when the runner that
 * holds it dies, is delivered again to the runner that takes its shard over.
 *
 * - `LisaSweepAlignment` (id `<submission>:seed-<S>/alignment-<A>/align`): `Align`, the
 *   alignment stage of one (seed, alignment method) group. Every cell of the group that needs
 *   the aligned model asks for it; the entity runs requests one at a time and a finished stage
 *   is read back, so the group is aligned once.
 * - `LisaSweepCell` (id `<submission>:seed-<S>/alignment-<A>/<cell>`): `Run`, one cell (its
 *   group's alignment first, then its fine-tune, repairs and evaluations).
 *
 * Requests carry the sweep's folder (on storage every runner reaches) and the cell, never
 * weights; a failure comes back as {@link JobFailure} with the CLI's exit code.
 *
 * @module
 */
import { Schema } from "effect";
import { ClusterSchema, Entity } from "effect/cluster";
import { Rpc } from "effect/rpc";

/** Why a job failed: its one-line message and exit code (2 bad input, 1 the run failed). */
export const JobFailure = Schema.Struct({ message: Schema.String, code: Schema.Number });

/** The type of {@link JobFailure}. */
export type JobFailure = typeof JobFailure.Type;

/** A sweep cell as a request carries it. */
export const CellPayload = Schema.Struct({
  alignment: Schema.String,
  method: Schema.String,
  p: Schema.Number,
  n: Schema.Number,
  rho: Schema.Number,
  k: Schema.Tuple([Schema.Number, Schema.Number]),
  seed: Schema.Number,
});

/** Align one (seed, alignment method) group of the sweep in `dir`. */
export const AlignGroup = Rpc.make("Align", {
  payload: { dir: Schema.String, seed: Schema.Number, alignment: Schema.String },
  error: JobFailure,
  primaryKey: (p) => `align-${p.seed}-${p.alignment}`,
}).annotate(ClusterSchema.Persisted, true);

/** Run one cell of the sweep in `dir` (submission `submission`). */
export const RunCell = Rpc.make("Run", {
  payload: { dir: Schema.String, submission: Schema.String, cell: CellPayload },
  error: JobFailure,
  primaryKey: () => "run",
}).annotate(ClusterSchema.Persisted, true);

/** A group's aligned model, shared by its cells. */
export const SweepAlignment = Entity.make("LisaSweepAlignment", [AlignGroup]);

/** One cell of a sweep. */
export const SweepCell = Entity.make("LisaSweepCell", [RunCell]);

/** The entity id of a job (an alignment or a cell, by its job name) of a submission. */
export function cellEntityId(submission: string, job: string): string {
  return `${submission}:${job}`;
}
