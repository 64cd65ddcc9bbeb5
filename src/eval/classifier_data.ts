/**
 * The row the moderation classifier trains on: one labelled (prompt, response) pair. Labelled
 * files are read by the one reader in `labelled.ts` (JSONL, a JSON array or Parquet), whose
 * errors name the file, line, field, what was expected and what was found.
 *
 * @module
 */

/** One labelled (prompt, response) pair. */
export interface ModerationRow {
  /** The user prompt. */
  readonly prompt: string;
  /** The assistant response being judged. */
  readonly response: string;
  /** Which harm categories the response falls under. */
  readonly category: Readonly<Record<string, boolean>>;
  /** False when the response is harmful. */
  readonly isSafe: boolean;
}
