/**
 * The loss's fused cross-entropy and its target-rows path: the same value and gradients as the
 * textbook log-softmax x one-hot formula, the same loss with and without host-side target
 * positions, and `targetPositions` on a hand-made batch. On every test backend.
 */
import assert from "node:assert/strict";
import { tf } from "../backends/mod.ts";
import {
  causalLmLoss,
  crossEntropy,
  initParams,
  lmLossFromLogits,
  targetPositions,
  tinyModelConfig,
} from "../src/model/mod.ts";
import { leakedTensors, seededValues, testBackends, useBackend } from "./_helpers.ts";

Deno.test("targetPositions: rows predicting a target and their labels, shifted by one", () => {
  const { rows, ids } = targetPositions([
    [-100, -100, 7, 8],
    [-100, 5, -100, 9],
  ]);
  // row 0: positions 1 and 2 predict 7 and 8; row 1 (offset 4): position 0 -> 5, 2 -> 9.
  assert.deepEqual([...rows], [1, 2, 4, 6]);
  assert.deepEqual([...ids], [7, 8, 5, 9]);
  assert.deepEqual([...targetPositions([[-100, -100]]).rows], []);
});

/** The textbook loss: -mean over targets of log_softmax(pred)[label]. */
function referenceLoss(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  const [b, t, v] = logits.shape as [number, number, number];
  const pred = tf.slice(logits, [0, 0, 0], [b, t - 1, v]);
  const next = tf.slice(labels, [0, 1], [b, t - 1]);
  const valid = tf.cast(tf.notEqual(next, -100), "float32");
  const safe = tf.mul(next, tf.cast(valid, "int32"));
  const picked = tf.sum(tf.mul(tf.logSoftmax(pred, -1), tf.oneHot(safe, v)), -1);
  return tf.neg(tf.div(tf.sum(tf.mul(picked, valid)), tf.maximum(tf.sum(valid), 1))) as tf.Scalar;
}

for (const backend of await testBackends()) {
  Deno.test(`loss[${backend}]: fused cross-entropy = log-softmax x one-hot, value and gradient`, async () => {
    await useBackend(backend);
    const labels = tf.tensor2d([[-100, 3, 4, -100, 1], [-100, -100, 0, 2, 5]], undefined, "int32");
    const logits = tf.mul(tf.tensor3d(seededValues(2 * 5 * 6, 3), [2, 5, 6]), 3);
    const leaked = await leakedTensors(async () => {
      const [ours, ref] = tf.tidy(() => {
        const g1 = tf.valueAndGrad((x: tf.Tensor) => lmLossFromLogits(x, labels))(logits);
        const g2 = tf.valueAndGrad((x: tf.Tensor) => referenceLoss(x, labels))(logits);
        return [[g1.value, g1.grad], [g2.value, g2.grad]];
      });
      const [a, b] = [await ours![0]!.data(), await ref![0]!.data()];
      assert.ok(Math.abs(a[0]! - b[0]!) < 1e-5, `loss ${a[0]} vs ${b[0]}`);
      const [ga, gb] = [await ours![1]!.data(), await ref![1]!.data()];
      for (let i = 0; i < ga.length; i++) assert.ok(Math.abs(ga[i]! - gb[i]!) < 1e-6, `grad ${i}`);
      tf.dispose([...ours!, ...ref!]);
    });
    assert.equal(leaked, 0);
    // No target at all: 0, as before.
    const none = tf.tidy(() =>
      crossEntropy(tf.zeros([2, 4]), tf.zeros([2], "int32"), tf.zeros([2]))
    );
    assert.equal((await none.data())[0], 0);
    tf.dispose([labels, logits, none]);
  });

  Deno.test(`loss[${backend}]: target rows give the loss and gradients of the full path`, async () => {
    await useBackend(backend);
    const cfg = tinyModelConfig({ vocabSize: 40 });
    const p = initParams(cfg, 3);
    const rows = [[1, 5, 9, 11, 0], [1, 7, 3, 0, 0]];
    const labelRows = [[-100, -100, 9, 11, 2], [-100, 7, 3, -100, -100]];
    const t = targetPositions(labelRows);
    const batch = {
      inputIds: tf.tensor2d(rows, undefined, "int32"),
      labels: tf.tensor2d(labelRows, undefined, "int32"),
      attentionMask: tf.tensor2d([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], undefined, "int32"),
    };
    const targets = { rows: tf.tensor1d(t.rows, "int32"), ids: tf.tensor1d(t.ids, "int32") };
    const w = p["model.layers.0.self_attn.q_proj.weight"]!;
    const lossWith = (x: tf.Tensor, withTargets: boolean) =>
      causalLmLoss(cfg, { ...p, "model.layers.0.self_attn.q_proj.weight": x }, {
        ...batch,
        ...(withTargets ? { targets } : {}),
      });
    const [full, rowsOnly] = tf.tidy(() => [
      tf.valueAndGrad((x: tf.Tensor) => lossWith(x, false))(w),
      tf.valueAndGrad((x: tf.Tensor) => lossWith(x, true))(w),
    ]);
    const [a, b] = [await full!.value.data(), await rowsOnly!.value.data()];
    assert.ok(Math.abs(a[0]! - b[0]!) < 1e-5, `loss ${a[0]} vs ${b[0]}`);
    const [ga, gb] = [await full!.grad.data(), await rowsOnly!.grad.data()];
    let worst = 0;
    for (let i = 0; i < ga.length; i++) worst = Math.max(worst, Math.abs(ga[i]! - gb[i]!));
    assert.ok(worst < 1e-5, `gradients differ by ${worst}`);
    tf.dispose([full!.value, full!.grad, rowsOnly!.value, rowsOnly!.grad]);
    tf.dispose([...Object.values(batch), targets.rows, targets.ids, ...Object.values(p)]);
  });
}
