/**
 * Hashed word features for the moderation classifier: lower-cased word unigrams and bigrams,
 * hashed (FNV-1a, 32 bit) into `dim` buckets, counted as `log(1 + count)` and L2-normalised.
 * Words on the assistant side of the moderation text are hashed in their own namespace as well,
 * because harm lives mostly in the answer while the prompt is harmful in every test item.
 *
 * The result is sparse (sorted bucket indices and their values), so a whole dataset fits in
 * memory at any `dim`; `densify` builds one batch for the MLP.
 *
 * @module
 */

/** A sparse feature vector: strictly increasing bucket indices and their values. */
export interface SparseFeatures {
  /** Bucket indices, strictly increasing, each in [0, dim). */
  readonly indices: Uint32Array;
  /** Values, same length as `indices`. */
  readonly values: Float32Array;
}

const ASSISTANT = " ASSISTANT:";

/** The lower-cased word tokens of `text` (letters, digits and inner apostrophes). */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+(?:'[\p{L}]+)?/gu) ?? [];
}

/** FNV-1a 32-bit hash of a string's UTF-16 code units. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function addGrams(counts: Map<number, number>, tokens: readonly string[], ns: string, dim: number) {
  for (let i = 0; i < tokens.length; i++) {
    const uni = fnv1a(`${ns}u:${tokens[i]}`) % dim;
    counts.set(uni, (counts.get(uni) ?? 0) + 1);
    if (i + 1 < tokens.length) {
      const bi = fnv1a(`${ns}b:${tokens[i]} ${tokens[i + 1]}`) % dim;
      counts.set(bi, (counts.get(bi) ?? 0) + 1);
    }
  }
}

/**
 * The hashed features of one moderation text (see `moderationText` in `judge.ts`).
 *
 * @example
 * ```ts
 * const f = featurize("BEGINNING OF CONVERSATION: USER: hi ASSISTANT: hello", 1024);
 * f.indices.length === f.values.length; // true
 * ```
 */
export function featurize(text: string, dim: number): SparseFeatures {
  const counts = new Map<number, number>();
  addGrams(counts, words(text), "", dim);
  const at = text.indexOf(ASSISTANT);
  if (at >= 0) addGrams(counts, words(text.slice(at + ASSISTANT.length)), "a:", dim);
  const indices = Uint32Array.from([...counts.keys()].sort((a, b) => a - b));
  const values = new Float32Array(indices.length);
  let norm = 0;
  indices.forEach((k, i) => {
    const v = Math.log1p(counts.get(k)!);
    values[i] = v;
    norm += v * v;
  });
  norm = Math.sqrt(norm);
  if (norm > 0) { for (let i = 0; i < values.length; i++) values[i] = values[i]! / norm; }
  return { indices, values };
}

/** Lay out `rows` as a dense row-major `[rows.length, dim]` matrix. */
export function densify(rows: readonly SparseFeatures[], dim: number): Float32Array {
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, b) => {
    for (let i = 0; i < r.indices.length; i++) out[b * dim + r.indices[i]!] = r.values[i]!;
  });
  return out;
}
