/**
 * Resolving a config: defaults, then a JSON file, then `--a.b=value` flags; then the schema
 * (unknown keys and out-of-range values rejected with their path) and the cross-field rules.
 *
 * @module
 */
import { Schema } from "effect";
import { MAX_CONFIG_JSON_BYTES, readTextChecked } from "../io/read.ts";
import { ConfigInvalid } from "./errors.ts";
import { CONFIG_FIELDS } from "./fields.ts";
import { DEFAULT_CONFIG, ExperimentConfig } from "./schema.ts";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Deep-merge `patch` into `base` (objects merge, everything else replaces). Pure. */
export function deepMerge(base: unknown, patch: unknown): unknown {
  if (!isRecord(base) || !isRecord(patch)) return patch;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) out[k] = k in base ? deepMerge(base[k], v) : v;
  return out;
}

/** Set `path` (dotted) in a nested record, creating objects along the way. Pure. */
export function setPath(obj: unknown, path: string, value: unknown): unknown {
  const [head, ...rest] = path.split(".");
  const base = isRecord(obj) ? obj : {};
  if (head === undefined) return value;
  return { ...base, [head]: rest.length ? setPath(base[head], rest.join("."), value) : value };
}

/** Parse a JSON config file's text; `source` names the file in errors. */
export function parseConfigText(text: string, source: string): unknown {
  try {
    const value = JSON.parse(text.replace(/^\uFEFF/, "")) as Json;
    if (!isRecord(value)) {
      throw new ConfigInvalid({ path: "", source, detail: "expected a JSON object at the top" });
    }
    return value;
  } catch (e) {
    if (e instanceof ConfigInvalid) throw e;
    const detail = e instanceof Error ? e.message : String(e);
    throw new ConfigInvalid({ path: "", source, detail: `not valid JSON: ${detail}` });
  }
}

/** Turn a flag's text into the type of the field's default. */
export function coerceFlag(path: string, raw: string | true): unknown {
  const field = CONFIG_FIELDS.find((f) => f.path === path);
  const source = `flag --${path}`;
  if (!field) {
    const near = CONFIG_FIELDS.filter((f) => f.path.endsWith(`.${path.split(".").at(-1)}`))
      .map((f) => `--${f.path}`);
    throw new ConfigInvalid({
      path,
      source,
      detail: `unknown option${near.length ? `; did you mean ${near.join(" or ")}?` : ""}`,
    });
  }
  const d = field.defaultValue;
  if (typeof d === "boolean") {
    if (raw === true || raw === "true") return true;
    if (raw === "false") return false;
    throw new ConfigInvalid({ path, source, detail: `expected true or false, found "${raw}"` });
  }
  if (raw === true) throw new ConfigInvalid({ path, source, detail: "expected a value" });
  if (typeof d === "number") {
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(n)) {
      throw new ConfigInvalid({ path, source, detail: `expected a number, found "${raw}"` });
    }
    return n;
  }
  if (Array.isArray(d)) {
    if (raw.trim().startsWith("[")) return parseConfigTextArray(raw, source, path);
    // Comma lists; numeric items become numbers (no string list holds numerals).
    return raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0)
      .map((s) => (/^-?\d+(\.\d+)?(e-?\d+)?$/i.test(s) ? Number(s) : s));
  }
  return raw;
}

function parseConfigTextArray(raw: string, source: string, path: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new ConfigInvalid({ path, source, detail: `expected a JSON array, found ${raw}` });
  }
}

/** Decode a merged raw value against the schema, rejecting excess keys with their path. */
export function decodeConfig(raw: unknown, source: string): ExperimentConfig {
  try {
    const cfg = Schema.decodeUnknownSync(ExperimentConfig)(raw, { onExcessProperty: "error" });
    checkCrossField(cfg, source);
    return cfg;
  } catch (e) {
    if (e instanceof ConfigInvalid) throw e;
    const issue = (e as { issue?: unknown }).issue;
    const text = e instanceof Error ? e.message : String(e);
    const m = /at (\[.*\])\s*$/m.exec(text);
    const path = m?.[1] ? [...m[1].matchAll(/\["?([^"\]]+)"?\]/g)].map((x) => x[1]).join(".") : "";
    let detail = text.replace(/\n\s*at \[.*\]\s*$/m, "").trim();
    if (path && !/excess property/.test(detail)) {
      let found: unknown = raw;
      for (const k of path.split(".")) found = isRecord(found) ? found[k] : undefined;
      if (found !== undefined) detail += `, found ${JSON.stringify(found)}`;
    }
    throw new ConfigInvalid({ path, source, detail: issue ? detail : text });
  }
}

