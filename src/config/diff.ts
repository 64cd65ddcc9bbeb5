/**
 * Field-by-field differences between two configs, for a resumed run that must continue with
 * the config it started with: every leaf of the schema is compared and each difference is
 * named with its path and both values.
 *
 * @module
 */
import { CONFIG_FIELDS } from "./fields.ts";

/** One field whose value differs. */
export interface ConfigChange {
  /** Dotted field path (`method.rho`). */
  readonly path: string;
  /** The value in the first config. */
  readonly before: unknown;
  /** The value in the second. */
  readonly after: unknown;
}

function at(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const k of path.split(".")) {
    cur = typeof cur === "object" && cur !== null ? (cur as Record<string, unknown>)[k] : undefined;
  }
  return cur;
}

/**
 * The leaves of the config schema whose values differ between `a` and `b` (compared as JSON),
 * in schema order. Pure.
 *
 * @example
 * ```ts
 * configChanges(recorded, requested); // [{ path: "method.rho", before: 1, after: 0.5 }]
 * ```
 */
export function configChanges(a: unknown, b: unknown): ConfigChange[] {
  const out: ConfigChange[] = [];
  for (const f of CONFIG_FIELDS) {
    const before = at(a, f.path);
    const after = at(b, f.path);
    if (JSON.stringify(before) !== JSON.stringify(after)) out.push({ path: f.path, before, after });
  }
  return out;
}

/** `method.rho 1 -> 0.5, seed 42 -> 7`: the first `max` changes in one line, then a count. */
export function describeChanges(changes: readonly ConfigChange[], max = 6): string {
  const show = (v: unknown) => (v === undefined ? "(absent)" : JSON.stringify(v));
  const shown = changes.slice(0, max).map((c) => `${c.path} ${show(c.before)} -> ${show(c.after)}`);
  const more = changes.length - shown.length;
  return shown.join(", ") + (more > 0 ? ` and ${more} more` : "");
}
