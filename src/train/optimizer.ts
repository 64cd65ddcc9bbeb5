/**
 * AdamW (decoupled weight decay, bias-corrected moments; PyTorch's update) over a record of
 * variables, plus global-norm gradient clipping. One instance is shared by both Lisa states,
 * so the moments carry across switches. Its state (step and moments) is plain data for
 * checkpoints.
 *
 * @module
 */
import { tf } from "../../backends/mod.ts";

/** AdamW hyper-parameters; defaults are PyTorch's / Hugging Face's. */
export interface AdamWOptions {
  /** First-moment decay (default 0.9). */
  readonly beta1?: number;
  /** Second-moment decay (default 0.999). */
  readonly beta2?: number;
  /** Denominator epsilon (default 1e-8). */
  readonly eps?: number;
  /** Decoupled weight decay (default 0): `w -= lr * weightDecay * w` before the Adam step. */
  readonly weightDecay?: number;
}

/** The optimizer's state: steps taken and the two moments per parameter (kept tensors). */
export interface AdamWState {
  /** Optimizer steps applied so far. */
  readonly step: number;
  /** First moments by parameter name. */
  readonly m: Record<string, tf.Tensor>;
  /** Second moments by parameter name. */
  readonly v: Record<string, tf.Tensor>;
}

/** An AdamW optimizer bound to a record of variables. */
export interface AdamW {
  /**
   * Apply one update with learning rate `lr`; `grads` are not disposed. With `only`, the
   * parameters outside it are frozen for this step: untouched, no decay, moments kept.
   */
  apply(grads: Record<string, tf.Tensor>, lr: number, only?: ReadonlySet<string>): void;
  /** The current state (tensors owned by the optimizer; clone to keep past `setState`). */
  state(): AdamWState;
  /** Replace the state (takes ownership of the tensors passed in). */
  setState(s: AdamWState): void;
  /** Free the moments. */
  dispose(): void;
}

/**
 * An AdamW over `trainable`, with zero moments.
 *
 * @example
 * ```ts
 * const opt = createAdamW(problem.trainable, { weightDecay: 0.1 });
 * tf.tidy(() => opt.apply(grads, 1e-3));
 * ```
 */
export function createAdamW(
  trainable: Record<string, tf.Variable>,
  options: AdamWOptions = {},
): AdamW {
  const beta1 = options.beta1 ?? 0.9;
  const beta2 = options.beta2 ?? 0.999;
  const eps = options.eps ?? 1e-8;
  const weightDecay = options.weightDecay ?? 0;
  const zeros = () =>
    Object.fromEntries(
      Object.entries(trainable).map(([k, w]) => [k, tf.keep(tf.zerosLike(w))]),
    );
  let st: AdamWState = { step: 0, m: zeros(), v: zeros() };
  const free = (s: AdamWState) => {
    for (const t of [...Object.values(s.m), ...Object.values(s.v)]) t.dispose();
  };
  return {
    apply(grads, lr, only) {
      const t = st.step + 1;
      const bc1 = 1 - beta1 ** t;
      const bc2 = 1 - beta2 ** t;
      const m: Record<string, tf.Tensor> = {};
      const v: Record<string, tf.Tensor> = {};
      for (const [name, w] of Object.entries(trainable)) {
        const g = grads[name];
        const m0 = st.m[name]!;
        const v0 = st.v[name]!;
        if (only && !only.has(name)) { // frozen this step (PyTorch: requires_grad = False)
          m[name] = m0;
          v[name] = v0;
          continue;
        }
        if (!g) { // a parameter the loss does not touch keeps its moments and only decays
          m[name] = m0;
          v[name] = v0;
          if (weightDecay > 0) tf.tidy(() => w.assign(tf.mul(w, 1 - lr * weightDecay)));
          continue;
        }
        const [m1, v1] = tf.tidy(() => {
          const m1 = tf.add(tf.mul(m0, beta1), tf.mul(g, 1 - beta1));
          const v1 = tf.add(tf.mul(v0, beta2), tf.mul(tf.square(g), 1 - beta2));
          const decayed = weightDecay > 0 ? tf.mul(w, 1 - lr * weightDecay) : w;
          // PyTorch form: w -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)
          const denom = tf.add(tf.div(tf.sqrt(v1), Math.sqrt(bc2)), eps);
          const update = tf.mul(tf.div(m1, denom), lr / bc1);
          w.assign(tf.sub(decayed, update));
          return [tf.keep(m1), tf.keep(v1)];
        });
        m0.dispose();
        v0.dispose();
        m[name] = m1!;
        v[name] = v1!;
      }
      st = { step: t, m, v };
    },
    state: () => st,
    setState(s) {
      if (s !== st) free(st);
      st = s;
    },
    dispose: () => free(st),
  };
}

/** `sqrt(sum ||g||^2)` over a record of gradients (0 for an empty record); inside `tf.tidy`. */
export function globalNorm(grads: Record<string, tf.Tensor>): tf.Scalar {
  const parts = Object.values(grads).map((g) => tf.sum(tf.square(g)));
  return (parts.length ? tf.sqrt(tf.addN(parts)) : tf.scalar(0)) as tf.Scalar;
}

/**
 * Scale `grads` so their global L2 norm is at most `maxNorm` (PyTorch's `clip_grad_norm_`:
 * coefficient `maxNorm / (norm + 1e-6)`, capped at 1). Returns the clipped gradients and the
 * norm before clipping. Call inside `tf.tidy`.
 */
export function clipByGlobalNorm(
  grads: Record<string, tf.Tensor>,
  maxNorm: number,
): { grads: Record<string, tf.Tensor>; norm: tf.Scalar } {
  const norm = globalNorm(grads);
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) return { grads, norm };
  const coef = tf.minimum(1, tf.div(maxNorm, tf.add(norm, 1e-6)));
  const out: Record<string, tf.Tensor> = {};
  for (const [k, g] of Object.entries(grads)) out[k] = tf.mul(g, coef);
  return { grads: out, norm };
}
