import { strict as assert } from "node:assert";
import { Effect, Exit } from "effect";
import { tf } from "../backends/mod.ts";
import {
  CheckpointCorrupt,
  createMethod,
  disposeCheckpoint,
  isSwitch,
  latestCheckpoint,
  listCheckpoints,
  loadCheckpoint,
  NonFiniteLoss,
  RunDirExists,
  stateSequence,
  train,
  type TrainingProblem,
  type TrainOptions,
  type TrainResult,
} from "../src/train/mod.ts";
import { testBackends, useBackend, withBackend } from "./_helpers.ts";
import { type ToyBatch, toyProblem, toySources, weightsOf } from "./train_toy.ts";

const run = (
  problem: TrainingProblem<ToyBatch>,
  method: string,
  mopts: Record<string, unknown>,
  opts: TrainOptions,
) =>
  Effect.runPromiseExit(
    withBackend(train(problem, createMethod(method, mopts), toySources(24, 6), opts)),
  );

const ok = (exit: Exit.Exit<TrainResult, unknown>): TrainResult => {
  if (Exit.isFailure(exit)) throw new Error(`run failed: ${String(exit.cause)}`);
  return exit.value;
};

const failure = (exit: Exit.Exit<TrainResult, unknown>): unknown => {
  assert.ok(Exit.isFailure(exit), "expected the run to fail");
  const f = exit.cause.reasons.find((r) => r._tag === "Fail");
  return f && "error" in f ? f.error : exit.cause;
};

