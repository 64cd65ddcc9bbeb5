/**
 * The command-line entry: parse arguments, resolve the config, provide the layers, run the
 * command, and map tagged failures to clear messages and exit codes.
 *
 * @module
 */
import { Effect } from "effect";
import { Backend, BackendUnavailable, formatUnavailable, probeAll } from "../../backends/mod.ts";
import { ConfigInvalid, parseArgs, resolveConfig } from "../config/mod.ts";
import { COMMANDS, helpText } from "./help.ts";

/** The outcome of a CLI invocation: text already printed, and the process exit code. */
export type ExitCode = 0 | 1 | 2;

/** A user-facing failure with an exit code; carried through Effect's error channel. */
interface UserFacing {
  readonly _tag: string;
  readonly message: string;
}

const USAGE_ERRORS = new Set(["ConfigInvalid", "BackendUnavailable", "DataInvalid"]);

function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

/** Run the CLI with `argv`; returns the exit code instead of exiting (testable). */
export async function main(argv: readonly string[]): Promise<ExitCode> {
  let args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 2;
  }
  if (args.help) {
    console.log(helpText());
    return 0;
  }
  const command = args.command ?? "run";
  if (!COMMANDS.some(([c]) => c === command)) {
    console.error(
      `error: unknown command '${command}'; expected one of ${COMMANDS.map(([c]) => c).join(", ")}`,
    );
    return 2;
  }
  if (command === "backends") {
    const report = await probeAll();
    console.log(formatUnavailable("auto", "listing only", report).split("\n").slice(1).join("\n"));
    return 0;
  }
  const program = Effect.gen(function* () {
    const config = yield* Effect.tryPromise({
      try: () => resolveConfig(args),
      catch: (e) => e as ConfigInvalid,
    });
    const backend = yield* Effect.provide(
      Effect.gen(function* () {
        return yield* Backend;
      }),
      Backend.layer(config.backend),
    );
    if (args.printConfig) {
      printJson(config);
      console.error(`backend: ${backend.name} (${backend.device})`);
      return 0 as ExitCode;
    }
    console.error(`backend: ${backend.name} (${backend.device})`);
    console.error(`command '${command}' is not available in this build yet`);
    return 1 as ExitCode;
  });
  const exit = await Effect.runPromiseExit(program);
  if (exit._tag === "Success") return exit.value;
  const failure = exit.cause.reasons.find((r) => r._tag === "Fail");
  const err = (failure && "error" in failure ? failure.error : undefined) as UserFacing | undefined;
  if (err && (err instanceof ConfigInvalid || err instanceof BackendUnavailable)) {
    console.error(`error: ${err.message}`);
    return USAGE_ERRORS.has(err._tag) ? 2 : 1;
  }
  console.error(`error: ${String(exit.cause)}`);
  return 1;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
