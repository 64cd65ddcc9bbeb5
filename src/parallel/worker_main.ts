/**
 * The entry of a worker process: reads one {@link PhaseJob} as JSON from standard input,
 * starts the job's backend, runs it, and exits with the CLI's codes (0 done, 1 failed, 2 bad
 * input) after one `error:` line on failure. Progress goes to standard output as plain lines.
 *
 * @module
 */
import { Effect, Fiber, Layer } from "effect";
import { Backend } from "../../backends/mod.ts";
import { exitCodeOf } from "../cli/exit.ts";
import { Progress } from "../train/mod.ts";
import { type PhaseJob, runJob } from "./job.ts";

async function readStdin(): Promise<string> {
  let text = "";
  for await (const c of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) text += c;
  return text;
}

if (import.meta.main) {
  const job = JSON.parse(await readStdin()) as PhaseJob;
  const program = Effect.as(runJob(job), 0 as const).pipe(
    Effect.provide(Layer.mergeAll(Backend.layer(job.config.backend), Progress.lines())),
  );
  // SIGTERM (the parent stops its workers) or SIGINT (Ctrl-C reaches the whole process group)
  // interrupts the job as the CLI does: the training stage checkpoints where it stands.
  const fiber = Effect.runFork(exitCodeOf(program));
  const stop = () => Effect.runFork(Fiber.interrupt(fiber));
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  // A parent that died without stopping its workers (killed outright) leaves them to init:
  // stop too, rather than train on for nobody.
  const parent = Deno.ppid;
  const watchdog = setInterval(() => {
    if (Deno.ppid !== parent) stop();
  }, 2000);
  const exit = await Effect.runPromise(Fiber.await(fiber));
  clearInterval(watchdog);
  Deno.exit(exit._tag === "Success" ? exit.value : 130);
}
