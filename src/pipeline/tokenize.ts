/**
 * The `tokenize` stage: examples to token ids once, padding per batch later. Pure: one input
 * record in, an Effect that cannot fail out (the convention of every stage).
 *
 * @module
 */
import { Effect } from "effect";
import type { Example } from "../data/mod.ts";
import { formatPrompt, formatTarget } from "../data/mod.ts";
import { padForTraining, type TextTokenizer, type TokenBatch } from "../tokenizer/mod.ts";

/** One example as token ids: prompt (with special tokens) and target (answer + EOS). */
export interface TokenizedExample {
  /** Prompt token ids, with the tokenizer's special tokens. */
  readonly prompt: readonly number[];
  /** Answer token ids followed by EOS. */
  readonly target: readonly number[];
  /** Kept so a run can say exactly what it trained on. */
  readonly provenance: Example["provenance"];
}

/** A padded training batch as plain arrays (labels mask prompt and padding with -100). */
export type LmArrays = TokenBatch & { readonly labels: number[][] };

/** The input of the {@link tokenize} stage. */
export interface TokenizeInput {
  /** The model's tokenizer. */
  readonly tokenizer: TextTokenizer;
  /** The examples to encode. */
  readonly examples: readonly Example[];
}

/**
 * The `tokenize` stage: examples with the Alpaca template, the prompt with the tokenizer's
 * special tokens, the target followed by EOS. Prompt and target are encoded separately so the
 * boundary the loss mask uses never moves.
 *
 * @example
 * ```ts
 * const items = yield* tokenize({ tokenizer, examples });
 * const batch = collate(items.slice(0, 8), tokenizer.padId, 128);
 * ```
 */
export function tokenize(input: TokenizeInput): Effect.Effect<TokenizedExample[]> {
  return Effect.sync(() => {
    const tok = input.tokenizer;
    return input.examples.map((e) => ({
      prompt: tok.encode(formatPrompt(e), { addSpecialTokens: true }),
      target: [...tok.encode(formatTarget(e)), tok.eosId],
      provenance: e.provenance,
    }));
  });
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
