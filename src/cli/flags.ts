/**
 * The command line's flags, generated from the config schema: one `--section.field` per config
 * leaf (a string flag, parsed against the field's type when the config is resolved, or a
 * boolean switch), plus the CLI's own `--config`, `--resume` and `--print-config`. The flags
 * are shared by every command, so they may come before or after the command's name.
 *
 * @module
 */
import { Option } from "effect";
import { Flag } from "effect/cli";
import { CONFIG_FIELDS } from "../config/mod.ts";
import { EXECUTION_FLAGS, EXECUTION_OPTIONS } from "./execution.ts";

const show = (v: unknown): string => Array.isArray(v) ? v.join(",") : JSON.stringify(v);

/** The help line of a config field: its description, choices and default. */
export function fieldHelp(path: string): string {
  const f = CONFIG_FIELDS.find((x) => x.path === path);
  if (!f) return "";
  const choices = f.choices.length ? ` {${f.choices.join("|")}}` : "";
  return `${f.description}${choices} [default: ${show(f.defaultValue)}]`;
}

/** The CLI's own switches, with their help lines. */
export const CLI_OPTIONS: ReadonlyArray<readonly [string, string]> = [
  ["--config FILE", "JSON experiment config, applied over the defaults"],
  ["--resume DIR", "continue an interrupted run from its last checkpoint"],
  ["--print-config", "print the fully resolved config as JSON and exit"],
  ...EXECUTION_OPTIONS,
  ["--help", "this text"],
  ["--version", "the tool's version"],
];

// A config flag may be given more than once; the last occurrence wins (so a script can append
// an override to a list of flags).
const configFlag = (path: string, isBoolean: boolean) =>
  isBoolean
    ? Flag.Boolean(path).pipe(Flag.withDescription(fieldHelp(path)), Flag.atLeast(0))
    : Flag.String(path).pipe(Flag.withDescription(fieldHelp(path)), Flag.atLeast(0));

/** Every flag the commands share, keyed by name. */
export const SHARED_FLAGS = {
  ...Object.fromEntries(
    CONFIG_FIELDS.map((f) => [f.path, configFlag(f.path, typeof f.defaultValue === "boolean")]),
  ),
  config: Flag.optional(
    Flag.String("config").pipe(Flag.withDescription("JSON experiment config")),
  ),
  resume: Flag.optional(
    Flag.String("resume").pipe(Flag.withDescription("run folder to continue")),
  ),
  "print-config": Flag.Boolean("print-config").pipe(
    Flag.withDefault(false),
    Flag.withDescription("print the resolved config and exit"),
  ),
  ...EXECUTION_FLAGS,
};

/** What the shared flags parse to. */
export type SharedInput = Readonly<Record<string, unknown>>;

/**
 * The flags of a parse as config overrides `[path, raw]`, in the schema's field order; a flag
 * given more than once counts with its last value.
 */
export function overridesOf(input: SharedInput): Array<readonly [string, string | true]> {
  const out: Array<readonly [string, string | true]> = [];
  for (const f of CONFIG_FIELDS) {
    const v = input[f.path];
    if (!Array.isArray(v) || v.length === 0) continue;
    out.push([f.path, String(v.at(-1))]);
  }
  return out;
}

/** A parsed optional string flag's value, or null. */
export function optionalString(input: SharedInput, name: string): string | null {
  const v = input[name];
  return Option.isOption(v) && Option.isSome(v) && typeof v.value === "string" ? v.value : null;
}

/** Levenshtein distance (small strings). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const here = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = here;
    }
  }
  return row[b.length]!;
}

/** Every flag name the CLI accepts (without dashes). */
export function flagNames(): string[] {
  return [
    ...CONFIG_FIELDS.map((f) => f.path),
    "config",
    "resume",
    "print-config",
    ...Object.keys(EXECUTION_FLAGS),
    "help",
    "version",
  ];
}

/**
 * The valid flags closest to an unknown one: the same last segment (`--rho` for
 * `--method.rho`), else the nearest by edit distance, when near enough to be a typo.
 */
export function closestFlags(unknown: string): string[] {
  const name = unknown.replace(/^-+/, "").split("=")[0]!;
  const names = flagNames();
  const last = name.split(".").at(-1)!;
  const bySegment = names.filter((n) => n.split(".").at(-1) === last && n !== name);
  if (bySegment.length) return bySegment.map((n) => `--${n}`);
  const scored = names.map((n) => [distance(name, n), n] as const).sort((a, b) => a[0] - b[0]);
  const best = scored[0];
  if (!best || best[0] > Math.max(2, Math.floor(name.length / 3))) return [];
  return scored.filter(([d]) => d === best[0]).map(([, n]) => `--${n}`);
}
