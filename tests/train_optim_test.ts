import { strict as assert } from "node:assert";
import { tf } from "../backends/mod.ts";
import {
  clipByGlobalNorm,
  createAdamW,
  decodeTensors,
  encodeTensors,
  proximalGate,
  proximalTerm,
  snapshot,
  squaredDistance,
} from "../src/train/mod.ts";
import { leakedTensors, testBackends, useBackend } from "./_helpers.ts";
import { read, readTidy } from "./train_toy.ts";

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
          () => proximalTerm({ w, b }, anchors, rho),
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
    const [zero] = await readTidy(() => proximalTerm({ w, b }, anchors, 0));
    assert.equal(zero, 0);
    assert.equal(await squaredDistance(anchors, { w, b }), 18);
    const snap = snapshot({ w, b });
    assert.equal(await squaredDistance(snap, { w, b }), 0);
    tf.dispose([w, b, anchors.w, anchors.b, snap.w!, snap.b!]);
  });

  Deno.test(`tensor file: round trip [${backend}]`, async () => {
    await useBackend(backend);
    const t = { a: tf.tensor2d([[1.5, -2], [3, 4e-8]]), n: tf.tensor1d([7, -1], "int32") };
    const back = decodeTensors(await encodeTensors(t));
    assert.deepEqual(back.a!.shape, [2, 2]);
    close(await read(back.a!), await read(t.a), 0);
    assert.equal(back.n!.dtype, "int32");
    assert.deepEqual(await read(back.n!), [7, -1]);
    tf.dispose([t.a, t.n, back.a!, back.n!]);
  });
}

Deno.test("proximal gate: off for the first ceil(warmup * total) steps", () => {
  assert.equal(proximalGate(0, 100), false);
  assert.equal(proximalGate(9, 100), false);
  assert.equal(proximalGate(10, 100), true);
  assert.equal(proximalGate(2, 25, 0.1), false); // ceil(2.5) = 3
  assert.equal(proximalGate(3, 25, 0.1), true);
  assert.equal(proximalGate(0, 100, 0), true);
});
