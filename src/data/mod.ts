/**
 * The data stage: loaders for the real datasets (streams, validated with Effect Schema), the
 * Alpaca prompt templates and task formats, optional chat templates, harmful-data mixing,
 * checked train/evaluation splits, and a seeded RNG.
 *
 * @module
 */
export * from "./types.ts";
export * from "./errors.ts";
export * from "./rng.ts";
export * from "./templates.ts";
export * from "./chat.ts";
export { decodeRecord, type Place } from "./validate.ts";
export {
  AGNEWS_CSV_COLUMNS,
  AgNewsCsvSchema,
  AgNewsHfSchema,
  AlpacaSchema,
  DecodingTrustSchema,
  type Format,
  formatFromKeys,
  FORMATS,
  Gsm8kSchema,
  type MapOptions,
  SafetyRecordSchema,
  Sst2Schema,
  toExample,
} from "./formats.ts";
export {
  type Container,
  containerOf,
  type SourceOptions,
  type SourceRow,
  sourceRows,
} from "./sources.ts";
export {
  loadAll,
  type LoadAllOptions,
  loadAllPromise,
  type Loaded,
  loadExamples,
  type LoadOptions,
} from "./load.ts";
export {
  decodeUtf8,
  emptyUtf8Tally,
  firstInvalidUtf8,
  type Line,
  type LineOptions,
  readLines,
  type Utf8Tally,
} from "./lines.ts";
export * from "./mix.ts";
export * from "./split.ts";
