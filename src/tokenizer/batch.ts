/**
 * Batching token sequences: right padding with label masking for training, left padding for
 * generation, truncation to a maximum length. Pure functions over number arrays, plus one
 * conversion to tensors.
 *
 * @module
 */
import { tf } from "../../backends/mod.ts";
import type { TextTokenizer } from "./tokenizer.ts";

/** The label that excludes a position from the loss. */
export const IGNORE_LABEL: number = -100;

/** A batch as plain arrays, every row the same length. */
export interface TokenBatch {
  /** Token ids `[B, T]`. */
  readonly inputIds: number[][];
  /** 1 for a real token, 0 for padding, `[B, T]`. */
  readonly attentionMask: number[][];
  /** Present for training batches: -100 on prompt and padding positions. */
  readonly labels?: number[][];
}

/** One supervised example: the prompt (masked) and the target (learned). */
export interface PromptTarget {
  /** The prompt text. */
  readonly prompt: string;
  /** The answer text. */
  readonly target: string;
}

/**
 * Right-padded training rows from token sequences: `prompt` tokens are masked (-100), `target`
 * tokens are labels. Rows longer than `maxLength` are cut at the end.
 */
export function padForTraining(
  rows: readonly { prompt: readonly number[]; target: readonly number[] }[],
  padId: number,
  maxLength: number,
): TokenBatch & { labels: number[][] } {
  const seqs = rows.map(({ prompt, target }) => {
    const ids = [...prompt, ...target].slice(0, maxLength);
    const labels = [...prompt.map(() => IGNORE_LABEL), ...target].slice(0, maxLength);
    return { ids, labels };
  });
  const width = Math.max(1, ...seqs.map((s) => s.ids.length));
  const fill = (n: number, v: number) => Array.from({ length: n }, () => v);
  return {
    inputIds: seqs.map((s) => [...s.ids, ...fill(width - s.ids.length, padId)]),
    labels: seqs.map((s) => [...s.labels, ...fill(width - s.labels.length, IGNORE_LABEL)]),
    attentionMask: seqs.map((s) => [...fill(s.ids.length, 1), ...fill(width - s.ids.length, 0)]),
  };
}

/**
 * Left-padded rows for generation; rows longer than `maxLength` keep their last `maxLength`
 * tokens (the end of a prompt holds the response marker).
 */
export function padForGeneration(
  rows: readonly (readonly number[])[],
  padId: number,
  maxLength: number,
): TokenBatch {
  const seqs = rows.map((r) => r.slice(Math.max(0, r.length - maxLength)));
  const width = Math.max(1, ...seqs.map((s) => s.length));
  const fill = (n: number, v: number) => Array.from({ length: n }, () => v);
  return {
    inputIds: seqs.map((s) => [...fill(width - s.length, padId), ...s]),
    attentionMask: seqs.map((s) => [...fill(width - s.length, 0), ...fill(s.length, 1)]),
  };
}

/**
 * Tokenize supervised examples: prompt with the tokenizer's special tokens (e.g. BOS), target
 * followed by EOS; then {@link padForTraining}.
 */
export function tokenizeForTraining(
  tok: TextTokenizer,
  examples: readonly PromptTarget[],
  maxLength: number,
): TokenBatch & { labels: number[][] } {
  const rows = examples.map((e) => ({
    prompt: tok.encode(e.prompt, { addSpecialTokens: true }),
    target: [...tok.encode(e.target), tok.eosId],
  }));
  return padForTraining(rows, tok.padId, maxLength);
}

/** Tokenize prompts (with special tokens) and left-pad them for generation. */
export function tokenizeForGeneration(
  tok: TextTokenizer,
  prompts: readonly string[],
  maxLength: number,
): TokenBatch {
  return padForGeneration(
    prompts.map((p) => tok.encode(p, { addSpecialTokens: true })),
    tok.padId,
    maxLength,
  );
}

/** int32 tensors [B, T] of a batch (labels only when present). */
export function batchToTensors(b: TokenBatch): {
  inputIds: tf.Tensor2D;
  attentionMask: tf.Tensor2D;
  labels?: tf.Tensor2D;
} {
  const t = (rows: number[][]) => tf.tensor2d(rows, [rows.length, rows[0]?.length ?? 0], "int32");
  return {
    inputIds: t(b.inputIds),
    attentionMask: t(b.attentionMask),
    ...(b.labels ? { labels: t(b.labels) } : {}),
  };
}
