/**
 * Submitting a sweep to a cluster and watching it: the submitter records every job as queued,
 * sends one persisted `Run` request per cell (fire and forget: the requests live in PostgreSQL,
 * so the sweep goes on when the submitter exits), then watches the status table until every job
 * is done or failed. `sweep --status` watches an already submitted sweep the same way.
 *
 * @module
 */
import { NodeClusterSocket } from "@effect/platform-node";
import { Data, Effect, Layer, References } from "effect";
import type { ExperimentConfig } from "../config/mod.ts";
import { sweepCells } from "../pipeline/mod.ts";
import { cellJobName, jobLabel, sweepJobs } from "../parallel/mod.ts";
import { describeError, pgLayer } from "./db.ts";
import { cellEntityId, SweepCell } from "./entities.ts";
import { SHARDING } from "./runner.ts";
import { clusterSqlLayer } from "./schema.ts";
import { formatStatus, type JobStatus, queueJobs, sweepStatus } from "./status.ts";

/** The cluster could not be reached, or a submitted sweep ended with failed jobs. */
export class ClusterFailed extends Data.TaggedError("ClusterFailed")<{
  readonly detail: string;
}> {
  /** The one line a user sees. */
  override get message(): string {
    return this.detail;
  }
}

const asClusterFailed = (what: string) => (e: unknown) =>
  new ClusterFailed({
    detail: `${what}: ${describeError(e)}`,
  });

/**
 * The names of a sweep's jobs: each (seed, alignment method) group's alignment that a cell
 * needs, then every cell (the same jobs worker processes run).
 */
export function sweepJobNames(cfg: ExperimentConfig): string[] {
  return sweepJobs(cfg, "").map((j) => jobLabel(j.job));
}

const quiet = Layer.succeed(References.MinimumLogLevel, "Error");

/**
 * Submit the sweep in `dir` (absolute, on storage every runner reaches; its `config.json`
 * written) to the cluster at `db`; returns the submission's id.
 */
export function submitSweep(
  cfg: ExperimentConfig,
  dir: string,
  db: string,
): Effect.Effect<string, ClusterFailed> {
  const sql = clusterSqlLayer(db);
  const client = NodeClusterSocket.layer({
    clientOnly: true,
    storage: "sql",
    shardingConfig: SHARDING,
  }).pipe(Layer.provide(sql));
  return Effect.gen(function* () {
    const submission = crypto.randomUUID();
    yield* queueJobs(dir, submission, sweepJobNames(cfg));
    const cellClient = yield* SweepCell.client;
    for (const cell of sweepCells(cfg)) {
      yield* cellClient(cellEntityId(submission, cellJobName(cell)))
        .Run({ dir, submission, cell }, { discard: true });
    }
    return submission;
  }).pipe(
    Effect.scoped,
    Effect.provide(Layer.mergeAll(client, sql)),
    Effect.provide(quiet),
    Effect.mapError(asClusterFailed("cannot submit the sweep")),
  );
}

/**
 * Watch the sweep in `dir` until every job is done or failed, printing the status (per runner)
 * whenever it changes; fails with {@link ClusterFailed} listing the failed jobs.
 */
export function watchSweep(
  dir: string,
  db: string,
  print: (text: string) => void = (t) => console.error(t),
  every = 2000,
): Effect.Effect<readonly JobStatus[], ClusterFailed> {
  return Effect.gen(function* () {
    let last = "";
    while (true) {
      const rows = yield* sweepStatus(dir);
      if (rows.length === 0) {
        return yield* new ClusterFailed({ detail: `no sweep submitted from ${dir}` });
      }
      const text = formatStatus(rows);
      if (text !== last) print(text);
      last = text;
      if (rows.every((r) => r.state === "done" || r.state === "failed")) {
        const failed = rows.filter((r) => r.state === "failed");
        if (failed.length) {
          return yield* new ClusterFailed({
            detail: `${failed.length} of ${rows.length} jobs failed (${
              failed.map((r) => `${r.job}: ${r.message}`).join("; ")
            }); fix the cause and submit again with --resume ${dir}: finished cells are kept`,
          });
        }
        return rows;
      }
      yield* Effect.sleep(every);
    }
  }).pipe(
    Effect.provide(pgLayer(db)),
    Effect.provide(quiet),
    Effect.catchTag("SqlError", (e) => Effect.fail(asClusterFailed("database")(e))),
  );
}
