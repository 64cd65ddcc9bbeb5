/**
 * The additive attention bias: causal, optionally limited to a sliding window, plus key
 * padding. Positions are indices in the key sequence (cached + new, padding included), as in
 * transformers' masks.
 *
 * Legend: B batch, T new positions, S key positions (past + new).
 *
 * @module
 */
import { tf } from "../../backends/mod.ts";

/** The bias of a masked position: large enough that softmax gives it exactly zero weight. */
export const NEG = -1e9;

/**
 * Bias [B or 1, 1, T, S] for `t` new queries after `past` cached positions: query i (at key
 * position past + i) sees key j when j <= past + i and, with a `window`, j > past + i - window;
 * `mask` [B, S] (1 real, 0 padding) hides padded keys.
 */
export function attentionBias(
  t: number,
  past: number,
  mask: tf.Tensor | undefined,
  window: number | null = null,
): tf.Tensor {
  const s = past + t;
  const causal = new Float32Array(t * s);
  for (let i = 0; i < t; i++) {
    const q = past + i;
    for (let j = 0; j < s; j++) {
      if (j > q || (window !== null && j <= q - window)) causal[i * s + j] = NEG;
    }
  }
  const bias = tf.tensor4d(causal, [1, 1, t, s]); // [1, 1, T, S]
  if (!mask) return bias;
  const pad = tf.mul(tf.sub(1, tf.cast(mask, "float32")), NEG); // [B, S]
  return tf.add(bias, tf.reshape(pad, [mask.shape[0]!, 1, 1, s])); // [B, 1, T, S]
}

/**
 * The values of {@link attentionBias} computed on the host from the mask rows `[B][S]` (1 real,
 * 0 padding): `[B, 1, T, S]` as a flat array, bit for bit the same (a decoding step builds it
 * with one tensor instead of six ops).
 */
export function attentionBiasValues(
  t: number,
  past: number,
  mask: readonly (readonly number[])[],
  window: number | null = null,
): Float32Array {
  const s = past + t;
  const out = new Float32Array(mask.length * t * s);
  mask.forEach((row, b) => {
    for (let i = 0; i < t; i++) {
      const q = past + i;
      const o = (b * t + i) * s;
      for (let j = 0; j < s; j++) {
        const hidden = j > q || (window !== null && j <= q - window);
        out[o + j] = (hidden ? NEG : 0) + (row[j] ? 0 : NEG);
      }
    }
  });
  return out;
}
