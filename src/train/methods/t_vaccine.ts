/**
 * T-Vaccine (alignment stage). Liu et al., "Targeted Vaccine: Safety Alignment for Large
 * Language Models against Harmful Fine-Tuning via Layer-wise Perturbation" (arXiv 2410.09760);
 * the authors' code is Lslland/T-Vaccine (`script/alignment/T-Vaccine.sh`).
 *
 * Vaccine's perturbation applied only to safety-critical layers, which alone are trained:
 * - every `refresh` steps (K, reference 200), the gradient of the loss on a harmful batch
 *   with respect to each layer's output gives each layer a weight, its norm over the sum of
 *   the norms;
 * - every `resample` steps (J, reference 20), `layers` layers (S, reference 8 of Llama2-7B's
 *   32) are drawn without replacement with those weights, from a seeded stream;
 * - each step is Vaccine's two passes on the alignment batch with the perturbation
 *   `rho * g_l / ||g||` (reference rho 3) added to the chosen layers' outputs only, the norm
 *   taken over the chosen layers, and only the chosen layers' parameters are updated (the
 *   others are frozen for the step: no gradient, no weight decay).
 *
 * The weights and the chosen layers are checkpointed, so a resumed run continues exactly.
 * Differences from the reference: the perturbation sits on each decoder layer's output (as
 * our Vaccine) rather than on the attention output; the harmful batch has the alignment
 * stage's batch size (the reference draws one sample); AdamW's bias correction counts the
 * optimizer's steps, not each parameter's own.
 *
 * @module
 */
import { Effect } from "effect";
import { Backend, tf } from "../../../backends/mod.ts";
import { deriveSeed, seededRandom } from "../../data/rng.ts";
import type { HiddenHook } from "../problem.ts";
import { count, nonNegative } from "./_validate.ts";
import { TrainOptionInvalid } from "../errors.ts";
import { type Method, type MethodContext, type Objective, singleState } from "./types.ts";
import { hiddenGradients, vaccinePerturbation } from "./vaccine.ts";

/** T-Vaccine's knobs, with the reference defaults. */
export interface TVaccineOptions {
  /** Perturbation intensity rho (default 3). */
  readonly rho?: number;
  /** Layers chosen and trained at a time, S (default 8). */
  readonly layers?: number;
  /** Steps between draws of the chosen layers, J (default 20). */
  readonly resample?: number;
  /** Steps between recomputations of the layer weights, K (default 200). */
  readonly refresh?: number;
  /** Seed of the layer draws (default 0). */
  readonly seed?: number;
}

/** The reference defaults (Lslland/T-Vaccine `T-Vaccine.sh`). */
export const T_VACCINE_DEFAULTS = { rho: 3, layers: 8, resample: 20, refresh: 200 } as const;

/** The decoder layer a parameter belongs to (`...layers.3....`), or null for none. */
export function layerOf(name: string): number | null {
  const m = /(?:^|\.)layers\.(\d+)\./.exec(name);
  return m ? Number(m[1]) : null;
}

/**
 * `k` distinct indices drawn without replacement, each draw with probability proportional to
 * the remaining weights (uniform when they are all 0), from `rand`; ascending.
 */
export function drawLayers(weights: readonly number[], k: number, rand: () => number): number[] {
  const left = weights.map((w, i) => ({ w: Number.isFinite(w) && w > 0 ? w : 0, i }));
  const out: number[] = [];
  while (out.length < k && left.length > 0) {
    const total = left.reduce((s, x) => s + x.w, 0);
    let at = 0;
    if (total > 0) {
      let u = rand() * total;
      while (at < left.length - 1 && u >= left[at]!.w) u -= left[at++]!.w;
    } else {
      at = Math.floor(rand() * left.length);
    }
    out.push(left[at]!.i);
    left.splice(at, 1);
  }
  return out.sort((a, b) => a - b);
}

