/**
 * Each regulariser's defining value on a case small enough to work out by hand: EWC's
 * `lambda * sum F (w - w0)^2` with a known Fisher, KL's `lambda * KL(p || q)` with known
 * distributions, Vaccine's second pass on hidden states moved by exactly `rho * g / ||g||`, and
 * Vlguard's user data holding exactly k alignment samples. "Loss goes down" (in
 * train_methods_test.ts) cannot tell a wrong penalty from a right one; these can.
 */
import assert from "node:assert/strict";
import { Effect } from "effect";
import { tf } from "../backends/mod.ts";
import { countByKind, type Example, mixHarmful } from "../src/data/mod.ts";
import { userData } from "../src/pipeline/datasets.ts";
import { methodKnobs } from "../src/pipeline/stages.ts";
import { DEFAULT_CONFIG } from "../src/config/mod.ts";
import {
  createMethod,
  hiddenGradients,
  methodSpec,
  START,
  type TrainingProblem,
  vaccinePerturbation,
} from "../src/train/mod.ts";
import { assertClose, useBackend } from "./_helpers.ts";
import { readTidy, type ToyBatch, toyProblem, toySources } from "./train_toy.ts";

const close = assertClose;

/** A linear problem: loss(a) = sum(a * w), so each batch's gradient is `a` itself. */
function linearProblem(w0: number[]): TrainingProblem<number[]> & { w: tf.Variable } {
  const w = tf.tidy(() => tf.variable(tf.tensor1d(w0)));
  return { w, trainable: { w }, loss: (a) => tf.sum(tf.mul(tf.tensor1d(a), w)) as tf.Scalar };
}

