/**
 * Progress of a cluster sweep, in one small table of the cluster's database
 * (`lisa_sweep_jobs`): a row per job of a submitted sweep (each alignment, each cell)
 * with its state (`queued`, `running`, `retrying`, `done`, `failed`), the runner that holds it,
 * its attempts, the last failure's message and a heartbeat. The engine's own tables carry the
 * work; this one only says how it goes, for `sweep --status`. Rows name the sweep by its folder
 * on the shared storage.
 *
 * @module
 */
import { Effect } from "effect";
import { SqlClient, type SqlError } from "effect/sql";

/** A job's state. */
export type JobState = "queued" | "running" | "retrying" | "done" | "failed";

/** One row of the table. */
export interface JobStatus {
  /** The job: `seed-S/align` or `seed-S/<cell>`. */
  readonly job: string;
  /** Its state. */
  readonly state: JobState;
  /** The runner holding it (or that last held it), or null. */
  readonly runner: string | null;
  /** Attempts started. */
  readonly attempts: number;
  /** The last failure's one-line message, or null. */
  readonly message: string | null;
  /** Seconds since the runner last reported. */
  readonly age: number;
}

/** Create the table when missing. */
export const ensureStatusTable: Effect.Effect<void, SqlError.SqlError, SqlClient.SqlClient> = Effect
  .gen(function* () {
    const sql = yield* SqlClient.SqlClient;
    yield* sql`CREATE TABLE IF NOT EXISTS lisa_sweep_jobs (
      sweep text NOT NULL,
      job text NOT NULL,
      submission text NOT NULL,
      state text NOT NULL,
      runner text,
      attempts integer NOT NULL DEFAULT 0,
      message text,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (sweep, job)
    )`;
  });

/** Record a submission: every job queued (finished ones keep `done`). */
export function queueJobs(
  sweep: string,
  submission: string,
  jobs: readonly string[],
): Effect.Effect<void, SqlError.SqlError, SqlClient.SqlClient> {
  return Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient;
    yield* sql`DELETE FROM lisa_sweep_jobs WHERE sweep = ${sweep} AND job NOT IN ${sql.in(jobs)}`;
    for (const job of jobs) {
      yield* sql`INSERT INTO lisa_sweep_jobs (sweep, job, submission, state)
        VALUES (${sweep}, ${job}, ${submission}, 'queued')
        ON CONFLICT (sweep, job) DO UPDATE SET submission = EXCLUDED.submission,
          state = CASE WHEN lisa_sweep_jobs.state = 'done' THEN 'done' ELSE 'queued' END,
          attempts = 0, message = NULL, updated_at = now()`;
    }
  });
}

/** A runner starts (or retries) a job. */
export function markRunning(
  sweep: string,
  job: string,
  runner: string,
  retrying = false,
  message: string | null = null,
): Effect.Effect<void, SqlError.SqlError, SqlClient.SqlClient> {
  return Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient;
    const state: JobState = retrying ? "retrying" : "running";
    yield* sql`UPDATE lisa_sweep_jobs SET state = ${state}, runner = ${runner},
      attempts = attempts + ${retrying ? 0 : 1}, message = ${message}, updated_at = now()
      WHERE sweep = ${sweep} AND job = ${job}`;
  });
}

/** A runner is still at it. */
export function heartbeat(
  sweep: string,
  job: string,
  runner: string,
): Effect.Effect<void, SqlError.SqlError, SqlClient.SqlClient> {
  return Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient;
    yield* sql`UPDATE lisa_sweep_jobs SET updated_at = now()
      WHERE sweep = ${sweep} AND job = ${job} AND runner = ${runner}`;
  });
}

/** A job ended: `done`, or `failed` with its message. */
export function markEnded(
  sweep: string,
  job: string,
  runner: string,
  failure: string | null,
): Effect.Effect<void, SqlError.SqlError, SqlClient.SqlClient> {
  return Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient;
    const state: JobState = failure === null ? "done" : "failed";
    yield* sql`UPDATE lisa_sweep_jobs SET state = ${state}, runner = ${runner},
      message = ${failure}, updated_at = now() WHERE sweep = ${sweep} AND job = ${job}`;
  });
}

/** Every job of a sweep, in job order. */
export function sweepStatus(
  sweep: string,
): Effect.Effect<JobStatus[], SqlError.SqlError, SqlClient.SqlClient> {
  return Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient;
    const rows = yield* sql<{
      job: string;
      state: JobState;
      runner: string | null;
      attempts: number;
      message: string | null;
      age: number | string;
    }>`SELECT job, state, runner, attempts, message,
        EXTRACT(EPOCH FROM now() - updated_at) AS age
      FROM lisa_sweep_jobs WHERE sweep = ${sweep} ORDER BY job`;
    return rows.map((r) => ({ ...r, attempts: Number(r.attempts), age: Number(r.age) }));
  });
}

/** Seconds without a heartbeat after which a running job's runner is reported as silent. */
export const SILENT_AFTER_S = 60;

/**
 * One line per runner and a total: `queued 1, running 2, done 1, failed 0` and, per runner,
 * what it holds; failed jobs with their messages.
 */
export function formatStatus(rows: readonly JobStatus[]): string {
  const count = (s: JobState) => rows.filter((r) => r.state === s).length;
  const lines = [
    `jobs: ${rows.length} (queued ${count("queued")}, running ${
      count("running") + count("retrying")
    }, done ${count("done")}, failed ${count("failed")})`,
  ];
  const runners = [...new Set(rows.map((r) => r.runner).filter((r) => r !== null))].sort();
  for (const runner of runners) {
    const mine = rows.filter((r) => r.runner === runner);
    const active = mine.filter((r) => r.state === "running" || r.state === "retrying");
    const silent = active.some((r) => r.age > SILENT_AFTER_S)
      ? ` (silent for ${Math.round(Math.max(...active.map((r) => r.age)))} s)`
      : "";
    lines.push(
      `  ${runner}: running ${
        active.map((r) => r.job + (r.state === "retrying" ? " (retrying)" : ""))
          .join(", ") || "-"
      }${silent}; done ${mine.filter((r) => r.state === "done").length}, ` +
        `failed ${mine.filter((r) => r.state === "failed").length}`,
    );
  }
  for (const r of rows.filter((r) => r.state === "failed")) {
    lines.push(`  failed ${r.job}: ${r.message ?? "unknown"}`);
  }
  return lines.join("\n");
}
