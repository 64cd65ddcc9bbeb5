/**
 * The config's leaves as a flat list (path, default, description), read from the schema's
 * annotations: the source of `--help` and of flag parsing.
 *
 * @module
 */
import type { SchemaAST } from "effect";
import { DEFAULT_CONFIG, ExperimentConfig } from "./schema.ts";

/** One leaf field of the config. */
export interface FieldDoc {
  /** Dotted path, e.g. `method.rho`. */
  readonly path: string;
  /** The value in {@link DEFAULT_CONFIG}. */
  readonly defaultValue: unknown;
  /** The schema annotation's description. */
  readonly description: string;
  /** Allowed literal values, for enumerations. */
  readonly choices: readonly string[];
}

type Ast = SchemaAST.AST & {
  readonly propertySignatures?: ReadonlyArray<{ name: PropertyKey; type: Ast }>;
  readonly types?: ReadonlyArray<Ast>;
  readonly literal?: unknown;
  readonly checks?: ReadonlyArray<{ annotations?: { description?: string } }>;
  readonly annotations?: { description?: string };
};

function description(ast: Ast): string {
  const own = ast.annotations?.description;
  if (own) return own;
  for (const c of [...(ast.checks ?? [])].reverse()) {
    if (c.annotations?.description) return c.annotations.description;
  }
  return "";
}

function choices(ast: Ast): string[] {
  if (ast._tag === "Union" && ast.types) {
    return ast.types.flatMap((t) => (t._tag === "Literal" ? [String(t.literal)] : []));
  }
  return [];
}

function lookup(obj: unknown, path: string[]): unknown {
  let cur = obj;
  for (const k of path) cur = (cur as Record<string, unknown>)[k];
  return cur;
}

function walk(ast: Ast, prefix: string[], out: FieldDoc[]): void {
  if (ast._tag === "Objects" && ast.propertySignatures && ast.propertySignatures.length > 0) {
    for (const p of ast.propertySignatures) walk(p.type, [...prefix, String(p.name)], out);
    return;
  }
  out.push({
    path: prefix.join("."),
    defaultValue: lookup(DEFAULT_CONFIG, prefix),
    description: description(ast),
    choices: choices(ast),
  });
}

/** Every leaf of the config schema, in declaration order. */
export const CONFIG_FIELDS: readonly FieldDoc[] = (() => {
  const out: FieldDoc[] = [];
  walk(ExperimentConfig.ast as Ast, [], out);
  return out;
})();
