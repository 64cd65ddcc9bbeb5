/**
 * The experiment config: schema with documented defaults, loading and flag overrides.
 *
 * @module
 */
export * from "./schema.ts";
export * from "./errors.ts";
export * from "./fields.ts";
export * from "./load.ts";
export * from "./presets.ts";
export * from "./diff.ts";
