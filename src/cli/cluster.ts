/**
 * The CLI's cluster commands: `runner` (join a cluster and execute sweep jobs until stopped)
 * and `sweep --cluster.db` (submit, watch, collect) or `sweep --status DIR` (watch, collect).
 *
 * @module
 */
import { resolve } from "node:path";
import { Effect, Layer } from "effect";
import { Backend } from "../../backends/mod.ts";
import { ConfigInvalid, type ExperimentConfig } from "../config/mod.ts";
import {
  ClusterFailed,
  describeDb,
  describeError,
  runnerLayer,
  submitSweep,
  watchSweep,
} from "../cluster/mod.ts";
import { checkSweep, type PipelineError, planRunDir, runSweep } from "../pipeline/mod.ts";
import type { ExitCode } from "./exit.ts";
import type { ParsedCommandLine } from "./parse.ts";

/** The default port a runner listens on. */
export const DEFAULT_RUNNER_PORT = 34431;

/** Succeeds when the process receives `signal`. */
const signalled = (signal: Deno.Signal): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    const on = () => resume(Effect.void);
    Deno.addSignalListener(signal, on);
    return Effect.sync(() => Deno.removeSignalListener(signal, on));
  });

/** `runner`: serve the cluster until SIGTERM (or Ctrl-C), on the command's backend. */
export function runnerCommand(
  parsed: ParsedCommandLine,
): Effect.Effect<ExitCode, ConfigInvalid | ClusterFailed, Backend> {
  return Effect.gen(function* () {
    const db = parsed.execution.clusterDb;
    if (!db) {
      return yield* new ConfigInvalid({
        path: "",
        source: "flag --cluster.db",
        detail: "the runner command needs the cluster's PostgreSQL URL",
      });
    }
    const backend = yield* Backend;
    const host = parsed.execution.clusterHost ?? Deno.hostname();
    const port = parsed.execution.clusterPort ?? DEFAULT_RUNNER_PORT;
    console.error(`runner ${host}:${port} on ${describeDb(db)}; stop it with SIGTERM or Ctrl-C`);
    const layer = runnerLayer({ db, host, port, backend: Layer.succeed(Backend, backend) });
    // Serve until stopped; "ready" once the runner has joined (its tables set up).
    const serve = Layer.build(layer).pipe(
      Effect.andThen(Effect.sync(() => console.error(`runner ${host}:${port} ready`))),
      Effect.andThen(Effect.never),
      Effect.scoped,
    );
    yield* Effect.raceFirst(
      serve.pipe(
        Effect.mapError((e) =>
          new ClusterFailed({
            detail: `the runner stopped: ${describeError(e)}`,
          })
        ),
      ),
      signalled("SIGTERM"),
    );
    return 0 as const;
  });
}

/**
 * `sweep` on a cluster: submit the grid (unless `--status`), watch it until every job ends,
 * then collect the finished cells into the usual report (read back, nothing retrained).
 */
export function clusterSweep(
  parsed: ParsedCommandLine,
  cfg: ExperimentConfig,
  db: string,
): Effect.Effect<ExitCode, PipelineError | ClusterFailed, Backend> {
  return Effect.gen(function* () {
    let dir: string;
    if (parsed.execution.status) {
      dir = resolve(parsed.execution.status);
    } else {
      // Checked before anything is submitted; the folder is made once the inputs pass.
      const plan = yield* planRunDir(cfg, "sweep", parsed.resume);
      dir = resolve(yield* checkSweep(cfg, plan));
      const submission = yield* submitSweep(cfg, dir, db);
      console.error(`submitted ${dir} to ${describeDb(db)} (submission ${submission})`);
      console.error("the sweep goes on if this process stops; watch it with:");
      console.error(`  deno task train sweep --status ${dir} --cluster.db <URL>`);
    }
    yield* watchSweep(dir, db);
    console.log(yield* runSweep(cfg, dir));
    console.log(`report: ${dir}/report.html`);
    return 0 as ExitCode;
  });
}
