/**
 * The one argument parser: `effect/cli`, run in an environment where nothing touches files,
 * processes or a terminal, with help and the version printed by the caller's rules and every
 * mistake (an unknown or misspelled flag, a positional argument nothing takes, an unknown
 * command, a flag without its value) turned into one {@link UsageInvalid} line that names the
 * problem and the closest valid choice. The trainer (`parse.ts`) and the single-command tools
 * (`build-assets`, `bench`) parse with it.
 *
 * @module
 */
import { Data, Effect, FileSystem, Layer, Option, Path, Stdio, Terminal } from "effect";
import { CliConfig, type CliError, CliOutput, Command, Flag, GlobalFlag } from "effect/cli";
import { ChildProcessSpawner } from "effect/process";

/** The tool's version, printed by `--version`. */
export const VERSION = "0.1.0";

/** The command line was not understood; `message` says what, in one line. */
export class UsageInvalid extends Data.TaggedError("UsageInvalid")<{
  /** One line naming the problem (and the closest valid choice, when there is one). */
  readonly detail: string;
}> {
  /** The line shown to the user. */
  override get message(): string {
    return this.detail;
  }
}

/**
 * The services `effect/cli` runs in, for a parse: nothing touches files, processes or a TTY.
 * `help` renders `--help` for a command path (the CLI's own text for the trainer; `effect/cli`'s
 * help document for the other tools).
 */
export function parserEnvironment(help: (path: readonly string[]) => string | null) {
  const none = Effect.die("not used by the parser");
  return Layer.mergeAll(
    FileSystem.layerNoop({}),
    Path.layer,
    Stdio.layerTest({}),
    Layer.succeed(
      Terminal.Terminal,
      Terminal.make({
        columns: Effect.succeed(100),
        rows: Effect.succeed(40),
        size: none,
        readInput: none,
        readLine: none,
        display: () => Effect.void,
      }),
    ),
    Layer.succeed(ChildProcessSpawner.ChildProcessSpawner, ChildProcessSpawner.make(() => none)),
    CliConfig.layer({ builtIns: [GlobalFlag.Help, GlobalFlag.Version] }),
    // Help and the version go to stdout; invocation errors are reported by the caller, once.
    CliOutput.layerPresenter({
      present: (event) =>
        Effect.sync(() => {
          if (event._tag === "Help") {
            console.log(
              help(event.commandPath) ?? CliOutput.defaultFormatter().formatHelpDoc(event.helpDoc),
            );
          } else if (event._tag === "Version") console.log(`lisa-safe-finetune ${VERSION}`);
        }),
    }),
  );
}

/** How {@link usageLine} words its hints for one tool. */
export interface UsageHints {
  /** The tool's commands (none for a single-command tool). */
  readonly commands: readonly string[];
  /** Valid flags near an unknown one, when the parser suggests none. */
  readonly closest: (flag: string) => string[];
  /** What to say about a positional argument. */
  readonly positional: string;
}

/** One line for the first thing wrong with the command line. */
export function usageLine(errors: readonly CliError.CliError[], hints: UsageHints): string {
  const commands = hints.commands;
  const e = errors[0];
  if (!e) return "the command line was not understood";
  switch (e._tag) {
    case "UnrecognizedOption": {
      const near = e.suggestions.length ? [...e.suggestions] : hints.closest(e.option);
      return `unknown flag ${e.option}` +
        (near.length ? `; did you mean ${near.join(" or ")}?` : "; see --help");
    }
    case "UnknownSubcommand": {
      const near = e.suggestions.length ? `did you mean ${e.suggestions.join(" or ")}? ` : "";
      return `unknown command "${e.subcommand}"; ${near}(commands: ${commands.join(", ")})`;
    }
    case "UnexpectedArgument":
      return `unexpected argument ${e.arguments.map((a) => `"${a}"`).join(" ")}: ` +
        hints.positional;
    case "InvalidValue":
      return `invalid value for --${e.option}: expected ${e.expected}` +
        (e.value === "" ? ", found nothing" : `, found "${e.value}"`);
    default:
      return e.message.split("\n")[0]!;
  }
}

/** The flags of a single-command tool (`build-assets`, `bench`): string flags and switches. */
export interface ToolFlags {
  /** Flags that take a value (`--out DIR`). */
  readonly values: readonly string[];
  /** Switches (`--quick`). */
  readonly switches: readonly string[];
}

/**
 * Parse the command line of a single-command tool with the same parser as the trainer: given
 * flags by name (switches as `"true"`), null when `--help` answered, and one
 * {@link UsageInvalid} line for an unknown flag, a stray argument or a missing value.
 *
 * @example
 * ```ts
 * const flags = Effect.runSync(parseToolFlags("build-assets", { values: ["out"], switches: ["quick"] }, ["--quick"]));
 * flags?.get("quick"); // "true"
 * ```
 */
export function parseToolFlags(
  tool: string,
  spec: ToolFlags,
  argv: readonly string[],
): Effect.Effect<ReadonlyMap<string, string> | null, UsageInvalid> {
  return Effect.suspend(() => {
    let parsed: Map<string, string> | null = null;
    const config = {
      ...Object.fromEntries(spec.values.map((n) => [n, Flag.optional(Flag.String(n))])),
      ...Object.fromEntries(spec.switches.map((n) => [n, Flag.optional(Flag.Boolean(n))])),
    };
    const cmd = Command.make(
      tool,
      config,
      (input: Record<string, Option.Option<unknown>>) =>
        Effect.sync(() => {
          parsed = new Map();
          for (const [k, v] of Object.entries(input)) {
            // A switch counts only when on (`--quick`, not `--quick=false`).
            if (Option.isSome(v) && v.value !== false) parsed.set(k, String(v.value));
          }
        }),
    );
    return Command.runWith(cmd, { version: VERSION })(argv).pipe(
      Effect.provide(parserEnvironment(() => null)),
      Effect.map(() => parsed),
      Effect.catch((e) =>
        Effect.fail(
          new UsageInvalid({
            detail: `${tool}: ` +
              usageLine(e._tag === "ShowHelp" ? e.errors : [e], {
                commands: [],
                closest: () => [],
                positional: `${tool} takes only flags; see --help`,
              }),
          }),
        )
      ),
    );
  });
}
