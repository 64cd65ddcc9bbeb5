/**
 * Batched decoding: greedy or sampled (temperature, top-p, seed) with a KV cache, left-padded
 * prompts, stopping at EOS or a token budget. Choices are made in JavaScript on the last
 * position's logits, so a seed gives the same samples on every backend (up to float
 * differences in the logits).
 *
 * @module
 */
import { faultPoint } from "../io/fault.ts";
import { tf } from "../../backends/mod.ts";
import {
  createKvCache,
  disposeKvCache,
  forward,
  type LinearAdapter,
  type ModelConfig,
  type Params,
  seededRandom,
} from "../model/mod.ts";
import { type TextTokenizer, tokenizeForGeneration } from "../tokenizer/mod.ts";

/** Options of {@link generate}. */
export interface GenerateOptions {
  /** Budget of new tokens per row. */
  readonly maxNewTokens: number;
  /** A row stops when it emits one of these. */
  readonly eosIds: readonly number[];
  /** Fed for rows that already stopped. */
  readonly padId: number;
  /** 0 (default) = greedy; otherwise logits are divided by it before sampling. */
  readonly temperature?: number;
  /** Nucleus sampling: keep the smallest set of tokens whose probability reaches topP. Default 1. */
  readonly topP?: number;
  /** Seed of the sampler. Default 0. */
  readonly seed?: number;
  /** Use the KV cache (default true); false recomputes the whole sequence each step. */
  readonly useCache?: boolean;
  /** Adapters applied during generation (e.g. a fine-tuning LoRA). */
  readonly adapters?: readonly LinearAdapter[];
}

/** Index of the largest value in row `r` of a [B, V] buffer. */
function argmax(v: ArrayLike<number>, r: number, n: number): number {
  let best = 0;
  let bestV = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = v[r * n + i]!;
    if (x > bestV) {
      bestV = x;
      best = i;
    }
  }
  return best;
}

/** Sample from row `r` with temperature and top-p. */
function sample(
  v: ArrayLike<number>,
  r: number,
  n: number,
  temperature: number,
  topP: number,
  rand: () => number,
): number {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, v[r * n + i]!);
  const probs: { id: number; p: number }[] = [];
  let z = 0;
  for (let i = 0; i < n; i++) {
    const p = Math.exp((v[r * n + i]! - max) / temperature);
    probs.push({ id: i, p });
    z += p;
  }
  probs.sort((a, b) => b.p - a.p || a.id - b.id);
  let kept = 0;
  let mass = 0;
  while (kept < probs.length && (kept === 0 || mass < topP * z)) mass += probs[kept++]!.p;
  let u = rand() * mass;
  for (let i = 0; i < kept; i++) {
    u -= probs[i]!.p;
    if (u <= 0) return probs[i]!.id;
  }
  return probs[kept - 1]!.id;
}

/**
 * Generate continuations of left-padded prompts. Returns each row's new tokens, without the
 * stopping EOS.
 *
 * @param batch inputIds and attentionMask [B, T] (left padded, e.g. from `padForGeneration`)
 */
export async function generate(
  c: ModelConfig,
  p: Params,
  batch: {
    readonly inputIds: readonly (readonly number[])[];
    readonly attentionMask: readonly (readonly number[])[];
  },
  opts: GenerateOptions,
): Promise<number[][]> {
  const b = batch.inputIds.length;
  const seqs = batch.inputIds.map((r) => [...r]);
  const mask = batch.attentionMask.map((r) => [...r]);
  const out: number[][] = seqs.map(() => []);
  const done = seqs.map(() => false);
  const temperature = opts.temperature ?? 0;
  const topP = opts.topP ?? 1;
  const rand = seededRandom(opts.seed ?? 0);
  const capacity = (batch.inputIds[0]?.length ?? 0) + opts.maxNewTokens;
  const cache = opts.useCache === false ? undefined : createKvCache(c, capacity);
  const fwdOpts = opts.adapters ? { adapters: opts.adapters } : {};
  try {
    for (let step = 0; step < opts.maxNewTokens && done.some((d) => !d); step++) {
      const feed = cache && step > 0 ? seqs.map((s) => [s[s.length - 1]!]) : seqs;
      const logits = tf.tidy(() => {
        const t = feed[0]!.length;
        const flat = new Int32Array(b * t);
        feed.forEach((row, r) => flat.set(row, r * t));
        const ids = tf.tensor2d(flat, [b, t], "int32"); // [B, T]
        const l = forward(c, p, ids, {
          ...fwdOpts,
          hostMask: mask,
          lastOnly: true,
          ...(cache ? { cache } : {}),
        }); // [B, 1, V]
        return tf.reshape(l, [b, c.vocabSize]); // [B, V]
      });
      const v = await logits.data();
      logits.dispose();
      for (let r = 0; r < b; r++) {
        let tok = opts.padId;
        if (!done[r]) {
          tok = temperature > 0
            ? sample(v, r, c.vocabSize, temperature, topP, rand)
            : argmax(v, r, c.vocabSize);
          if (opts.eosIds.includes(tok)) done[r] = true;
          else out[r]!.push(tok);
        }
        seqs[r]!.push(tok);
        mask[r]!.push(1);
      }
    }
  } finally {
    if (cache) disposeKvCache(cache);
  }
  faultPoint("generate-batch");
  return out;
}

/** Options of {@link generateText}. */
export interface GenerateTextOptions extends Partial<Omit<GenerateOptions, "eosIds" | "padId">> {
  /** Prompts longer than this keep their last tokens. Default: the model's max positions. */
  readonly maxPromptLength?: number;
  /** Told how many new tokens the batch produced (for throughput), before decoding. */
  readonly onTokens?: (newTokens: number) => void;
}

/**
 * Tokenize prompts, generate, and decode the new tokens (greedy by default, up to 64 tokens).
 *
 * @example
 * ```ts
 * const [answer] = await generateText(config, params, tok, ["### Response:"], { maxNewTokens: 16 });
 * ```
 */
export async function generateText(
  c: ModelConfig,
  p: Params,
  tok: TextTokenizer,
  prompts: readonly string[],
  opts: GenerateTextOptions = {},
): Promise<string[]> {
  const batch = tokenizeForGeneration(
    tok,
    prompts,
    opts.maxPromptLength ?? c.maxPositionEmbeddings,
  );
  const eosIds = [...new Set([tok.eosId, ...c.eosTokenIds])];
  const ids = await generate(c, p, batch, {
    ...opts,
    maxNewTokens: opts.maxNewTokens ?? 64,
    eosIds,
    padId: tok.padId,
  });
  opts.onTokens?.(ids.reduce((n, r) => n + r.length, 0));
  return ids.map((r) => tok.decode(r));
}