/** T-Vaccine. Throws `TrainOptionInvalid` for a negative rho or a non-positive S, J or K. */
export function tVaccine(options: TVaccineOptions = {}): Method {
  const rho = nonNegative("t-vaccine.rho", options.rho ?? T_VACCINE_DEFAULTS.rho);
  const k = count("t-vaccine.layers", options.layers ?? T_VACCINE_DEFAULTS.layers);
  const every = count("t-vaccine.resample", options.resample ?? T_VACCINE_DEFAULTS.resample);
  const refresh = count("t-vaccine.refresh", options.refresh ?? T_VACCINE_DEFAULTS.refresh);
  for (const [field, v] of [["layers", k], ["resample", every], ["refresh", refresh]] as const) {
    if (v < 1) {
      throw new TrainOptionInvalid({
        field: `t-vaccine.${field}`,
        expected: "an integer >= 1",
        found: v,
      });
    }
  }
  const seed = options.seed ?? 0;
  let weights: number[] | null = null;
  let chosen: number[] | null = null;
  // The same state as tensors, owned here: what a checkpoint writes. After a restore they are
  // the only copy until the next step reads them back.
  let held: { weights: tf.Tensor; chosen: tf.Tensor } | null = null;
  let unread = false;
  let activeNames: string[] | null = null;
  const hold = () => {
    if (held) tf.dispose([held.weights, held.chosen]);
    held = { weights: tf.keep(tf.tensor1d(weights!)), chosen: tf.keep(tf.tensor1d(chosen!)) };
  };
  const release = () => {
    if (held) tf.dispose([held.weights, held.chosen]);
    held = null;
    unread = false;
  };
  return {
    ...singleState("t-vaccine", "alignment", true),
    harmfulBatchAt: (step) => step % refresh === 0 || (weights === null && !unread),
    beforeStep<B>(ctx: MethodContext<B>): Effect.Effect<void, never, Backend> {
      return Effect.gen(function* () {
        const { tf } = yield* Backend;
        const { problem, step } = ctx;
        if (unread && held) {
          const h = held;
          // A failed download is a backend defect.
          const [w, c] = yield* Effect.promise(() =>
            Promise.all([h.weights.data(), h.chosen.data()])
          );
          weights = Array.from(w);
          chosen = Array.from(c);
          unread = false;
        }
        let changed = false;
        if (step % refresh === 0 || weights === null) {
          const harmful = ctx.harmfulBatch;
          if (harmful === undefined) {
            return yield* Effect.die(new Error("t-vaccine: the step has no harmful batch"));
          }
          const vars = Object.values(problem.trainable);
          const g = hiddenGradients((hook) => problem.loss(harmful, { hiddenHook: hook }), vars);
          const norms = tf.tidy(() =>
            tf.stack(g.map((t) => (t ? tf.sqrt(tf.sum(tf.square(t))) : tf.scalar(0))))
          ); // [L]
          tf.dispose(g.filter((t) => t !== undefined));
          const values = yield* Effect.promise(() => norms.data() as Promise<Float32Array>).pipe(
            Effect.ensuring(Effect.sync(() => norms.dispose())),
          );
          const total = values.reduce((s, v) => s + v, 0);
          weights = Array.from(values, (v) => (total > 0 ? v / total : 1 / values.length));
          changed = true;
        }
        if (step % every === 0 || chosen === null) {
          const rand = seededRandom(deriveSeed(seed, `t-vaccine:${step}`));
          chosen = drawLayers(weights, Math.min(k, weights.length), rand);
          changed = true;
        }
        if (changed) hold();
      });
    },
    activeParameters: () => activeNames,
    objective<B>(ctx: MethodContext<B>): () => Objective {
      const { problem, batch } = ctx;
      if (chosen === null) throw new Error("t-vaccine: beforeStep() must run before the step");
      const on = new Set(chosen);
      activeNames = Object.keys(problem.trainable).filter((n) => {
        const l = layerOf(n);
        return l === null || on.has(l);
      });
      const vars = activeNames.map((n) => problem.trainable[n]!);
      const g = hiddenGradients((hook) => problem.loss(batch, { hiddenHook: hook }), vars);
      // Only the chosen layers are perturbed; the norm is theirs alone.
      const picked = g.map((t, l) => (on.has(l) ? t : undefined)) as tf.Tensor[];
      const e = vaccinePerturbation(picked, rho); // disposed by the step's tidy
      tf.dispose(g.filter((t) => t !== undefined));
      const hook: HiddenHook = (layer, h) => {
        const el = e[layer];
        return el && on.has(layer) ? tf.add(h, el) : h; // [B, T, C]
      };
      return () => ({ loss: problem.loss(batch, { hiddenHook: hook }) });
    },
    tensors() {
      return held ? { weights: held.weights, chosen: held.chosen } : {};
    },
    restore(tensors) {
      release();
      const { weights: w, chosen: c, ...rest } = tensors;
      tf.dispose(Object.values(rest));
      if (w && c) {
        held = { weights: w, chosen: c };
        unread = true;
      } else tf.dispose([w, c].filter((t): t is tf.Tensor => t !== undefined));
    },
    dispose: release,
  };
}