Deno.test("ewc: the penalty is lambda * sum F (w - w0)^2 with F the mean squared gradient", async () => {
  await useBackend("cpu");
  const before = tf.memory().numTensors;
  const p = linearProblem([0.5, -1, 2]);
  const batches = [[1, 2, 0], [3, 0, -1]]; // F = mean(a^2) = [5, 2, 0.5]
  const lambda = 0.7;
  const ewc = createMethod("ewc", { lambda });
  ewc.prepare!(p, batches);
  const d = [0.1, -0.3, 2];
  tf.tidy(() => p.w.assign(tf.tensor1d([0.5 + d[0]!, -1 + d[1]!, 2 + d[2]!])));
  const want = lambda * (5 * d[0]! ** 2 + 2 * d[1]! ** 2 + 0.5 * d[2]! ** 2);
  const [penalty, loss] = await readTidy(() => {
    const o = ewc.objective({ problem: p, batch: [1, 1, 1], state: "finetune", step: 0 })();
    return tf.stack([o.penalty!, o.loss]);
  });
  close(penalty!, want, 1e-5, "EWC penalty");
  close(loss!, 0.6 + -1.3 + 4, 1e-5, "data loss unchanged");
  // At w0 the penalty is exactly zero.
  tf.tidy(() => p.w.assign(tf.tensor1d([0.5, -1, 2])));
  const [atStart] = await readTidy(() =>
    ewc.objective({ problem: p, batch: [1, 1, 1], state: "finetune", step: 0 })().penalty!
  );
  assert.equal(atStart, 0);
  ewc.dispose!();
  p.w.dispose();
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("kl: the penalty is lambda * KL(softmax(current) || softmax(reference))", async () => {
  await useBackend("cpu");
  const before = tf.memory().numTensors;
  const lambda = 0.3;
  const pLogits = [[Math.log(0.2), Math.log(0.3), Math.log(0.5)]];
  const qLogits = [[Math.log(0.6), Math.log(0.2), Math.log(0.2)]];
  const w = tf.tidy(() => tf.variable(tf.tensor2d(pLogits)));
  const ref = tf.tensor2d(qLogits);
  const problem: TrainingProblem<null> = {
    trainable: { w },
    loss: () => tf.scalar(0),
    logits: () => w.clone(),
    referenceLogits: () => ref.clone(),
  };
  const p = [0.2, 0.3, 0.5];
  const q = [0.6, 0.2, 0.2];
  const want = lambda * p.reduce((s, pi, i) => s + pi * Math.log(pi / q[i]!), 0);
  const kl = createMethod("kl", { lambda });
  const [penalty] = await readTidy(() =>
    kl.objective({ problem, batch: null, state: "finetune", step: 0 })().penalty!
  );
  close(penalty!, want, 1e-5, "KL penalty");
  w.dispose();
  ref.dispose();
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("vaccine: the training pass sees hidden states moved by rho * g / ||g||", async () => {
  await useBackend("cpu");
  const problem = toyProblem(11);
  const batch: ToyBatch = toySources(16, 4).alignment.next(START).batch;
  const before = tf.memory().numTensors;
  const rho = 0.9;
  // By hand: the hidden-state gradients of the clean loss, scaled to global norm rho, added.
  const vars = Object.values(problem.trainable);
  const g = hiddenGradients((hook) => problem.loss(batch, { hiddenHook: hook }), vars);
  const e = vaccinePerturbation(g, rho);
  const [byHand, clean] = await readTidy(() =>
    tf.stack([
      problem.loss(batch, { hiddenHook: (l, h) => tf.add(h, e[l]!) }),
      problem.loss(batch),
    ])
  );
  tf.dispose([...g, ...e]);
  const vaccine = createMethod("vaccine", { rho });
  const [got] = await readTidy(() =>
    vaccine.objective({ problem, batch, state: "alignment", step: 0 })().loss
  );
  close(got!, byHand!, 1e-5, "Vaccine loss");
  assert.ok(got! > clean!, `the perturbation ascends the loss: ${got} vs clean ${clean}`);
  // rho = 0 is plain alignment training.
  const [none] = await readTidy(() =>
    createMethod("vaccine", { rho: 0 }).objective({ problem, batch, state: "alignment", step: 0 })()
      .loss
  );
  close(none!, clean!, 1e-6, "Vaccine with rho 0");
  assert.equal(tf.memory().numTensors, before);
  problem.dispose();
});

Deno.test("vlguard: the user data gains exactly k alignment samples, nothing else changes", () => {
  const make = (kind: Example["provenance"]["kind"], n: number): Example[] =>
    Array.from({ length: n }, (_, i) => ({
      instruction: `${kind} ${i}`,
      input: "",
      output: "o",
      provenance: { source: kind, row: i + 1, kind },
    }));
  const ds = {
    alignment: make("alignment", 50),
    harmful: make("harmful", 20),
    alignmentHarmful: [],
    harmfulEval: [],
    taskTrain: make("task", 100),
    taskTest: [],
    skipped: {},
  };
  const k = 13;
  const cfg = {
    ...DEFAULT_CONFIG,
    data: { ...DEFAULT_CONFIG.data, n: 40, p: 0.25 },
    method: { ...DEFAULT_CONFIG.method, vlguardK: k },
  };
  const built = methodSpec("vlguard").build(methodKnobs(cfg), "finetune");
  assert.equal(built.mixAlignmentSamples, k);
  const plain = Effect.runSync(userData(cfg, ds, "sft"));
  const guarded = Effect.runSync(userData(cfg, ds, "vlguard"));
  assert.deepEqual(countByKind(plain.examples), { task: 30, harmful: 10, alignment: 0 });
  assert.deepEqual(countByKind(guarded.examples), { task: 30, harmful: 10, alignment: k });
  // The task and harmful samples are the same ones SFT trains on.
  const key = (e: Example) => `${e.provenance.source}:${e.provenance.row}`;
  const userOf = (xs: readonly Example[]) =>
    xs.filter((e) => e.provenance.kind !== "alignment").map(key).sort();
  assert.deepEqual(userOf(guarded.examples), userOf(plain.examples));
  const mixed = Effect.runSync(
    mixHarmful({ task: ds.taskTrain, harmful: ds.harmful, n: 40, p: 0.25, seed: cfg.seed }),
  );
  assert.deepEqual(userOf(mixed.examples), userOf(plain.examples));
});