/** Rules that span fields, checked before any work starts. */
export function checkCrossField(cfg: ExperimentConfig, source: string): void {
  const m = cfg.method;
  if ((m.name === "lisa" || m.name === "bso") && m.alignmentSteps + m.finetuneSteps === 0) {
    throw new ConfigInvalid({
      path: "method.alignmentSteps",
      source,
      detail: `${m.name} needs alignmentSteps + finetuneSteps > 0 (found 0 + 0)`,
    });
  }
  if ((m.name === "lisa" || m.name === "bso") && m.finetuneSteps === 0) {
    throw new ConfigInvalid({
      path: "method.finetuneSteps",
      source,
      detail: `${m.name} needs finetuneSteps >= 1, or the user data is never trained on`,
    });
  }
}

/** Parsed command-line flags: dotted config overrides plus the CLI's own switches. */
export interface ParsedArgs {
  readonly command: string | null;
  readonly overrides: ReadonlyArray<readonly [string, string | true]>;
  readonly configFile: string | null;
  readonly resume: string | null;
  readonly printConfig: boolean;
  readonly help: boolean;
  readonly positionals: readonly string[];
}

const CLI_SWITCHES = new Set(["help", "h", "print-config"]);
const CLI_VALUED = new Set(["config", "resume"]);

/** Split argv into a command, CLI switches and `--a.b=value` / `--a.b value` overrides. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  let command: string | null = null;
  const overrides: Array<readonly [string, string | true]> = [];
  const positionals: string[] = [];
  let configFile: string | null = null;
  let resume: string | null = null;
  let printConfig = false;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (!arg.startsWith("-")) {
      if (command === null && positionals.length === 0) command = arg;
      else positionals.push(arg);
      continue;
    }
    const body = arg.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const key = eq >= 0 ? body.slice(0, eq) : body;
    let value: string | true = eq >= 0 ? body.slice(eq + 1) : true;
    if (CLI_SWITCHES.has(key)) {
      if (key === "print-config") printConfig = true;
      else help = true;
      continue;
    }
    const field = CONFIG_FIELDS.find((f) => f.path === key);
    const takesValue = CLI_VALUED.has(key) ||
      (field !== undefined && typeof field.defaultValue !== "boolean");
    const next = argv[i + 1];
    const boolWord = field !== undefined && typeof field.defaultValue === "boolean" &&
      (next === "true" || next === "false");
    if (
      value === true && (takesValue || boolWord) && next !== undefined && !next.startsWith("--")
    ) {
      value = next;
      i++;
    }
    if (key === "config" || key === "resume") {
      if (value === true) {
        throw new ConfigInvalid({ path: "", source: `flag --${key}`, detail: "expected a path" });
      }
      if (key === "config") configFile = value;
      else resume = value;
      continue;
    }
    overrides.push([key, value]);
  }
  return { command, overrides, configFile, resume, printConfig, help, positionals };
}

/**
 * Resolve the config from defaults, an optional preset and file, and flag overrides. Reads
 * the file if named; throws {@link ConfigInvalid} naming the source and field of any problem.
 */
export async function resolveConfig(
  args: Pick<ParsedArgs, "configFile" | "overrides">,
  preset: unknown = {},
): Promise<ExperimentConfig> {
  let raw: unknown = deepMerge(DEFAULT_CONFIG, preset);
  let source = "defaults";
  if (args.configFile) {
    let text: string;
    try {
      text = await readTextChecked(args.configFile, {
        maxBytes: MAX_CONFIG_JSON_BYTES,
        what: "experiment config",
      });
    } catch (e) {
      throw new ConfigInvalid({
        path: "",
        source: args.configFile,
        detail: `cannot read the file: ${e instanceof Error ? e.message : e}`,
      });
    }
    const file = parseConfigText(text, args.configFile);
    // Validate the file on its own first so errors name the file, not a flag.
    decodeConfig(deepMerge(raw, file), args.configFile);
    raw = deepMerge(raw, file);
    source = args.configFile;
  }
  for (const [path, value] of args.overrides) {
    raw = setPath(raw, path, coerceFlag(path, value));
    decodeConfig(raw, `flag --${path}`);
  }
  return decodeConfig(raw, source);
}
