import { strict as assert } from "node:assert";
import { Effect } from "effect";
import { tf } from "../backends/mod.ts";
import {
  clipByGlobalNorm,
  createAdamW,
  proximalGate,
  proximalGateStep,
  proximalGradient,
  proximalPenalty,
  proximalTerm,
  snapshot,
  squaredDistance,
  stateAt,
} from "../src/train/mod.ts";
import { leakedTensors, testBackends, useBackend, withBackend } from "./_helpers.ts";
import { read } from "./train_toy.ts";

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `index ${i}: ${a[i]} vs ${b[i]} (tol ${tol})`);
  }
};

/** AdamW written out element by element, in the bias-corrected "hat" form. */
function adamwReference(w: number[], gs: number[][], lr: number, wd: number): number[] {
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  const m = w.map(() => 0);
  const v = w.map(() => 0);
  const out = [...w];
  gs.forEach((g, k) => {
    const t = k + 1;
    for (let i = 0; i < out.length; i++) {
      out[i] = out[i]! * (1 - lr * wd);
      m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
      v[i] = b2 * v[i]! + (1 - b2) * g[i]! * g[i]!;
      const mHat = m[i]! / (1 - b1 ** t);
      const vHat = v[i]! / (1 - b2 ** t);
      out[i] = out[i]! - lr * mHat / (Math.sqrt(vHat) + eps);
    }
  });
  return out;
}

for (const backend of await testBackends()) {
  Deno.test(`adamw: two steps match hand-computed values [${backend}]`, async () => {
    await useBackend(backend);
    const w = tf.variable(tf.tensor1d([1, -2, 0.5]));
    const opt = createAdamW({ w }, { weightDecay: 0.1 });
    const gs = [[0.5, -1, 0.01], [0.2, 0.3, -4]];
    const leaked = await leakedTensors(() => {
      for (const g of gs) tf.tidy(() => opt.apply({ w: tf.tensor1d(g) }, 0.01));
    });
    assert.equal(leaked, 0);
    close(await read(w), adamwReference([1, -2, 0.5], gs, 0.01, 0.1), 1e-6);
    assert.equal(opt.state().step, 2);
    // First step without decay moves each weight by lr * sign(g) (Adam's first step).
    const u = tf.variable(tf.tensor1d([0, 0]));
    const o2 = createAdamW({ u });
    tf.tidy(() => o2.apply({ u: tf.tensor1d([3, -0.001]) }, 0.1));
    close(await read(u), [-0.1, 0.1], 1e-5);
    opt.dispose();
    o2.dispose();
    w.dispose();
    u.dispose();
  });

  Deno.test(`clipping: global norm returned, scaled only when above [${backend}]`, async () => {
    await useBackend(backend);
    const leaked = await leakedTensors(async () => {
      const out = tf.tidy(() => {
        const g = { a: tf.tensor1d([3, 0]), b: tf.tensor1d([0, 4]) }; // norm 5
        const c = clipByGlobalNorm(g, 1);
        const d = clipByGlobalNorm(g, 10);
        return [c.norm, c.grads.a!, c.grads.b!, d.grads.b!];
      });
      close(await read(out[0]!), [5], 1e-5);
      close(await read(out[1]!), [0.6, 0], 1e-5);
      close(await read(out[2]!), [0, 0.8], 1e-5);
      close(await read(out[3]!), [0, 4], 1e-5);
      tf.dispose(out);
    });
    assert.equal(leaked, 0);
  });

  Deno.test(`proximal: value rho/2 ||w-a||^2 and gradient rho (w-a) [${backend}]`, async () => {
    await useBackend(backend);
    const w = tf.variable(tf.tensor2d([[1, 2], [3, 4]]));
    const b = tf.variable(tf.tensor1d([-1]));
    const anchors = { w: tf.tensor2d([[0, 2], [1, 1]]), b: tf.tensor1d([1]) };
    const rho = 0.5;
    const leaked = await leakedTensors(async () => {
      const out = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(
          () => proximalPenalty({ w, b }, anchors, rho),
          [w, b],
        );
        return [value, grads[w.name]!, grads[b.name]!];
      });
      // ||w-a||^2 = 1 + 0 + 4 + 9 = 14, ||b-a||^2 = 4
      close(await read(out[0]!), [(rho / 2) * 18], 1e-5);
      close(await read(out[1]!), [0.5, 0, 1, 1.5], 1e-5);
      close(await read(out[2]!), [-1], 1e-5);
      tf.dispose(out);
    });
    assert.equal(leaked, 0);
    // The closed form equals the tape's gradient; its norm is rho * sqrt(S).
    const closed = await leakedTensors(async () => {
      const out = tf.tidy(() => {
        const p = proximalGradient({ w, b }, anchors, rho);
        return [p.value, p.norm, p.grads.w!, p.grads.b!];
      });
      close(await read(out[0]!), [(rho / 2) * 18], 1e-5);
      close(await read(out[1]!), [rho * Math.sqrt(18)], 1e-5);
      close(await read(out[2]!), [0.5, 0, 1, 1.5], 1e-5);
      close(await read(out[3]!), [-1], 1e-5);
      tf.dispose(out);
    });
    assert.equal(closed, 0);
    // The stage gives the value as a number, leaving no tensor behind.
    const stage = (r: number) =>
      Effect.runPromise(withBackend(proximalTerm({ weights: { w, b }, anchors, rho: r })));
    const before = tf.memory().numTensors;
    assert.ok(Math.abs((await stage(rho)) - (rho / 2) * 18) < 1e-5);
    assert.equal(await stage(0), 0);
    assert.equal(tf.memory().numTensors, before);
    const distance = (x: Record<string, tf.Tensor>) =>
      Effect.runPromise(withBackend(squaredDistance(x, { w, b })));
    assert.equal(await distance(anchors), 18);
    const snap = snapshot({ w, b });
    assert.equal(await distance(snap), 0);
    tf.dispose([w, b, anchors.w, anchors.b, snap.w!, snap.b!]);
  });
}

Deno.test("proximal gate: opens at the first state start at or after the warm-up", () => {
  const of = (k1: number, k2: number) => (s: number) => stateAt(s, k1, k2);
  // The embedded preset's shape: warm-up ends at 30, mid fine-tune state; the gate waits for
  // the alignment state that starts at 100 (the reference's 2,000 of 20,000 is a boundary).
  assert.equal(proximalGateStep(300, 0.1, of(10, 90)), 100);
  assert.equal(proximalGate(99, 300, 0.1, of(10, 90)), false);
  assert.equal(proximalGate(100, 300, 0.1, of(10, 90)), true);
  // The reference: 20,000 steps, 100:900, 10% -> 2,000, itself a state start.
  assert.equal(proximalGateStep(20000, 0.1, of(100, 900)), 2000);
  // A warm-up ending exactly at a fine-tune start opens there; ceil(2.5) = 3 is a start of 3:4.
  assert.equal(proximalGateStep(25, 0.1, of(3, 4)), 3);
  assert.equal(proximalGateStep(25, 0.2, of(3, 4)), 7); // ceil(5) = 5 is mid-state -> 7
  // No warm-up: on from step 0. No state start left: never on.
  assert.equal(proximalGateStep(100, 0, of(10, 90)), 0);
  assert.equal(proximalGateStep(100, 0.5, of(10, 90)), 100);
  assert.equal(proximalGate(99, 100, 0.5, of(10, 90)), false);
  // A single-state schedule (K1 = 0) has no switch after step 0.
  assert.equal(proximalGateStep(50, 0.1, of(0, 10)), 50);
});