for (const backend of await testBackends()) {
  Deno.test(`loop: Lisa states, proximal gate, anchors refresh only at switches [${backend}]`, async () => {
    await useBackend(backend);
    const dir = await Deno.makeTempDir();
    const problem = toyProblem();
    const before = tf.memory().numTensors;
    const k = { alignmentSteps: 3, finetuneSteps: 4, rho: 0.5, proximalWarmup: 0.1 };
    const result = ok(
      await run(problem, "lisa", k, { totalSteps: 20, lr: 0.05, runDir: `${dir}/r` }),
    );
    assert.equal(tf.memory().numTensors, before); // anchors and moments freed at the end
    const states = result.records.map((r) => r.state);
    assert.deepEqual(states, stateSequence(20, 3, 4));
    const of = (s: number) => states[s]!;
    for (const r of result.records) {
      // ceil(0.1 * 20) = 2 is inside the first alignment state: the gate opens at the switch, 3.
      if (r.step < 3 || isSwitch(r.step, of)) {
        assert.equal(r.proximal, 0, `step ${r.step}: gate off or fresh anchor`);
        assert.equal(r.proximalGradNorm, 0, `step ${r.step}: no proximal gradient`);
      } else {
        assert.ok(r.proximal > 0, `step ${r.step}: anchor kept since the switch`);
        // ||rho (w - a)|| = sqrt(2 rho P), and the total is at most the sum of the parts.
        const want = Math.sqrt(2 * 0.5 * r.proximal);
        assert.ok(Math.abs(r.proximalGradNorm - want) <= 1e-4 * Math.max(1, want), `${r.step}`);
        assert.ok(r.gradNorm <= r.dataGradNorm + r.proximalGradNorm + 1e-5, `step ${r.step}`);
      }
      if (r.proximalGradNorm === 0) {
        assert.ok(Math.abs(r.gradNorm - r.dataGradNorm) <= 1e-5 * Math.max(1, r.gradNorm));
      }
    }
    // Every switch, and the end of the run for the last state.
    assert.deepEqual(result.drift.map((d) => d.step), [3, 7, 10, 14, 17, 20]);
    assert.deepEqual(result.drift.map((d) => d.finished), [
      "alignment",
      "finetune",
      "alignment",
      "finetune",
      "alignment",
      "finetune",
    ]);
    assert.ok(result.drift.every((d) => d.drift > 0));
    const log = Deno.readTextFileSync(`${dir}/r/log.jsonl`).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.equal(log.length, 20);
    assert.deepEqual(Object.keys(log[0]).sort(), [
      "dataGradNorm",
      "finite",
      "gradNorm",
      "loss",
      "lr",
      "penalty",
      "proximal",
      "proximalGradNorm",
      "state",
      "step",
      "tokensPerSec",
    ]);
    assert.ok(
      Number.isFinite(result.meanLoss.alignment) && Number.isFinite(result.meanLoss.finetune),
    );
    // rho = 0 (BSO): never a proximal contribution.
    const bso = ok(
      await run(problem, "bso", { alignmentSteps: 3, finetuneSteps: 4 }, {
        totalSteps: 10,
        lr: 0.05,
        runDir: `${dir}/b`,
      }),
    );
    assert.ok(bso.records.every((r) => r.proximal === 0));
    problem.dispose();
    await Deno.remove(dir, { recursive: true });
  });

  Deno.test(`loop: resume after a crash ends with the same weights [${backend}]`, async () => {
    await useBackend(backend);
    const dir = await Deno.makeTempDir();
    const mopts = { alignmentSteps: 3, finetuneSteps: 4, rho: 0.5 };
    const base: TrainOptions = {
      totalSteps: 20,
      lr: 0.05,
      schedule: "cosine",
      warmupRatio: 0.1,
      weightDecay: 0.01,
      checkpointEvery: 5,
      runDir: "",
    };
    const a = toyProblem();
    ok(await run(a, "lisa", mopts, { ...base, runDir: `${dir}/a` }));
    const want = await weightsOf(a);
    a.dispose();

    const b1 = toyProblem();
    const part = ok(await run(b1, "lisa", mopts, { ...base, runDir: `${dir}/b`, haltAfter: 9 }));
    assert.equal(part.steps, 9);
    assert.equal(latestCheckpoint(`${dir}/b`), `${dir}/b/checkpoints/step-00000005`);
    b1.dispose(); // the "crashed" process is gone
    const b2 = toyProblem();
    const rest = ok(await run(b2, "lisa", mopts, { ...base, runDir: `${dir}/b`, resume: true }));
    assert.equal(rest.records[0]!.step, 5);
    assert.equal(rest.steps, 20);
    const got = await weightsOf(b2);
    for (const [k, w] of Object.entries(want)) {
      const g = got[k]!;
      for (let i = 0; i < w.length; i++) {
        assert.ok(Math.abs(w[i]! - g[i]!) <= 1e-6, `${k}[${i}]: ${w[i]} vs ${g[i]}`);
      }
    }
    const log = Deno.readTextFileSync(`${dir}/b/log.jsonl`).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.deepEqual(log.map((l) => l.step), Array.from({ length: 20 }, (_, i) => i));
    assert.equal(listCheckpoints(`${dir}/b`).length, 2); // keep the newest two
    b2.dispose();
    await Deno.remove(dir, { recursive: true });
  });
}

