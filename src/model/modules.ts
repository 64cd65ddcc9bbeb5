/**
 * The names of a decoder layer's linear modules, in a file with no tensor imports so the
 * config schema can share them.
 *
 * @module
 */

/** The linear modules of one decoder layer, by their HF short name. */
export const LINEAR_MODULES = [
  "q_proj",
  "k_proj",
  "v_proj",
  "o_proj",
  "gate_proj",
  "up_proj",
  "down_proj",
] as const;

/** A linear module's short name. */
export type LinearModule = typeof LINEAR_MODULES[number];
