/**
 * Pretraining of the base model: the dense embedding gradient equals the model's own rule,
 * the loop lowers the loss on a tiny problem and keeps the tensor count flat, and batches
 * are deterministic by seed.
 */
import assert from "node:assert/strict";
import { tf } from "../backends/mod.ts";
import {
  baseModelConfig,
  epochBatches,
  pretrain,
  withDenseEmbeddingGradient,
} from "../src/assets/mod.ts";
import { causalLmLoss, initParams } from "../src/model/mod.ts";
import { requires, testBackends, useBackend } from "./_helpers.ts";

const backends = await testBackends();

const shape = {
  hiddenSize: 16,
  intermediateSize: 32,
  numLayers: 1,
  numHeads: 2,
  maxPositionEmbeddings: 32,
};

Deno.test({
  ...requires(
    "pretrain: dense embedding gradient equals the segment-sum rule (cpu)",
    backends.includes("cpu") ? null : "the cpu backend is excluded by LISA_TEST_BACKENDS",
  ),
  fn: async () => {
    await useBackend("cpu");
    const config = baseModelConfig(shape, 24);
    const params = initParams(config, 3);
    const name = "model.embed_tokens.weight";
    const embed = tf.variable(params[name]!, true);
    const ids = tf.tensor2d([[1, 5, 5, 7], [1, 9, 3, 5]], undefined, "int32");
    const labels = tf.tensor2d([[-100, 5, 5, 7], [-100, 9, 3, 5]], undefined, "int32");
    const mask = tf.onesLike(ids);
    const gradOf = () =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() =>
          causalLmLoss(config, { ...params, [name]: embed }, {
            inputIds: ids,
            labels,
            attentionMask: mask,
          }), [embed]);
        return tf.keep(grads[embed.name]!);
      });
    const reference = gradOf();
    const dense = await withDenseEmbeddingGradient(() => Promise.resolve(gradOf()));
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(reference, dense))).dataSync()[0]!);
    const scale = tf.tidy(() => tf.max(tf.abs(reference)).dataSync()[0]!);
    assert.ok(scale > 1e-4, "the gradient is not zero");
    assert.ok(diff < 1e-6, `max difference ${diff}`);
    // the model's own rule is back afterwards
    const again = gradOf();
    assert.equal(tf.tidy(() => tf.max(tf.abs(tf.sub(reference, again))).dataSync()[0]!), 0);
    tf.dispose([reference, dense, again, embed, ids, labels, mask, ...Object.values(params)]);
  },
});

const cpuBackend = (["native", "wasm", "cpu"] as const).find((b) => backends.includes(b));

Deno.test({
  ...requires(
    "pretrain: the loss goes down and no tensor leaks",
    cpuBackend ? null : "no CPU tensor backend starts here",
  ),
  fn: async () => {
    const backend = cpuBackend!;
    await useBackend(backend);
    const config = baseModelConfig(shape, 24);
    const rows = Array.from({ length: 8 }, (_, i) => ({
      prompt: [1, 3 + (i % 4), 10],
      target: [12 + (i % 4), 16 + (i % 4), 2],
    }));
    const before = tf.memory().numTensors;
    const opts = {
      steps: 40,
      batchSize: 4,
      lr: 1e-2,
      warmupRatio: 0.1,
      weightDecay: 0,
      maxGradNorm: 1,
      maxLength: 16,
      promptLossFraction: 0,
    };
    const { params, report } = await pretrain(config, rows, opts, 1);
    assert.equal(report.tensorsAtEnd, report.tensorsAfterFirstStep);
    assert.ok(report.finalLoss < report.lossCurve[0]! * 0.5, JSON.stringify(report.lossCurve));
    tf.dispose(Object.values(params));
    assert.equal(tf.memory().numTensors, before);
  },
});

Deno.test("pretrain: epoch batches are a deterministic partition", () => {
  const lengths = Array.from({ length: 50 }, (_, i) => (i * 7) % 13);
  const a = epochBatches(lengths, 4, 9, 0);
  assert.deepEqual(a, epochBatches(lengths, 4, 9, 0));
  assert.notDeepEqual(a, epochBatches(lengths, 4, 9, 1));
  assert.equal(a.length, 12);
  const seen = a.flat();
  assert.equal(new Set(seen).size, seen.length);
});
