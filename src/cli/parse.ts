/**
 * The trainer's command line: the commands, and the flags generated from the config schema
 * (shared by every command, before or after its name), parsed by the one argument parser
 * (`parser.ts`) into the command to run and the config's sources.
 *
 * @module
 */
import { Effect } from "effect";
import { Command } from "effect/cli";
import {
  closestFlags,
  optionalString,
  overridesOf,
  SHARED_FLAGS,
  type SharedInput,
} from "./flags.ts";
import { type ExecutionFlags, executionOf } from "./execution.ts";
import { helpText } from "./help.ts";
import { parserEnvironment, type UsageHints, UsageInvalid, usageLine, VERSION } from "./parser.ts";

export { UsageInvalid, VERSION };

/** A parsed command line. */
export interface ParsedCommandLine {
  /** The command (`run` when none is named). */
  readonly command: string;
  /** `--config FILE`, or null. */
  readonly configFile: string | null;
  /** `--resume DIR`, or null. */
  readonly resume: string | null;
  /** `--print-config` was given. */
  readonly printConfig: boolean;
  /** Config overrides `[dotted path, raw text]`. */
  readonly overrides: ReadonlyArray<readonly [string, string | true]>;
  /** How to run: workers, cluster (never part of the config). */
  readonly execution: ExecutionFlags;
}

/** The trainer's hints. */
const TRAINER_HINTS = (commands: readonly string[]): UsageHints => ({
  commands,
  closest: closestFlags,
  positional: "commands take only flags (e.g. --model.path DIR, --eval.adapterPath DIR); " +
    "see --help",
});

/**
 * Parse `argv` for `commands` (the first one runs when none is named). Succeeds with null when
 * the parser answered by itself (`--help`, `--version`).
 *
 * @example
 * ```ts
 * const parsed = await Effect.runPromise(parseCommandLine(["eval", "--method.rho=1"], ["run", "eval"]));
 * parsed?.command; // "eval"
 * ```
 */
export function parseCommandLine(
  argv: readonly string[],
  commands: readonly string[],
): Effect.Effect<ParsedCommandLine | null, UsageInvalid> {
  return Effect.suspend(() => {
    let parsed: Omit<ParsedCommandLine, "execution"> | null = null;
    let flags: SharedInput = {};
    const capture = (command: string, input: SharedInput) =>
      Effect.sync(() => {
        flags = input;
        parsed = {
          command,
          configFile: optionalString(input, "config"),
          resume: optionalString(input, "resume"),
          printConfig: input["print-config"] === true,
          overrides: overridesOf(input),
        };
      });
    const [first, ...rest] = commands;
    const root = Command.make("train", {}, (input) => capture(first ?? "run", input)).pipe(
      Command.withSharedFlags(SHARED_FLAGS),
    );
    // The default command may also be named (`train run ...`), as the help lists it.
    const subcommands = [...(first ? [first] : []), ...rest].map((name) =>
      Command.make(name, {}, () => Effect.flatMap(root, (input) => capture(name, input)))
    );
    const app = root.pipe(Command.withSubcommands(subcommands));
    const help = (path: readonly string[]) => {
      const at = path.at(-1);
      return helpText(at && commands.includes(at) ? at : null);
    };
    return Command.runWith(app, { version: VERSION })(argv).pipe(
      Effect.provide(parserEnvironment(help)),
      Effect.map(() => parsed),
      Effect.catch((e) =>
        Effect.fail(
          new UsageInvalid({
            detail: usageLine(e._tag === "ShowHelp" ? e.errors : [e], TRAINER_HINTS(commands)),
          }),
        )
      ),
      Effect.flatMap((p: Omit<ParsedCommandLine, "execution"> | null) =>
        p === null ? Effect.succeed(null) : Effect.try({
          try: (): ParsedCommandLine => ({ ...p, execution: executionOf(flags) }),
          catch: (e) => e instanceof UsageInvalid ? e : new UsageInvalid({ detail: String(e) }),
        })
      ),
    );
  });
}
