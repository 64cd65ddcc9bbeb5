/**
 * Vaccine (alignment stage): two passes per step. Pass 1 runs the alignment loss and reads
 * the gradient `g_l` of every layer's output; the perturbation is
 * `e_l = rho * g_l / ||g||`, with the norm taken over all layers together. Pass 2 adds `e_l` to
 * each layer's output through the hidden hook and its gradient trains the weights.
 *
 * Shapes: B batch, T time, C channels.
 *
 * @module
 */
import { tf } from "../../../backends/mod.ts";
import type { HiddenHook } from "../problem.ts";
import { nonNegative } from "./_validate.ts";
import { type Method, type MethodContext, type Objective, singleState } from "./types.ts";

/** Vaccine's knob. */
export interface VaccineOptions {
  /** Perturbation intensity (default 2, the Vaccine README's example). */
  readonly rho?: number;
}

/** Pass 1: the gradient of the loss with respect to each layer's output (kept tensors). */
export function hiddenGradients(
  lossWith: (hook: HiddenHook) => tf.Scalar,
  vars: tf.Variable[],
): tf.Tensor[] {
  const grads: tf.Tensor[] = [];
  const hook: HiddenHook = (layer, h) => {
    const tap = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => ({
      value: tf.clone(inputs[0] as tf.Tensor),
      gradFunc: (dy: tf.Tensor) => {
        grads[layer]?.dispose();
        grads[layer] = tf.keep(tf.clone(dy)); // [B, T, C]
        return dy;
      },
    }));
    return tap(h);
  };
  tf.tidy(() => {
    const { value, grads: g } = tf.variableGrads(() => lossWith(hook), vars);
    value.dispose();
    tf.dispose(Object.values(g));
  });
  return grads;
}

/** `rho * g_l / ||g||_global` for every layer (tensors owned by the caller). */
export function vaccinePerturbation(grads: tf.Tensor[], rho: number): tf.Tensor[] {
  return tf.tidy(() => {
    const present = grads.filter((g): g is tf.Tensor => g !== undefined);
    const norm = present.length ? tf.sqrt(tf.addN(present.map((g) => tf.sum(tf.square(g))))) : null;
    return grads.map((
      g,
    ) => (g && norm ? tf.div(tf.mul(g, rho), tf.add(norm, 1e-7)) : tf.scalar(0)));
  });
}

/** Vaccine. Throws `TrainOptionInvalid` for a negative rho. */
export function vaccine(options: VaccineOptions = {}): Method {
  const rho = nonNegative("vaccine.rho", options.rho ?? 2);
  return {
    ...singleState("vaccine", "alignment", true),
    objective<B>(ctx: MethodContext<B>): () => Objective {
      const { problem, batch } = ctx;
      const vars = Object.values(problem.trainable);
      const g = hiddenGradients((hook) => problem.loss(batch, { hiddenHook: hook }), vars);
      const e = vaccinePerturbation(g, rho); // disposed by the step's tidy
      tf.dispose(g.filter((t) => t !== undefined));
      const hook: HiddenHook = (layer, h) => {
        const el = e[layer];
        return el ? tf.add(h, el) : h; // [B, T, C]
      };
      return () => ({ loss: problem.loss(batch, { hiddenHook: hook }) });
    },
  };
}
