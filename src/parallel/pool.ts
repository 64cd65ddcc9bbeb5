/**
 * Worker processes for independent phases: each job runs in its own Deno process (its own
 * backend, its own tensors), at most `workers` at a time, each after the jobs it waits for.
 * A job's output lines come back prefixed with its name. The first failure stops the others
 * (their processes are killed) and fails with {@link WorkerFailed}, keeping the worker's exit
 * code (2 for bad input, 1 for a failed run) and its one-line reason.
 *
 * Threads: a worker gets `LISA_THREADS` (the wasm matrix product's and the fused row-wise
 * kernels' threads, bit-identical for any count) of cores / workers, at least 1, unless the caller's environment sets it. BLAS
 * threads (`OPENBLAS_NUM_THREADS`) are left as a serial run has them: OpenBLAS sums in another
 * order with another thread count (measured: other answers on `native`), and a worker must
 * compute what the serial run computes. Set `OPENBLAS_NUM_THREADS` yourself to trade that
 * for no oversubscription.
 *
 * @module
 */
import { Data, Deferred, Effect, Semaphore } from "effect";
import type { PhaseJob } from "./job.ts";

/** A worker process failed (or could not start). */
export class WorkerFailed extends Data.TaggedError("WorkerFailed")<{
  /** The job's name. */
  readonly job: string;
  /** The worker's exit code: 2 bad input, 1 the run failed. */
  readonly code: 1 | 2;
  /** Its one-line reason. */
  readonly detail: string;
}> {
  /** One line naming the job. */
  override get message(): string {
    return `${this.job}: ${this.detail}`;
  }
}

/** A job with the names of the jobs it waits for. */
export interface ScheduledJob {
  /** A unique name (the job's label). */
  readonly id: string;
  /** Names of jobs that must finish first. */
  readonly after: readonly string[];
  /** What to run. */
  readonly job: PhaseJob;
}

/** The number of cores this machine reports (at least 1). */
export function coreCount(): number {
  return Math.max(1, navigator.hardwareConcurrency || 1);
}

/**
 * The environment of a worker: `LISA_THREADS` (wasm matrix-product and fused-kernel threads) of
 * `cores / workers`, at least 1, unless the parent's environment already sets it. BLAS threads
 * are not split (see the module doc).
 */
export function workerThreadEnv(
  workers: number,
  cores: number = coreCount(),
  env: Readonly<Record<string, string>> = Deno.env.toObject(),
): Record<string, string> {
  const share = String(Math.max(1, Math.floor(cores / Math.max(1, workers))));
  const out: Record<string, string> = {};
  out.LISA_THREADS = env.LISA_THREADS ?? share;
  return out;
}

const WORKER_MAIN = new URL("./worker_main.ts", import.meta.url);
const DENO_CONFIG = new URL("../../deno.json", import.meta.url);

/** Copy a child's output stream to `write`, line by line, prefixed; returns the last line. */
async function relay(
  stream: ReadableStream<Uint8Array>,
  prefix: string,
  write: (line: string) => void,
): Promise<string> {
  let last = "";
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop() ?? "";
    for (const l of lines) {
      const line = l.replace(/^.*\r/, "");
      if (line.trim()) {
        write(`${prefix}${line}`);
        last = line;
      }
    }
  }
  if (rest.trim()) {
    write(`${prefix}${rest}`);
    last = rest;
  }
  return last;
}

/** Run one job in a fresh worker process; killed if the effect is interrupted. */
function spawnJob(
  s: ScheduledJob,
  env: Record<string, string>,
): Effect.Effect<void, WorkerFailed> {
  const label = s.id;
  return Effect.acquireUseRelease(
    Effect.try({
      try: () => {
        const args = ["run", "-A", "--unstable-webgpu"];
        if (DENO_CONFIG.protocol === "file:") args.push("--config", DENO_CONFIG.pathname);
        const child = new Deno.Command(Deno.execPath(), {
          args: [...args, WORKER_MAIN.href],
          stdin: "piped",
          stdout: "piped",
          stderr: "piped",
          env,
        }).spawn();
        return child;
      },
      catch: (e) => new WorkerFailed({ job: label, code: 1, detail: `cannot start: ${e}` }),
    }),
    (child) =>
      Effect.tryPromise({
        try: async () => {
          // The job (with its config) goes through stdin, never argv, so no secret shows in ps.
          const w = child.stdin.getWriter();
          await w.write(new TextEncoder().encode(JSON.stringify(s.job)));
          await w.close();
          const [, lastErr, status] = await Promise.all([
            relay(child.stdout, `[${label}] `, (l) => console.log(l)),
            relay(child.stderr, `[${label}] `, (l) => console.error(l)),
            child.status,
          ]);
          return { status, lastErr };
        },
        catch: (e) => new WorkerFailed({ job: label, code: 1, detail: String(e) }),
      }).pipe(
        Effect.flatMap(({ status, lastErr }) =>
          status.success ? Effect.void : Effect.fail(
            new WorkerFailed({
              job: label,
              code: status.code === 2 ? 2 : 1,
              detail: lastErr.replace(/^error: /, "") || `exited with code ${status.code}`,
            }),
          )
        ),
      ),
    // Stopped early (a sibling failed, or Ctrl-C): ask the worker to stop, which checkpoints
    // its training stage, and wait for it, so nothing is left running or half-written.
    (child, exit) =>
      exit._tag === "Failure"
        ? Effect.promise(async () => {
          try {
            child.kill("SIGTERM");
          } catch {
            // already exited
          }
          await child.status;
        })
        : Effect.void,
  );
}

/**
 * Run `jobs` in worker processes, at most `workers` at once, each after its `after` jobs;
 * fails with the first {@link WorkerFailed} and kills the rest.
 */
export function runInWorkers(
  jobs: readonly ScheduledJob[],
  workers: number,
): Effect.Effect<void, WorkerFailed> {
  return Effect.gen(function* () {
    const n = Math.max(1, Math.min(workers, jobs.length));
    const env = workerThreadEnv(n);
    const sem = yield* Semaphore.make(n);
    const done = new Map<string, Deferred.Deferred<void, WorkerFailed>>();
    for (const j of jobs) done.set(j.id, yield* Deferred.make<void, WorkerFailed>());
    yield* Effect.forEach(jobs, (j) =>
      Effect.gen(function* () {
        for (const a of j.after) {
          const d = done.get(a);
          if (d) yield* Deferred.await(d);
        }
        const r = yield* Effect.exit(sem.withPermit(spawnJob(j, env)));
        yield* Deferred.done(done.get(j.id)!, r);
        yield* r;
      }), { concurrency: "unbounded", discard: true });
  });
}

/** The default number of workers: one per core. */
export function defaultWorkers(): number {
  return coreCount();
}
