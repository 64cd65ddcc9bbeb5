/**
 * The training loop as a library user composes it: in memory (no run folder), with a callback
 * or a Stream of step records, by hand over a scoped trainer (which owns the anchors and the
 * data cursors), and over plain Effect Streams of batches. Every route trains the same weights.
 * The stages need a `Backend` in their environment; a test may provide its own layer.
 */
import assert from "node:assert/strict";
import { Effect, Exit, Layer, Stream } from "effect";
import { Backend, tf } from "../backends/mod.ts";
import {
  batchStream,
  biStateStep,
  createMethod,
  makeTrainer,
  proximalTerm,
  type StepEvent,
  type StepRecord,
  train,
  trainSteps,
} from "../src/train/mod.ts";
import { useBackend, withBackend } from "./_helpers.ts";
import { toyProblem, toySources, weightsOf } from "./train_toy.ts";

const OPTIONS = { totalSteps: 12, lr: 0.05 } as const;
const lisa = () => createMethod("lisa", { alignmentSteps: 2, finetuneSteps: 3, rho: 0.1 });
const strip = (r: StepRecord) => ({ ...r, tokensPerSec: 0, drift: null });

Deno.test("loop: in memory with a callback, as a Stream, or by hand: the same steps and weights", async () => {
  await useBackend("cpu");
  const before = tf.memory().numTensors;

  // 1. train() without a run folder, records through onStep.
  const a = toyProblem();
  const seen: StepEvent[] = [];
  const result = await Effect.runPromise(withBackend(train(a, lisa(), toySources(), {
    ...OPTIONS,
    onStep: (e) => Effect.sync(() => void seen.push(e)),
  })));
  assert.equal(result.steps, 12);
  assert.equal(result.checkpoint, null, "nothing was written");
  assert.deepEqual(seen.map((e) => e.step), [...Array(12).keys()]);
  assert.deepEqual(seen.map((e) => e.loss), result.records.map((r) => r.loss));
  // Drift is reported with the step that begins each new state (K1 = 2, K2 = 3).
  assert.deepEqual(seen.filter((e) => e.drift).map((e) => e.step), [2, 5, 7, 10]);

  // 2. The same run as a Stream of step events.
  const b = toyProblem();
  const streamed = await Effect.runPromise(
    withBackend(Stream.runCollect(trainSteps(b, lisa(), toySources(), OPTIONS))),
  );
  assert.deepEqual(streamed.map(strip), seen.map(strip));

  // 3. By hand over a scoped trainer: no anchors or cursors to copy.
  const c = toyProblem();
  const byHand = await Effect.runPromise(withBackend(Effect.scoped(Effect.gen(function* () {
    const t = yield* makeTrainer(c, lisa(), toySources(), OPTIONS);
    const out: StepEvent[] = [];
    while (t.stepsDone() < t.totalSteps) out.push(yield* t.step);
    // Six alignment steps (0, 1, 5, 6, 10, 11) of 8 of the 32 examples: one epoch and 16.
    assert.deepEqual(t.cursors().alignment, { epoch: 1, position: 16 });
    return out;
  }))));
  assert.deepEqual(byHand.map(strip), seen.map(strip));

  // 4. Over plain Effect Streams of batches instead of cursor sources.
  const d = toyProblem();
  const src = toySources();
  const plain = {
    alignment: Stream.map(batchStream(src.alignment), (x) => x.batch),
    user: Stream.map(batchStream(src.user), (x) => x.batch),
  };
  const fromStreams = await Effect.runPromise(withBackend(train(d, lisa(), plain, OPTIONS)));
  assert.deepEqual(fromStreams.records.map(strip), result.records.map(strip));

  const w = await Promise.all([a, b, c, d].map(weightsOf));
  for (const other of w.slice(1)) assert.deepEqual(other, w[0]);
  for (const p of [a, b, c, d]) p.dispose();
  assert.equal(tf.memory().numTensors, before, "the trainers freed their tensors");
});

Deno.test("loop: a finite stream that runs out fails with SourceExhausted, naming the step", async () => {
  await useBackend("cpu");
  const p = toyProblem();
  const before = tf.memory().numTensors;
  const user = Stream.take(Stream.map(batchStream(toySources().user), (x) => x.batch), 5);
  const err = await Effect.runPromise(
    Effect.flip(withBackend(train(p, createMethod("sft"), { user }, OPTIONS))),
  );
  assert.equal(err._tag, "SourceExhausted");
  assert.match(err.message, /user source ended after 5 batches; step 5/);
  assert.equal(tf.memory().numTensors, before);
  p.dispose();
});

Deno.test("loop: an interrupted in-memory run frees its optimizer state and anchors", async () => {
  await useBackend("cpu");
  const p = toyProblem();
  const before = tf.memory().numTensors;
  const exit = await Effect.runPromiseExit(withBackend(train(p, lisa(), toySources(), {
    ...OPTIONS,
    onStep: (e) => e.step === 6 ? Effect.interrupt : Effect.void,
  })));
  assert.ok(Exit.isFailure(exit));
  assert.equal(tf.memory().numTensors, before);
  p.dispose();
});

Deno.test("Backend: stages require it; a test's own layer provides it", async () => {
  const info = await Effect.runPromise(
    Effect.provide(Effect.service(Backend), Backend.layer("cpu")),
  );
  let built = 0;
  const counting = Layer.effect(
    Backend,
    Effect.sync(() => {
      built++;
      return Backend.fromInfo(info);
    }),
  );
  const w = tf.tidy(() => tf.variable(tf.tensor1d([1, 2])));
  const anchor = tf.tensor1d([0, 0]);
  const stage = proximalTerm({ weights: { w }, anchors: { w: anchor }, rho: 2 });
  // @ts-expect-error: without a Backend in its environment a stage cannot run
  const _cannot: Effect.Effect<number> = stage;
  const value = await Effect.runPromise(Effect.provide(stage, counting));
  assert.equal(value, 5); // 2/2 * (1 + 4)
  assert.equal(built, 1);
  // @ts-expect-error: the training step needs a Backend too
  const _step: Effect.Effect<StepRecord> = biStateStep(null as never);
  tf.dispose([w, anchor]);
});
