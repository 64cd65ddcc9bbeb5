/**
 * The `tokenize` stage: examples to token ids once, padding per batch later. Pure.
 *
 * @module
 */
import type { Example } from "../data/mod.ts";
import { formatPrompt, formatTarget } from "../data/mod.ts";
import { padForTraining, type TextTokenizer, type TokenBatch } from "../tokenizer/mod.ts";

/** One example as token ids: prompt (with special tokens) and target (answer + EOS). */
export interface TokenizedExample {
  readonly prompt: readonly number[];
  readonly target: readonly number[];
  /** Kept so a run can say exactly what it trained on. */
  readonly provenance: Example["provenance"];
}

/** A padded training batch as plain arrays (labels mask prompt and padding with -100). */
export type LmArrays = TokenBatch & { readonly labels: number[][] };

/**
 * Tokenize examples with the Alpaca template: the prompt with the tokenizer's special tokens,
 * the target followed by EOS. Prompt and target are encoded separately so the boundary the
 * loss mask uses never moves.
 */
export function tokenize(tok: TextTokenizer, examples: readonly Example[]): TokenizedExample[] {
  return examples.map((e) => ({
    prompt: tok.encode(formatPrompt(e), { addSpecialTokens: true }),
    target: [...tok.encode(formatTarget(e)), tok.eosId],
    provenance: e.provenance,
  }));
}

/** Collate tokenized examples into a right-padded, label-masked batch of `maxLength` at most. */
export function collate(
  items: readonly TokenizedExample[],
  padId: number,
  maxLength: number,
): LmArrays {
  return padForTraining(items, padId, maxLength);
}

/** Tokens that count as work in a batch (non-padding positions). */
export function batchTokens(b: LmArrays): number {
  let n = 0;
  for (const row of b.attentionMask) for (const m of row) n += m;
  return n;
}
