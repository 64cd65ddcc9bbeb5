/**
 * The shipped embedded assets and the recipe that builds them: a byte-level BPE tokenizer, a
 * small Llama base model that follows the Alpaca template and is not safety aligned, and the
 * embedded moderation judge, all from fixed seeds (`deno task build-assets`).
 *
 * @example
 * ```ts
 * import { embeddedAssetPaths, verifyChecksums } from "./src/assets/mod.ts";
 * const paths = embeddedAssetPaths(); // { base: "assets/embedded/base", judge: ..., ... }
 * console.log(await verifyChecksums("assets/embedded")); // [] when intact
 * ```
 *
 * @module
 */
export * from "./recipe.ts";
export * from "./data.ts";
export * from "./tokenizer.ts";
export * from "./pretrain.ts";
export * from "./judge.ts";
export * from "./check.ts";
export * from "./checksums.ts";
export * from "./build.ts";
export * from "./judge_only.ts";
export * from "./load.ts";
