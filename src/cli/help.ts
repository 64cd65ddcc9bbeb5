/**
 * `--help` text, generated from the command table and the config schema so every command and
 * every knob shows, with its default.
 *
 * @module
 */
import { CONFIG_FIELDS } from "../config/mod.ts";
import { COMMANDS } from "./commands.ts";
import { CLI_OPTIONS, fieldHelp } from "./flags.ts";

const table = (rows: ReadonlyArray<readonly [string, string]>): string[] => {
  const width = Math.max(...rows.map(([a]) => a.length));
  return rows.map(([a, d]) => `  ${a.padEnd(width)}  ${d}`);
};

/** The help text, for one command (`null`: the whole tool). */
export function helpText(command: string | null = null): string {
  const cmd = command === null ? null : COMMANDS.find((c) => c.name === command) ?? null;
  const fields: Array<readonly [string, string]> = CONFIG_FIELDS.map((f) => [
    `--${f.path}`,
    fieldHelp(f.path),
  ]);
  return [
    "Safety-preserving fine-tuning (Lisa and baselines) on TensorFlow.js.",
    "",
    cmd
      ? `Usage: deno task train ${cmd.name} [--config exp.json] [--section.field=value ...]\n\n` +
        `${cmd.summary}`
      : "Usage: deno task train [command] [--config exp.json] [--section.field=value ...]",
    "",
    ...(cmd ? [] : ["Commands:", ...table(COMMANDS.map((c) => [c.name, c.summary])), ""]),
    "Options (before or after the command):",
    ...table(CLI_OPTIONS),
    "",
    "Config fields (flags override the file; `--a.b=v` or `--a.b v`):",
    ...table(fields),
    "",
    "Exit codes: 0 success, 1 run failed, 2 bad input (config, data, model or judge files, an",
    "unavailable backend, an unknown flag or argument), 130 interrupted (resume with --resume).",
  ].join("\n");
}
