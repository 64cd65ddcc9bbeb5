/**
 * The command-line entry: parse the command line (`effect/cli`), resolve the config once,
 * provide the layers (backend, progress), run the command as one fiber, and turn its outcome
 * into an exit code with one line for any failure. Ctrl-C interrupts the fiber: the training
 * loop checkpoints where it stands, every resource is released, the CLI says how to resume and
 * exits 130.
 *
 * @module
 */
import { Cause, Effect, Exit, Fiber, Layer } from "effect";
import { Backend } from "../../backends/mod.ts";
import { type ConfigInvalid, type ExperimentConfig, resolveConfig } from "../config/mod.ts";
import { pathExistsSync } from "../io/mod.ts";
import { resumedConfig } from "../pipeline/mod.ts";
import { Progress } from "../train/mod.ts";
import { announceBackend, commandNamed, COMMANDS } from "./commands.ts";
import { type CliFailure, type ExitCode, exitCodeOf, printError } from "./exit.ts";
import { parseCommandLine, type ParsedCommandLine } from "./parse.ts";

/**
 * Resolve the config once: defaults, the preset of the model and task, the file, the flags.
 * A resumed run keeps its recorded config: {@link resumedConfig} refuses, naming the fields,
 * an edited `config.json`, a flag or a `--config` file that changes it.
 */
export function configFor(
  parsed: ParsedCommandLine,
): Effect.Effect<ExperimentConfig, ConfigInvalid> {
  // `sweep --status DIR` watches the sweep in DIR: its recorded config, as for --resume.
  if (parsed.execution.status && !parsed.resume) {
    parsed = { ...parsed, resume: parsed.execution.status };
  }
  if (!parsed.resume) return resolveConfig(parsed);
  return resumedConfig({
    runDir: parsed.resume,
    command: parsed.command,
    configFile: parsed.configFile,
    overrides: parsed.overrides,
  });
}

/** Where the current invocation writes, for the resume hint. */
interface Session {
  command: string;
  runDir: string | null;
}

/** The whole invocation as one Effect, failing with the tagged error that ended it. */
function program(argv: readonly string[], session: Session): Effect.Effect<ExitCode, CliFailure> {
  return Effect.gen(function* () {
    const parsed = yield* parseCommandLine(argv, COMMANDS.map((c) => c.name));
    if (!parsed) return 0 as const; // --help or --version answered
    session.command = parsed.command;
    const cmd = commandNamed(parsed.command);
    if (!cmd) return yield* Effect.die(new Error(`no command ${parsed.command}`));
    if (!cmd.needsBackend) return yield* cmd.run();
    const config = yield* configFor(parsed);
    return yield* Effect.gen(function* () {
      yield* announceBackend;
      if (parsed.printConfig) {
        console.log(JSON.stringify(config, null, 2));
        return 0 as const;
      }
      return yield* cmd.run({
        parsed,
        config,
        setRunDir: (dir) => void (session.runDir = dir),
      });
    }).pipe(Effect.provide(Layer.mergeAll(Backend.layer(config.backend), Progress.auto())));
  });
}

/** What to do after an interruption, in one line. */
function resumeHint(session: Session): string {
  // The folder is made only once the inputs passed their checks: it may not exist yet.
  if (!session.runDir || !pathExistsSync(session.runDir)) {
    return "interrupted before the run wrote anything";
  }
  const sub = session.command === "run" ? "" : `${session.command} `;
  return `interrupted; the training state is saved. Continue with: ` +
    `deno task train ${sub}--resume ${session.runDir}`;
}

/**
 * Run the CLI with `argv` and return the exit code instead of exiting (testable). With
 * `interruptOn`, that signal (Ctrl-C) interrupts the run.
 */
export async function main(
  argv: readonly string[],
  interruptOn: Deno.Signal | null = null,
): Promise<ExitCode> {
  const session: Session = { command: "run", runDir: null };
  const onInterrupt = () => printError(resumeHint(session));
  const fiber = Effect.runFork(exitCodeOf(program(argv, session), onInterrupt));
  const interrupt = () => Effect.runFork(Fiber.interrupt(fiber));
  if (interruptOn) Deno.addSignalListener(interruptOn, interrupt);
  try {
    const exit = await Effect.runPromise(Fiber.await(fiber));
    if (Exit.isSuccess(exit)) return exit.value;
    // Interrupted from outside the fiber: the finalizers have run (checkpoint, release).
    if (Cause.hasInterrupts(exit.cause)) {
      onInterrupt();
      return 130;
    }
    printError(`internal error: ${Cause.pretty(exit.cause).split("\n")[0]}`);
    return 1;
  } finally {
    if (interruptOn) Deno.removeSignalListener(interruptOn, interrupt);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args, "SIGINT"));
}
