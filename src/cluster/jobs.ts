/**
 * How a runner executes one job of a sweep: under a PostgreSQL advisory lock on the job (the
 * engine delivers a request at least once, and a moving shard can briefly start a job twice;
 * the second waits, then finds the job finished), with a heartbeat in the status table,
 * transient failures (file system, judge server, database) retried with exponential back-off,
 * and deterministic ones (bad input, a non-finite loss) failed at once with their message.
 * Every failure, defects included, becomes a {@link JobFailure}; nothing escapes as a defect
 * (the engine would retry it).
 *
 * @module
 */
import { Cause, Duration, Effect, Schedule } from "effect";
import type { SqlClient, SqlError } from "effect/sql";
import { type ExperimentConfig, resolveConfig } from "../config/mod.ts";
import { describeError, withAdvisoryLock } from "./db.ts";
import type { JobFailure } from "./entities.ts";
import { heartbeat, markEnded, markRunning } from "./status.ts";

export type { JobFailure };

/** Failure tags worth another attempt: the cause may pass (storage, a judge server, the db). */
const TRANSIENT = new Set([
  "IOFailed",
  "ReportWriteFailed",
  "JudgeUnreachable",
  "JudgeTimeout",
  "JudgeHttpStatus",
  "SqlError",
]);

/** Failure tags that are the user's input: exit code 2, never retried. */
const BAD_INPUT = new Set([
  "ConfigInvalid",
  "BackendUnavailable",
  "DataInvalid",
  "SourceTooSmall",
  "SplitOverlap",
  "AssetInvalid",
  "TrainOptionInvalid",
  "RunDirInvalid",
  "RunDirExists",
  "CheckpointCorrupt",
  "JudgeConfigInvalid",
]);

/** How a failure is treated: retried, or failed at once with exit code 2 or 1. */
export function classify(e: unknown): "transient" | "input" | "run" {
  const tag = typeof e === "object" && e !== null && "_tag" in e ? String(e._tag) : "";
  if (TRANSIENT.has(tag)) return "transient";
  return BAD_INPUT.has(tag) ? "input" : "run";
}

/** A cause as a {@link JobFailure}, with whether another attempt may help. */
export function failureOf(cause: Cause.Cause<unknown>): JobFailure & { transient: boolean } {
  const failed = cause.reasons.find((r) => r._tag === "Fail");
  if (failed && "error" in failed) {
    const kind = classify(failed.error);
    return {
      message: describeError(failed.error),
      code: kind === "input" ? 2 : 1,
      transient: kind === "transient",
    };
  }
  const died = cause.reasons.find((r) => r._tag === "Die");
  const what = died && "defect" in died ? died.defect : "interrupted";
  return { message: `internal error: ${describeError(what)}`, code: 1, transient: false };
}

/** Attempts a transient failure gets, and the first back-off (doubling each time). */
export const RETRY = { attempts: 4, firstDelay: Duration.seconds(5) } as const;

/** The sweep's recorded config, as every runner reads it from the shared folder. */
export function sweepConfig(dir: string): Effect.Effect<ExperimentConfig, JobFailure> {
  return resolveConfig({ configFile: `${dir}/config.json` }).pipe(
    Effect.mapError((e) => ({ message: e.message, code: 2 })),
  );
}

// 'LISA' as a 32-bit key space for the jobs' advisory locks, apart from the engine's own.
const LOCK_SPACE = 0x4c495341;

/**
 * Run `work` holding the advisory lock of job `key` (see {@link withAdvisoryLock}); the lock's
 * own database errors are transient like any other `SqlError`.
 */
function withJobLock<A, E, R>(
  key: string,
  work: Effect.Effect<A, E, R>,
): Effect.Effect<A, E | SqlError.SqlError, R | SqlClient.SqlClient> {
  return withAdvisoryLock(LOCK_SPACE, key, work);
}

/** Where a job runs and how it reports: the sweep's folder, the job's name, the runner. */
export interface JobContext {
  /** The sweep's folder (also the sweep's key in the status table). */
  readonly dir: string;
  /** The job: `seed-S/align` or `seed-S/<cell>`. */
  readonly job: string;
  /** This runner's name (`host:port`). */
  readonly runner: string;
}

/**
 * Execute a job on this runner (see the module doc): lock, heartbeat, retries, and its end
 * recorded as `done` or `failed`.
 */
export function executeJob<E, R>(
  ctx: JobContext,
  work: Effect.Effect<unknown, E, R>,
): Effect.Effect<void, JobFailure, R | SqlClient.SqlClient> {
  const { dir, job, runner } = ctx;
  const record = <X, Y, Z>(e: Effect.Effect<X, Y, Z>) => Effect.ignore(e);
  const beat = record(heartbeat(dir, job, runner)).pipe(
    Effect.repeat(Schedule.spaced("10 seconds")),
  );
  return Effect.gen(function* () {
    yield* record(markRunning(dir, job, runner));
    let delay = RETRY.firstDelay;
    for (let attempt = 1;; attempt++) {
      const exit = yield* Effect.exit(
        withJobLock(
          `${dir}|${job}`,
          Effect.raceFirst(work, Effect.andThen(beat, Effect.never)),
        ),
      );
      if (exit._tag === "Success") {
        yield* record(markEnded(dir, job, runner, null));
        return;
      }
      // Interrupted (the runner stops, or its shard moves): no reply, so the engine delivers
      // the request again to whichever runner holds the shard next.
      if (Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.interrupt;
      const f = failureOf(exit.cause);
      if (!f.transient || attempt >= RETRY.attempts) {
        const message = f.transient ? `${f.message} (after ${attempt} attempts)` : f.message;
        yield* record(markEnded(dir, job, runner, message));
        return yield* Effect.fail({ message, code: f.code });
      }
      yield* record(markRunning(dir, job, runner, true, f.message));
      yield* Effect.sleep(delay);
      delay = Duration.times(delay, 2);
    }
  });
}
