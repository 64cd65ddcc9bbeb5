/**
 * The benchmark scripts' command lines, parsed by the CLI's one argument parser: a bad flag or
 * a stray argument prints one line and exits 2; `--help` prints the flags and exits 0.
 *
 * @module
 */
import { Effect, Exit } from "effect";
import { parseToolFlags, type ToolFlags } from "../src/cli/parser.ts";

/** The flags of `Deno.args` (or `args`) for the script `tool`. */
export function benchFlags(
  tool: string,
  spec: ToolFlags,
  args: readonly string[] = Deno.args,
): ReadonlyMap<string, string> {
  const exit = Effect.runSyncExit(parseToolFlags(tool, spec, args));
  if (Exit.isFailure(exit)) {
    const f = exit.cause.reasons.find((r) => r._tag === "Fail");
    console.error(`error: ${f && f._tag === "Fail" ? f.error.message : `${tool}: bad arguments`}`);
    Deno.exit(2);
  }
  if (exit.value === null) Deno.exit(0);
  return exit.value;
}
