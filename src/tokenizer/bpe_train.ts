/**
 * A small deterministic byte-level BPE trainer. The result is a Hugging Face `tokenizer.json`
 * object (ByteLevel pre-tokenizer and decoder, BPE model) that any tokenizer.json loader
 * reads; byte-level coverage means every string encodes and decodes back exactly.
 *
 * @module
 */

/** Options of {@link trainBpeTokenizer}. */
export interface BpeTrainOptions {
  /** Total vocabulary size: special tokens + 256 bytes + merges. */
  readonly vocabSize: number;
  /** Special tokens, given ids 0.. in order (e.g. `["<pad>", "<s>", "</s>"]`). */
  readonly specialTokens: readonly string[];
  /** Pairs seen fewer times than this are not merged. Default 2. */
  readonly minFrequency?: number;
}

/** GPT-2's reversible map from bytes to printable characters. */
export function bytesToUnicode(): string[] {
  const table: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    table[b] = String.fromCodePoint(printable ? b : 256 + extra++);
  }
  return table;
}

/** GPT-2's pre-tokenization pattern (contractions, letters, digits, other, spaces). */
export const BYTE_LEVEL_PATTERN =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/**
 * Train byte-level BPE merges on `corpus`. Ties between equally frequent pairs are broken by
 * the pair's text, so the same corpus always gives the same tokenizer.
 *
 * @example
 * ```ts
 * const json = trainBpeTokenizer(["hello world", "hello there"], {
 *   vocabSize: 300, specialTokens: ["<pad>", "<s>", "</s>"] });
 * const tok = tokenizerFromJson(json, { bos_token: "<s>", eos_token: "</s>", pad_token: "<pad>" });
 * ```
 */
export function trainBpeTokenizer(
  corpus: readonly string[],
  opts: BpeTrainOptions,
): Record<string, unknown> {
  const byteChars = bytesToUnicode();
  const enc = new TextEncoder();
  const minFreq = opts.minFrequency ?? 2;
  const vocab: Record<string, number> = {};
  let next = 0;
  for (const s of opts.specialTokens) vocab[s] = next++;
  for (const ch of [...byteChars].sort()) if (!(ch in vocab)) vocab[ch] = next++;
  // word counts of the pre-tokenized, byte-mapped corpus
  const counts = new Map<string, number>();
  for (const text of corpus) {
    for (const m of text.matchAll(BYTE_LEVEL_PATTERN)) {
      const w = [...enc.encode(m[0])].map((b) => byteChars[b]!).join("");
      counts.set(w, (counts.get(w) ?? 0) + 1);
    }
  }
  const words = [...counts.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map((
    [w, n],
  ) => ({ parts: [...w], n }));
  const merges: [string, string][] = [];
  while (next < opts.vocabSize) {
    const pairs = new Map<string, number>();
    for (const { parts, n } of words) {
      for (let i = 0; i + 1 < parts.length; i++) {
        const key = `${parts[i]}\u0000${parts[i + 1]}`;
        pairs.set(key, (pairs.get(key) ?? 0) + n);
      }
    }
    let best: string | null = null;
    let bestN = 0;
    for (const [k, n] of pairs) {
      if (n > bestN || (n === bestN && best !== null && k < best)) {
        best = k;
        bestN = n;
      }
    }
    if (best === null || bestN < minFreq) break;
    const [a, b] = best.split("\u0000") as [string, string];
    const merged = a + b;
    merges.push([a, b]);
    if (!(merged in vocab)) vocab[merged] = next++;
    for (const w of words) {
      const out: string[] = [];
      for (let i = 0; i < w.parts.length; i++) {
        if (i + 1 < w.parts.length && w.parts[i] === a && w.parts[i + 1] === b) {
          out.push(merged);
          i++;
        } else out.push(w.parts[i]!);
      }
      w.parts = out;
    }
  }
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: opts.specialTokens.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: {
      type: "ByteLevel",
      add_prefix_space: false,
      trim_offsets: true,
      use_regex: true,
    },
    post_processor: null,
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}
