import { strict as assert } from "node:assert";
import { Effect, Exit } from "effect";
import { tf } from "../backends/mod.ts";
import {
  type Anchors,
  biStateStep,
  createAdamW,
  createMethod,
  disposeAll,
  isSwitch,
  type Method,
  METHOD_NAMES,
  snapshot,
  START,
  type StepRecord,
  train,
  TrainOptionInvalid,
} from "../src/train/mod.ts";
import { testBackends, useBackend, withBackend } from "./_helpers.ts";
import { readTidy, type ToyBatch, toyProblem, toySources } from "./train_toy.ts";

/** Toy-sized knobs per method (the reference defaults are for a 7B model). */
const TOY_OPTIONS: Record<string, Record<string, unknown>> = {
  "lisa": { alignmentSteps: 3, finetuneSteps: 5, rho: 0.1 },
  "bso": { alignmentSteps: 3, finetuneSteps: 5 },
  "ewc": { lambda: 1 },
  "kl": { lambda: 0.1 },
  "vaccine": { rho: 0.1 },
  "vlguard": { alignmentSamples: 8 },
  "booster": { lambda: 0.5, alpha: 0.1 },
  "repnoise": { alpha: 0.01, beta: 0.01 },
  "t-vaccine": { rho: 0.1, layers: 1, resample: 4, refresh: 8 },
  "ldifs": { lambda: 0.1 },
};

async function meanLoss(p: ReturnType<typeof toyProblem>, batches: ToyBatch[]): Promise<number> {
  const [mean] = await readTidy(() => tf.mean(tf.stack(batches.map((b) => p.loss(b)))));
  return mean!;
}

for (const backend of await testBackends()) {
  for (const name of METHOD_NAMES) {
    Deno.test(`method ${name}: steps without leaking, loss goes down [${backend}]`, async () => {
      await useBackend(backend);
      const before0 = tf.memory().numTensors;
      const problem = toyProblem();
      const method: Method = createMethod(name, TOY_OPTIONS[name] ?? {});
      const src = toySources(32, 8);
      const all = (s: typeof src.user) => {
        const out: ToyBatch[] = [];
        let c = START;
        for (let i = 0; i < s.batchesPerEpoch; i++) {
          const n = s.next(c);
          out.push(n.batch);
          c = n.cursor;
        }
        return out;
      };
      const evalBatches = method.stage === "alignment"
        ? all(src.alignment)
        : name === "lisa" || name === "bso"
        ? [...all(src.alignment), ...all(src.user)]
        : all(src.user);
      method.prepare?.(problem, all(src.alignment));
      const optimizer = createAdamW(problem.trainable);
      const lossBefore = await meanLoss(problem, evalBatches);
      const cursors = { alignment: START, finetune: START, harmful: START };
      let anchors: Anchors | null = null;
      const total = 24;
      const counts: number[] = [];
      for (let step = 0; step < total; step++) {
        if (step === 0 || isSwitch(step, method.stateAt)) {
          disposeAll(anchors);
          anchors = snapshot(problem.trainable);
        }
        const state = method.stateAt(step);
        const s = state === "alignment" ? src.alignment : src.user;
        const n = s.next(cursors[state]);
        cursors[state] = n.cursor;
        let harmfulBatch: ToyBatch | undefined;
        if (method.harmfulBatchAt?.(step)) {
          const h = src.harmful.next(cursors.harmful);
          cursors.harmful = h.cursor;
          harmfulBatch = h.batch;
        }
        const ctx = {
          problem,
          batch: n.batch,
          state,
          step,
          ...(harmfulBatch ? { harmfulBatch } : {}),
        };
        if (method.beforeStep) await Effect.runPromise(withBackend(method.beforeStep(ctx)));
        const rec: StepRecord = await Effect.runPromise(withBackend(biStateStep({
          problem,
          method,
          optimizer,
          batch: n.batch,
          ...(harmfulBatch ? { harmfulBatch } : {}),
          step,
          anchors,
          lr: { lr: 0.05, schedule: "constant", warmupRatio: 0, totalSteps: total },
        })));
        assert.ok(rec.finite && Number.isFinite(rec.loss), `step ${step} loss ${rec.loss}`);
        assert.equal(rec.state, state);
        counts.push(tf.memory().numTensors);
      }
      // Anchors are replaced at switches (same count), so the count must be flat.
      assert.equal(counts.at(-1), counts[0], `tensor count grew: ${counts.join(",")}`);
      const lossAfter = await meanLoss(problem, evalBatches);
      assert.ok(lossAfter < lossBefore, `${name}: loss ${lossBefore} -> ${lossAfter}`);
      disposeAll(anchors);
      optimizer.dispose();
      method.dispose?.();
      problem.dispose();
      assert.equal(tf.memory().numTensors, before0);
    });
  }
}

Deno.test("methods: flags and defaults follow the spec", () => {
  const lisa = createMethod("lisa");
  assert.equal(lisa.rho, 1);
  assert.equal(lisa.proximalWarmup, 0.1);
  assert.equal(lisa.stateAt(99), "alignment");
  assert.equal(lisa.stateAt(100), "finetune");
  assert.equal(lisa.stateAt(1000), "alignment");
  assert.equal(createMethod("bso").rho, 0);
  assert.equal(createMethod("na-sft").skipsAlignmentStage, true);
  assert.equal(createMethod("sft").skipsAlignmentStage, false);
  assert.equal(createMethod("vlguard", { alignmentSamples: 50 }).mixAlignmentSamples, 50);
  assert.equal(createMethod("vaccine").stage, "alignment");
  // K1 = 0 makes Lisa plain fine-tuning.
  const k0 = createMethod("lisa", { alignmentSteps: 0, finetuneSteps: 10 });
  assert.ok(Array.from({ length: 30 }, (_, i) => k0.stateAt(i)).every((s) => s === "finetune"));
  assert.equal(k0.needsAlignmentData, false);
});

