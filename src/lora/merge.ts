/**
 * Folding an adapter into base weights: W' = W + scaling * B A.
 *
 * @module
 */
import { tf } from "../../backends/mod.ts";
import type { Params } from "../model/mod.ts";
import type { LoraAdapter } from "./adapter.ts";

/**
 * New params with the adapter merged in. Every tensor of the result is owned by the result
 * (untouched tensors are cheap clones), so the input and output can be disposed separately.
 * Merge several adapters by merging them one after another.
 */
export function mergeAdapter(params: Params, adapter: LoraAdapter): Params {
  return tf.tidy(() => {
    const out: Params = {};
    for (const [name, t] of Object.entries(params)) out[name] = tf.clone(t);
    for (const [path, m] of adapter.modules) {
      const key = `${path}.weight`;
      const w = out[key];
      if (!w) throw new Error(`mergeAdapter: the params have no '${key}' for the adapter`);
      const delta = tf.mul(tf.matMul(m.B, m.A), m.scaling); // [out, in]
      out[key] = tf.add(w, delta);
    }
    return out;
  });
}
