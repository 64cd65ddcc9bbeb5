/**
 * The one place that maps failures to exit codes: 0 success, 1 the run failed, 2 bad input
 * (config, data, model or judge files, an unavailable backend), 130 interrupted. Every tagged
 * failure a command can end with is listed by tag in {@link exitCodeOf}, and the type checker
 * proves the list complete (the result can fail with nothing). A user sees one line, never a
 * stack trace or a `Cause(...)`.
 *
 * @module
 */
import { Cause, Effect } from "effect";
import type { BackendUnavailable } from "../../backends/mod.ts";
import type { ConfigInvalid } from "../config/mod.ts";
import type { PipelineError } from "../pipeline/mod.ts";
import type { UsageInvalid } from "./parser.ts";
import type { WorkerFailed } from "../parallel/pool.ts";
import type { ClusterFailed } from "../cluster/submit.ts";

/** The process exit code of a CLI invocation. */
export type ExitCode = 0 | 1 | 2 | 130;

/** Every failure a CLI command can end with. */
export type CliFailure =
  | PipelineError
  | ConfigInvalid
  | BackendUnavailable
  | UsageInvalid
  | WorkerFailed
  | ClusterFailed;

/** Write the one line a failure gets. */
export function printError(message: string): void {
  console.error(`error: ${message}`);
}

const exit = (code: 1 | 2) => (e: { readonly message: string }) =>
  Effect.sync(() => {
    printError(e.message);
    return code;
  });
const badInput = exit(2);
const runFailed = exit(1);

/**
 * Run a command's program and turn its outcome into an exit code, printing one line for a
 * failure. `onInterrupt` runs (e.g. to say how to resume) when the program was interrupted.
 */
export function exitCodeOf<R>(
  program: Effect.Effect<ExitCode, CliFailure, R>,
  onInterrupt: () => void = () => {},
): Effect.Effect<ExitCode, never, R> {
  // Typed as failing with nothing: a failure tag missing below is a compile error.
  const handled: Effect.Effect<ExitCode, never, R> = program.pipe(
    Effect.catchTags({
      // Bad input: the user can fix it and run again.
      UsageInvalid: badInput,
      ConfigInvalid: badInput,
      BackendUnavailable: badInput,
      DataInvalid: badInput,
      SourceTooSmall: badInput,
      SplitOverlap: badInput,
      AssetInvalid: badInput,
      TrainOptionInvalid: badInput,
      RunDirInvalid: badInput,
      RunDirExists: badInput,
      CheckpointCorrupt: badInput,
      JudgeConfigInvalid: badInput,
      // The run failed: training diverged, a file or the judge server failed mid-run.
      NonFiniteLoss: runFailed,
      SourceExhausted: runFailed,
      IOFailed: runFailed,
      ReportWriteFailed: runFailed,
      JudgeUnreachable: runFailed,
      JudgeTimeout: runFailed,
      JudgeHttpStatus: runFailed,
      JudgeMalformedReply: runFailed,
      RepairFailed: runFailed,
      // A worker process keeps its own code: bad input there is bad input here.
      WorkerFailed: (e) => e.code === 2 ? badInput(e) : runFailed(e),
      // The database is unreachable, or cluster jobs failed (each named with its reason).
      ClusterFailed: runFailed,
    }),
  );
  return handled.pipe(
    Effect.catchCause((cause) =>
      Effect.sync((): ExitCode => {
        if (Cause.hasInterruptsOnly(cause)) {
          onInterrupt();
          return 130;
        }
        const defect = cause.reasons.find((r) => r._tag === "Die");
        const what = defect && "defect" in defect ? defect.defect : undefined;
        printError(
          `internal error: ${what instanceof Error ? what.message : String(what ?? "unknown")}`,
        );
        return 1;
      })
    ),
  );
}
