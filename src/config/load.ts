/**
 * Resolving a config: defaults, then a JSON file, then `--a.b=value` flags; then the schema
 * (unknown keys and out-of-range values rejected with their path) and the cross-field rules.
 *
 * @module
 */
import { Effect, Schema } from "effect";
import { MAX_CONFIG_JSON_BYTES, readTextChecked } from "../io/read.ts";
import { ConfigInvalid } from "./errors.ts";
import { CONFIG_FIELDS } from "./fields.ts";
import { EMBEDDED_DATA_SIZES, EMBEDDED_PRESET } from "./presets.ts";
import { DEFAULT_CONFIG, ExperimentConfig } from "./schema.ts";
import { METHODS } from "../train/methods/registry.ts";
import { urlCredentialParts } from "./secrets.ts";

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
      for (const k of path.split(".")) {
        found = isRecord(found) ? found[k] : Array.isArray(found) ? found[Number(k)] : undefined;
      }
      if (found !== undefined) detail += `, found ${JSON.stringify(found)}`;
    }
    throw new ConfigInvalid({ path, source, detail: issue ? detail : text });
  }
}

/** Rules that span fields, checked before any work starts. */
export function checkCrossField(cfg: ExperimentConfig, source: string): void {
  const credentials = urlCredentialParts(cfg.eval.http.baseUrl);
  if (credentials.length > 0) {
    // Named, never repeated: the config is written to config.json, logs and reports.
    throw new ConfigInvalid({
      path: "eval.http.baseUrl",
      source,
      detail: `the URL holds credentials (${credentials.join(", ")}), which would be ` +
        "written to the run's config.json, logs and reports; remove them and put the key in " +
        `the environment variable named by eval.http.apiKeyEnv (${cfg.eval.http.apiKeyEnv})`,
    });
  }
  const m = cfg.method;
  // K1:K2 rules hold for every method that alternates states (the registry says which).
  const bistate = METHODS[m.name].bistate;
  if (bistate && m.alignmentSteps + m.finetuneSteps === 0) {
    throw new ConfigInvalid({
      path: "method.alignmentSteps",
      source,
      detail: `${m.name} needs alignmentSteps + finetuneSteps > 0 (found 0 + 0)`,
    });
  }
  if (bistate && m.finetuneSteps === 0) {
    throw new ConfigInvalid({
      path: "method.finetuneSteps",
      source,
      detail: `${m.name} needs finetuneSteps >= 1, or the user data is never trained on`,
    });
  }
}

/** Where a config comes from, in load order (each later source wins). */
export interface ConfigSources {
  /** A JSON experiment file, applied over the defaults and the preset. */
  readonly configFile?: string | null;
  /** A nested partial config from code (e.g. `{ method: { rho: 0.5 } }`), over the file. */
  readonly values?: unknown;
  /** Command-line overrides `[dotted path, raw text]` (`true` for a bare switch), last. */
  readonly overrides?: ReadonlyArray<readonly [string, string | true]>;
  /**
   * Apply the preset of the model and task (default true): {@link EMBEDDED_PRESET} for the
   * embedded model, {@link EMBEDDED_DATA_SIZES} for a user's model on an embedded task. A
   * recorded config (a run's `config.json`) is complete, so the preset changes nothing there.
   */
  readonly presets?: boolean;
}

/** The preset for a merged raw config: chosen by its model path and task (see {@link ConfigSources}). */
export function presetFor(raw: unknown): object {
  const model = isRecord(raw) && isRecord(raw.model) ? raw.model : {};
  const data = isRecord(raw) && isRecord(raw.data) ? raw.data : {};
  const path = typeof model.path === "string" ? model.path : "";
  const task = typeof data.task === "string" ? data.task : "";
  if (path === "") return EMBEDDED_PRESET;
  return task.startsWith("embedded-") ? EMBEDDED_DATA_SIZES : {};
}

/** Run a config step that throws {@link ConfigInvalid}; anything else is a defect. */
function attempt<A>(f: () => A): Effect.Effect<A, ConfigInvalid> {
  return Effect.suspend(() => {
    try {
      return Effect.succeed(f());
    } catch (e) {
      return e instanceof ConfigInvalid ? Effect.fail(e) : Effect.die(e);
    }
  });
}

/**
 * Resolve the experiment config: defaults, then the preset of the model and task, then the
 * file, then `values`, then flag overrides; every layer is checked against the schema and the
 * cross-field rules, and a problem fails with {@link ConfigInvalid} naming its source (the
 * file, `values` or the flag) and field. A library user and the CLI get the same experiment
 * from the same sources.
 *
 * @example
 * ```ts
 * const config = await Effect.runPromise(resolveConfig({ values: { method: { rho: 0.5 } } }));
 * config.eval.maxNewTokens; // 32: the embedded preset, as on the command line
 * ```
 */
export function resolveConfig(
  sources: ConfigSources = {},
): Effect.Effect<ExperimentConfig, ConfigInvalid> {
  return Effect.gen(function* () {
    const file = sources.configFile;
    let fromFile: unknown = {};
    if (file) {
      const text = yield* Effect.tryPromise({
        try: () =>
          readTextChecked(file, { maxBytes: MAX_CONFIG_JSON_BYTES, what: "experiment config" }),
        catch: (e) =>
          new ConfigInvalid({
            path: "",
            source: file,
            detail: `cannot read the file: ${e instanceof Error ? e.message : e}`,
          }),
      });
      fromFile = yield* attempt(() => parseConfigText(text, file));
    }
    const overrides = sources.overrides ?? [];
    const flagged = yield* attempt(() => {
      let r: unknown = {};
      for (const [path, value] of overrides) r = setPath(r, path, coerceFlag(path, value));
      return r;
    });
    const values = sources.values ?? {};
    const preset = sources.presets === false
      ? {}
      : presetFor(deepMerge(deepMerge(deepMerge(DEFAULT_CONFIG, fromFile), values), flagged));
    return yield* attempt(() => {
      let raw: unknown = deepMerge(DEFAULT_CONFIG, preset);
      let source = "defaults";
      if (file) {
        // Validate the file on its own first so errors name the file, not a flag.
        raw = deepMerge(raw, fromFile);
        decodeConfig(raw, file);
        source = file;
      }
      if (sources.values !== undefined) {
        raw = deepMerge(raw, values);
        decodeConfig(raw, "values");
        source = "values";
      }
      for (const [path, value] of overrides) {
        raw = setPath(raw, path, coerceFlag(path, value));
        decodeConfig(raw, `flag --${path}`);
      }
      return decodeConfig(raw, source);
    });
  });
}