Deno.test("methods: invalid options are rejected with TrainOptionInvalid naming the field", () => {
  const bad = (name: string, o: Record<string, unknown>, field: string) => {
    assert.throws(() => createMethod(name, o), (e: unknown) => {
      assert.ok(e instanceof TrainOptionInvalid, String(e));
      assert.equal(e.field, field);
      return true;
    });
  };
  bad("lisa", { rho: -1 }, "lisa.rho");
  bad("lisa", { alignmentSteps: 0, finetuneSteps: 0 }, "lisa.alignmentSteps + lisa.finetuneSteps");
  bad("bso", { alignmentSteps: 0, finetuneSteps: 0 }, "bso.alignmentSteps + bso.finetuneSteps");
  bad("bso", { alignmentSteps: 1.5 }, "bso.alignmentSteps");
  bad("lisa", { proximalWarmup: 2 }, "lisa.proximalWarmup");
  bad("ewc", { lambda: -3 }, "ewc.lambda");
  bad("kl", { lambda: Number.NaN }, "kl.lambda");
  bad("vaccine", { rho: -0.1 }, "vaccine.rho");
  bad("vlguard", { alignmentSamples: -1 }, "vlguard.alignmentSamples");
  bad("booster", { lambda: -1 }, "booster.lambda");
  bad("booster", { alpha: Number.POSITIVE_INFINITY }, "booster.alpha");
  bad("repnoise", { beta: -0.5 }, "repnoise.beta");
  bad("t-vaccine", { layers: 0 }, "t-vaccine.layers");
  bad("t-vaccine", { resample: 2.5 }, "t-vaccine.resample");
  bad("ldifs", { lambda: -1e-4 }, "ldifs.lambda");
  bad("dpo", {}, "method");
  bad("sft", { rho: 1 }, "sft.rho");
});

Deno.test("train: invalid loop options fail before any work (no run directory)", async () => {
  const dir = await Deno.makeTempDir();
  const runDir = `${dir}/run`;
  const problem = toyProblem();
  const cases: [Record<string, unknown>, string][] = [
    [{ totalSteps: 0 }, "totalSteps"],
    [{ lr: -1 }, "lr"],
    [{ warmupRatio: 1.5 }, "warmupRatio"],
    [{ schedule: "linear" }, "schedule"],
  ];
  for (const [o, field] of cases) {
    const exit = await Effect.runPromiseExit(
      train(problem, createMethod("sft"), toySources(), {
        totalSteps: 5,
        lr: 0.1,
        runDir,
        ...o,
      } as never).pipe(withBackend),
    );
    assert.ok(Exit.isFailure(exit));
    const err = Exit.isFailure(exit) ? exit.cause : null;
    assert.match(String(err), new RegExp(field));
  }
  // Lisa without alignment data is rejected too.
  const exit = await Effect.runPromiseExit(
    train(problem, createMethod("lisa", { alignmentSteps: 2, finetuneSteps: 2 }), {
      user: toySources().user,
    }, { totalSteps: 5, lr: 0.1, runDir }).pipe(withBackend),
  );
  assert.ok(Exit.isFailure(exit));
  assert.match(String(Exit.isFailure(exit) ? exit.cause : ""), /sources\.alignment/);
  assert.throws(() => Deno.statSync(runDir));
  problem.dispose();
  await Deno.remove(dir, { recursive: true });
});

for (const backend of await testBackends()) {
  Deno.test(`vaccine: layer gradients captured, perturbation has global norm rho [${backend}]`, async () => {
    await useBackend(backend);
    const { hiddenGradients, vaccinePerturbation, klDivergence } = await import(
      "../src/train/mod.ts"
    );
    const problem = toyProblem();
    const batch = toySources(16, 4).user.next(START).batch;
    const vars = Object.values(problem.trainable);
    const before = tf.memory().numTensors;
    const g = hiddenGradients((hook) => problem.loss(batch, { hiddenHook: hook }), vars);
    assert.deepEqual(g.map((t) => t.shape), [[4, 8], [4, 3]]);
    const e = vaccinePerturbation(g, 0.7);
    const [sq] = await readTidy(() => tf.addN(e.map((t) => tf.sum(tf.square(t)))));
    assert.ok(Math.abs(Math.sqrt(sq!) - 0.7) < 1e-4, `norm ${Math.sqrt(sq!)}`);
    tf.dispose([...g, ...e]);
    assert.equal(tf.memory().numTensors, before);
    // KL of a distribution to itself is 0; a known pair gives the textbook value.
    const [self] = await readTidy(() => {
      const a = tf.tensor2d([[0, 1, 2]]);
      return klDivergence(a, a);
    });
    assert.ok(Math.abs(self!) < 1e-6);
    const p = [0.5, 0.5];
    const q = [0.9, 0.1];
    const want = p[0]! * Math.log(p[0]! / q[0]!) + p[1]! * Math.log(p[1]! / q[1]!);
    const [got] = await readTidy(() =>
      klDivergence(tf.log(tf.tensor2d([p])), tf.log(tf.tensor2d([q])))
    );
    assert.ok(Math.abs(got! - want) < 1e-5, `${got} vs ${want}`);
    problem.dispose();
  });
}