Deno.test("loop: EWC resumes exactly too (Fisher and w0 are checkpointed)", async () => {
  await useBackend("cpu");
  const dir = await Deno.makeTempDir();
  const base: TrainOptions = { totalSteps: 12, lr: 0.05, checkpointEvery: 4, runDir: "" };
  const a = toyProblem();
  ok(await run(a, "ewc", { lambda: 5 }, { ...base, runDir: `${dir}/a` }));
  const b = toyProblem();
  ok(await run(b, "ewc", { lambda: 5 }, { ...base, runDir: `${dir}/b`, haltAfter: 6 }));
  b.dispose();
  const c = toyProblem();
  ok(await run(c, "ewc", { lambda: 5 }, { ...base, runDir: `${dir}/b`, resume: true }));
  const [wa, wc] = [await weightsOf(a), await weightsOf(c)];
  for (const k of Object.keys(wa)) {
    wa[k]!.forEach((x, i) => assert.ok(Math.abs(x - wc[k]![i]!) <= 1e-6, `${k}[${i}]`));
  }
  a.dispose();
  c.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("checkpoint: a damaged newest checkpoint falls back to the previous; all damaged fails", async () => {
  await useBackend("cpu");
  const dir = await Deno.makeTempDir();
  const p = toyProblem();
  ok(await run(p, "sft", {}, { totalSteps: 4, lr: 0.05, checkpointEvery: 2, runDir: `${dir}/r` }));
  const ckpt = latestCheckpoint(`${dir}/r`)!;
  const good = await Effect.runPromise(loadCheckpoint(ckpt));
  assert.equal(good.step, 4);
  assert.deepEqual(Object.keys(good.weights).sort(), ["b1", "b2", "w1", "w2"]);
  disposeCheckpoint(good);
  const damage = (file: string) => Deno.truncateSync(file, Deno.statSync(file).size - 1);
  const file = `${ckpt}/weights.safetensors`;
  damage(file);
  const err = failure(await Effect.runPromiseExit(loadCheckpoint(ckpt)) as never);
  assert.ok(err instanceof CheckpointCorrupt, String(err));
  assert.equal(err.file, file);
  // The newest fails its check: the run continues from step 2, with a warning.
  const warnings: string[] = [];
  const onWarning = (m: string) => void warnings.push(m);
  const resumed = ok(
    await run(p, "sft", {}, {
      totalSteps: 6,
      lr: 0.05,
      runDir: `${dir}/r`,
      resume: true,
      onWarning,
    }),
  );
  assert.equal(resumed.steps, 6);
  assert.equal(resumed.records[0]?.step, 2, "continued from the previous checkpoint");
  assert.match(warnings.join("\n"), /step-00000004 failed its check.*step-00000002/);
  const log = Deno.readTextFileSync(`${dir}/r/log.jsonl`).trim().split("\n");
  assert.deepEqual(
    log.map((l) => JSON.parse(l).step),
    [0, 1, 2, 3, 4, 5],
    "log cut back, rewritten",
  );
  // Every kept checkpoint damaged: the run fails, naming the newest, and frees what it made.
  for (const c of listCheckpoints(`${dir}/r`)) damage(`${c}/weights.safetensors`);
  const before = tf.memory().numTensors;
  const failed = failure(
    await run(p, "sft", {}, {
      totalSteps: 8,
      lr: 0.05,
      runDir: `${dir}/r`,
      resume: true,
      onWarning,
    }),
  );
  assert.ok(failed instanceof CheckpointCorrupt);
  assert.match(failed.file, /step-00000006\/weights\.safetensors$/);
  assert.equal(tf.memory().numTensors, before); // the optimizer was freed on failure
  p.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loop: a NaN loss stops with the step and state, keeping the last checkpoint", async () => {
  await useBackend("cpu");
  const dir = await Deno.makeTempDir();
  const toy = toyProblem();
  let calls = 0;
  const poisoned: TrainingProblem<ToyBatch> = {
    trainable: toy.trainable,
    loss: (b, o) => {
      const l = toy.loss(b, o);
      return calls++ >= 6 ? tf.mul(l, Number.NaN) : l;
    },
  };
  const before = tf.memory().numTensors;
  const exit = await run(poisoned, "lisa", { alignmentSteps: 3, finetuneSteps: 4 }, {
    totalSteps: 20,
    lr: 0.05,
    checkpointEvery: 5,
    runDir: `${dir}/r`,
  });
  const err = failure(exit);
  assert.ok(err instanceof NonFiniteLoss, String(err));
  assert.equal(err.step, 6);
  assert.equal(err.state, "finetune");
  assert.equal(err.lastCheckpoint, `${dir}/r/checkpoints/step-00000005`);
  assert.match(err.message, /step 6 in the finetune state/);
  assert.equal(tf.memory().numTensors, before);
  const kept = await Effect.runPromise(loadCheckpoint(err.lastCheckpoint!));
  assert.equal(kept.step, 5);
  disposeCheckpoint(kept);
  toy.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loop: never overwrites another run unless asked", async () => {
  await useBackend("cpu");
  const dir = await Deno.makeTempDir();
  const p = toyProblem();
  const o: TrainOptions = { totalSteps: 2, lr: 0.05, runDir: `${dir}/r` };
  ok(await run(p, "sft", {}, o));
  const err = failure(await run(p, "sft", {}, o));
  assert.ok(err instanceof RunDirExists);
  ok(await run(p, "sft", {}, { ...o, overwrite: true }));
  p.dispose();
  await Deno.remove(dir, { recursive: true });
});
