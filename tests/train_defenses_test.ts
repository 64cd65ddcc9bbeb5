/**
 * Each wave-2 training defense checked against the property that defines it, on cases small
 * enough to compute independently: Booster's penalty is the finite difference it names and its
 * gradient the difference of the two harmful gradients; RepNoise's noise term is an MMD that
 * training on it lowers; T-Vaccine perturbs and trains only the layers it drew, drawn by
 * harmful-gradient norm; LDIFS's value matches a hand-worked case.
 */
import assert from "node:assert/strict";
import { Effect } from "effect";
import { tf } from "../backends/mod.ts";
import { forward } from "../src/model/mod.ts";
import { seededRandom } from "../src/data/rng.ts";
import { batchSource } from "../src/train/sources.ts";
import {
  createMethod,
  drawLayers,
  featureDistance,
  hiddenGradients,
  layerOf,
  makeTrainer,
  type Method,
  mmd,
  noiseTerm,
  repNoiseParts,
  START,
  train,
  vaccinePerturbation,
} from "../src/train/mod.ts";
import type { LmArrays } from "../src/pipeline/tokenize.ts";
import { assertClose, useBackend, withBackend } from "./_helpers.ts";
import { tinyBatch, tinyLm } from "./_tiny_problem.ts";
import { read, readTidy, toyProblem, toySources, weightsOf } from "./train_toy.ts";

const close = assertClose;

const run = <A>(e: Effect.Effect<A, unknown, never>) => Effect.runPromise(e);

Deno.test("booster: the penalty is lambda [h(w) - h(w - alpha g/||g||)], its gradient lambda (g - g')", async () => {
  await useBackend("cpu");
  const problem = toyProblem(4);
  const src = toySources(16, 4);
  const batch = src.alignment.next(START).batch;
  const harmful = src.harmful.next(START).batch;
  const before = tf.memory().numTensors;
  const lambda = 5;
  const alpha = 0.1;
  const names = Object.keys(problem.trainable);
  const vars = names.map((n) => problem.trainable[n]!);
  const w = await weightsOf(problem);

  // By hand: g at w, w' = w - alpha g / ||g|| written from plain arrays, h and g' at w'.
  const gradAt = async () => {
    const { value, grads } = tf.variableGrads(() => problem.loss(harmful), vars);
    const out: Record<string, number[]> = {};
    for (const [i, v] of vars.entries()) out[names[i]!] = await read(grads[v.name]!);
    const h = (await read(value))[0]!;
    tf.dispose([value, ...Object.values(grads)]);
    return { h, g: out };
  };
  const at = await gradAt();
  const norm = Math.sqrt(
    Object.values(at.g).reduce((s, g) => s + g.reduce((a, x) => a + x * x, 0), 0),
  );
  for (const [i, v] of vars.entries()) {
    const n = names[i]!;
    const moved = w[n]!.map((x, j) => x - alpha * at.g[n]![j]! / norm);
    tf.tidy(() => v.assign(tf.tensor(moved, v.shape)));
  }
  const moved = await gradAt();
  for (const [i, v] of vars.entries()) tf.tidy(() => v.assign(tf.tensor(w[names[i]!]!, v.shape)));
  assert.ok(at.h > moved.h, `a harmful step lowers the harmful loss: ${at.h} -> ${moved.h}`);

  const booster = createMethod("booster", { lambda, alpha });
  assert.equal(booster.harmfulBatchAt?.(0), true);
  const ctx = { problem, batch, harmfulBatch: harmful, state: "alignment" as const, step: 0 };
  const out = tf.tidy(() => {
    const objective = booster.objective(ctx);
    const { grads } = tf.variableGrads(() => objective().penalty!, vars);
    const o = objective();
    return [o.penalty!, o.loss, ...vars.map((v) => grads[v.name]!)].map((t) => tf.keep(t));
  });
  const [penalty, loss, ...pgrads] = await Promise.all(out.map(read));
  tf.dispose(out);
  close(penalty![0]!, lambda * (at.h - moved.h), 1e-5, "Booster penalty");
  const [clean] = await readTidy(() => problem.loss(batch));
  close(loss![0]!, clean!, 1e-6, "the loss is the alignment loss");
  for (const [i, n] of names.entries()) {
    const want = at.g[n]!.map((g, j) => lambda * (g - moved.g[n]![j]!));
    pgrads[i]!.forEach((g, j) => close(g, want[j]!, 1e-4, `d penalty / d ${n}[${j}]`));
  }
  // The weights are exactly where they were (the perturbation is undone, not subtracted).
  assert.deepEqual(await weightsOf(problem), w);
  // lambda = 0 is plain alignment training and draws no harmful batch.
  assert.equal(createMethod("booster", { lambda: 0 }).harmfulBatchAt?.(0), false);
  assert.equal(tf.memory().numTensors, before);
  problem.dispose();
});

Deno.test("repnoise: MMD is 0 between equal sets, positive apart, and reads only target positions", async () => {
  await useBackend("cpu");
  const before = tf.memory().numTensors;
  const rand = seededRandom(5);
  const x = Array.from({ length: 4 }, () => Array.from({ length: 6 }, () => rand() * 2 - 1));
  const [same, apart] = await readTidy(() =>
    tf.stack([mmd(tf.tensor2d(x), tf.tensor2d(x)), mmd(tf.tensor2d(x), tf.add(tf.tensor2d(x), 3))])
  );
  close(same!, 0, 1e-6, "MMD(x, x)");
  assert.ok(apart! > 0.5, `MMD(x, x + 3) = ${apart}`);
  // Changing a non-target position leaves the noise term unchanged; a target position does not.
  const h = Array.from({ length: 2 * 3 * 4 }, () => rand());
  const targets = tf.tensor2d([[0, 1, 1], [0, 0, 1]]); // [B, T]
  const term = (values: number[]) =>
    readTidy(() => noiseTerm([tf.tensor3d(values, [2, 3, 4])], targets, 9));
  const [base] = await term(h);
  const [prompt] = await term(h.map((v, i) => (i < 4 ? v + 10 : v))); // b0, t0: not a target
  const [answer] = await term(h.map((v, i) => (i >= 4 && i < 8 ? v + 10 : v))); // b0, t1
  assert.equal(prompt, base);
  assert.notEqual(answer, base);
  targets.dispose();
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("repnoise: the logit lens ends at the model's loss; training lowers the noise term", async () => {
  await useBackend("cpu");
  const sizes = { harmful: tinyBatch(11), safe: tinyBatch(12) };
  // The last layer read out through the final norm and head is the model's output.
  const lm0 = tinyLm(3, 2);
  const f = tf.tidy(() => {
    const out = lm0.problem.features!(sizes.harmful, { lens: true });
    return [out.loss, ...out.lensLosses!].map((t) => tf.keep(t));
  });
  const [loss, ...lens] = (await Promise.all(f.map(read))).map((v) => v[0]!);
  tf.dispose(f);
  assert.equal(lens.length, 2);
  close(lens.at(-1)!, loss!, 1e-6, "last lens loss = model loss");
  const p = await readTidy(() => {
    const parts = repNoiseParts(lm0.problem, sizes.safe, sizes.harmful, 1);
    return tf.stack([parts.ascent, parts.retain]);
  });
  close(p[0]!, (lens[0]! + lens[1]!) / 2, 1e-5, "ascent = mean lens loss");
  close(
    p[1]!,
    await readTidy(() => lm0.problem.loss(sizes.safe)).then((v) => v[0]!),
    1e-6,
    "retain",
  );
  lm0.dispose();

  // Train from the same start with the noise term on (beta 1) and off (beta 0); alpha 0.
  const noiseAfter = async (beta: number) => {
    const lm = tinyLm(3, 2);
    const one = (b: LmArrays) =>
      batchSource([b], { batchSize: 1, seed: 1, collate: (xs) => xs[0]! });
    const method = createMethod("repnoise", { alpha: 0, beta, seed: 4 });
    const value = () =>
      readTidy(() =>
        noiseTerm(
          lm.problem.features!(sizes.harmful).hidden,
          lm.problem.features!(sizes.harmful).targets,
          77,
        )
      );
    const [start] = await value();
    await run(
      withBackend(
        train(lm.problem, method, { alignment: one(sizes.safe), harmful: one(sizes.harmful) }, {
          totalSteps: 30,
          lr: 0.02,
        }),
      ),
    );
    const [end] = await value();
    lm.dispose();
    return { start: start!, end: end! };
  };
  const on = await noiseAfter(1);
  const off = await noiseAfter(0);
  assert.equal(on.start, off.start);
  assert.ok(on.end < on.start, `noise term ${on.start} -> ${on.end}`);
  assert.ok(on.end < off.end, `with the term ${on.end}, without ${off.end}`);
});

Deno.test("t-vaccine: layers drawn without replacement in proportion to their weights", () => {
  const rand = seededRandom(3);
  assert.deepEqual(drawLayers([0, 0, 1, 0], 1, rand), [2]);
  assert.deepEqual(drawLayers([0.1, 0.2, 0.3, 0.4], 4, rand), [0, 1, 2, 3]);
  assert.deepEqual(drawLayers([0, 0, 0], 2, seededRandom(1)).length, 2); // all 0: uniform
  let second = 0;
  for (let i = 0; i < 4000; i++) second += drawLayers([1, 3], 1, rand)[0] === 1 ? 1 : 0;
  close(second / 4000, 0.75, 0.03, "share of the layer with weight 3 of 4");
  assert.equal(layerOf("base_model.model.model.layers.12.self_attn.q_proj.lora_A.weight"), 12);
  assert.equal(layerOf("w1"), null);
});

Deno.test("t-vaccine: weights from harmful-gradient norms; only the drawn layers move or are perturbed", async () => {
  await useBackend("cpu");
  const lm = tinyLm(7, 4);
  const batches = [tinyBatch(21), tinyBatch(22)];
  const harmfulBatches = [tinyBatch(31), tinyBatch(32)];
  const source = (bs: LmArrays[]) =>
    batchSource(bs, { batchSize: 1, seed: 2, shuffle: false, collate: (xs) => xs[0]! });
  const before = tf.memory().numTensors;
  const rho = 0.5;
  const method: Method = createMethod("t-vaccine", {
    rho,
    layers: 1,
    resample: 2,
    refresh: 4,
    seed: 9,
  });
  const names = Object.keys(lm.problem.trainable);
  const seen = new Set<number>();
  await run(withBackend(Effect.scoped(Effect.gen(function* () {
    const t = yield* makeTrainer(lm.problem, method, {
      alignment: source(batches),
      harmful: source(harmfulBatches),
    }, { totalSteps: 6, lr: 0.05, weightDecay: 0.1 });
    for (let step = 0; step < 6; step++) {
      const w0 = yield* Effect.promise(() => weightsOf(lm.problem));
      // At a refresh step, the layers' harmful-gradient norms by hand, at the current weights.
      const norms = step % 4 === 0
        ? yield* Effect.promise(async () => {
          const g = hiddenGradients(
            (hook) => lm.problem.loss(harmfulBatches[step / 4]!, { hiddenHook: hook }),
            Object.values(lm.problem.trainable),
          );
          const out = await Promise.all(
            g.map((x) => readTidy(() => tf.sqrt(tf.sum(tf.square(x))))),
          );
          tf.dispose(g);
          return out.map((v) => v[0]!);
        })
        : null;
      yield* t.step;
      const held = method.tensors!();
      const chosen = yield* Effect.promise(() => read(held.chosen!));
      const weights = yield* Effect.promise(() => read(held.weights!));
      assert.equal(chosen.length, 1);
      seen.add(chosen[0]!);
      if (norms) {
        // The weights are the layers' harmful-gradient norms over their sum.
        const total = norms.reduce((s, v) => s + v, 0);
        norms.forEach((v, l) => close(weights[l]!, v / total, 1e-5, `weight of layer ${l}`));
      }
      const w1 = yield* Effect.promise(() => weightsOf(lm.problem));
      for (const n of names) {
        const moved = w1[n]!.some((x, j) => x !== w0[n]![j]);
        assert.equal(moved, layerOf(n) === chosen[0], `step ${step}: ${n} moved = ${moved}`);
      }
    }
  }))));
  assert.ok(seen.size >= 1);
  // The perturbation lands on the drawn layer only: the objective's loss equals the loss with
  // rho * g_l / ||g_l|| added to that layer's output and nothing else.
  const chosen = (await read(method.tensors!().chosen!))[0]!;
  const batch = batches[0]!;
  const [got] = await readTidy(() =>
    method.objective({ problem: lm.problem, batch, state: "alignment", step: 7 })().loss
  );
  const active = Object.entries(lm.problem.trainable).filter(([n]) => layerOf(n) === chosen);
  const g = hiddenGradients(
    (hook) => lm.problem.loss(batch, { hiddenHook: hook }),
    active.map(([, v]) => v),
  );
  const only = g.map((t, l) => (l === chosen ? t : undefined)) as tf.Tensor[];
  const e = vaccinePerturbation(only, rho);
  const [byHand, everywhere] = await readTidy(() =>
    tf.stack([
      lm.problem.loss(batch, { hiddenHook: (l, h) => (l === chosen ? tf.add(h, e[l]!) : h) }),
      lm.problem.loss(batch, { hiddenHook: (l, h) => (e[l] ? tf.add(h, e[l]!) : h) }),
    ])
  );
  tf.dispose([...g.filter((t) => t !== undefined), ...e]);
  close(got!, byHand!, 1e-5, "T-Vaccine loss");
  method.dispose!();
  assert.equal(tf.memory().numTensors, before);
  assert.ok(Number.isFinite(everywhere!));
  lm.dispose();
});

Deno.test("ldifs: lambda/2 * sum_l ||(h_l - h_l^aligned) * mask||^2, by hand", async () => {
  await useBackend("cpu");
  const before = tf.memory().numTensors;
  // Two layers, one sample, two positions of which the second is padding.
  const [d] = await readTidy(() =>
    featureDistance(
      [tf.tensor3d([[[1, 2], [3, 4]]]), tf.tensor3d([[[0, 0], [5, 5]]])],
      [tf.tensor3d([[[0, 2], [1, 1]]]), tf.tensor3d([[[1, 1], [0, 0]]])],
      tf.tensor2d([[1, 0]]),
    )
  );
  assert.equal(d, (1 - 0) ** 2 + 0 + 1 + 1); // layer 0: 1; layer 1: 2; padding ignored
  // On the toy MLP: at the start the model is the reference (penalty exactly 0); shifting the
  // last bias by 0.5 moves only layer 1's output, by 0.5 in each of B x 3 entries.
  const problem = toyProblem(6);
  const batch = toySources(8, 4).user.next(START).batch;
  const lambda = 0.3;
  const ldifs = createMethod("ldifs", { lambda });
  const ctx = { problem, batch, state: "finetune" as const, step: 0 };
  const [zero] = await readTidy(() => ldifs.objective(ctx)().penalty!);
  assert.equal(zero, 0);
  tf.tidy(() => problem.trainable.b2!.assign(tf.add(problem.trainable.b2!, 0.5)));
  const [shifted, loss] = await readTidy(() => {
    const o = ldifs.objective(ctx)();
    return tf.stack([o.penalty!, o.loss]);
  });
  close(shifted!, (lambda / 2) * 4 * 3 * 0.25, 1e-5, "LDIFS penalty");
  close(loss!, (await readTidy(() => problem.loss(batch)))[0]!, 1e-6, "LDIFS loss");
  problem.dispose();
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("ldifs on a decoder: the distance of every layer's output to the aligned model's, padding masked", async () => {
  await useBackend("cpu");
  const lm = tinyLm(5, 3);
  const batch = tinyBatch(41);
  const lambda = 2;
  const [got] = await readTidy(() =>
    createMethod("ldifs", { lambda }).objective({
      problem: lm.problem,
      batch,
      state: "finetune",
      step: 0,
    })().penalty!
  );
  // By hand: run the decoder with and without the adapter, keep every layer's output.
  const ids = tf.tensor2d(batch.inputIds, undefined, "int32");
  const mask = tf.tensor2d(batch.attentionMask, undefined, "int32");
  const outputs = (adapters: typeof lm.adapter[]) => {
    const hs: tf.Tensor[] = [];
    tf.dispose(forward(lm.config, lm.base, ids, {
      adapters,
      attentionMask: mask,
      hiddenHook: (l, h) => {
        hs[l] = tf.keep(h.clone());
        return h;
      },
    }));
    return Promise.all(hs.map(async (h) => {
      const v = await read(h);
      h.dispose();
      return v;
    }));
  };
  const now = await outputs([lm.adapter]);
  const ref = await outputs([]);
  const [b, t] = [batch.inputIds.length, batch.inputIds[0]!.length];
  const c = lm.config.hiddenSize;
  let sum = 0;
  for (let l = 0; l < now.length; l++) {
    for (let i = 0; i < b * t; i++) {
      if (batch.attentionMask[Math.floor(i / t)]![i % t] === 0) continue;
      for (let k = 0; k < c; k++) sum += (now[l]![i * c + k]! - ref[l]![i * c + k]!) ** 2;
    }
  }
  tf.dispose([ids, mask]);
  assert.ok(sum > 0);
  close(got!, (lambda / 2) * sum, 1e-4, "LDIFS on the decoder");
  lm.dispose();
});

Deno.test("booster, repnoise, t-vaccine: a resumed run ends with the same weights", async () => {
  await useBackend("cpu");
  const dir = await Deno.makeTempDir();
  const source = (seeds: number[]) =>
    batchSource(seeds.map((s) => tinyBatch(s)), { batchSize: 1, seed: 3, collate: (xs) => xs[0]! });
  const options: Record<string, Record<string, unknown>> = {
    "booster": { lambda: 5, alpha: 0.1 },
    "repnoise": { alpha: 0.1, beta: 0.5, seed: 2 },
    "t-vaccine": { rho: 1, layers: 2, resample: 2, refresh: 4, seed: 5 },
  };
  for (const [name, o] of Object.entries(options)) {
    const runTo = async (runDir: string, extra: { haltAfter?: number; resume?: boolean }) => {
      const lm = tinyLm(9, 3);
      const sources = { alignment: source([51, 52, 53]), harmful: source([61, 62]) };
      const method = createMethod(name, o);
      await run(withBackend(train(lm.problem, method, sources, {
        totalSteps: 6,
        lr: 0.03,
        weightDecay: 0.1,
        checkpointEvery: 2,
        runDir,
        ...extra,
      })));
      const w = await weightsOf(lm.problem);
      method.dispose?.();
      lm.dispose();
      return w;
    };
    const want = await runTo(`${dir}/${name}-a`, {});
    await runTo(`${dir}/${name}-b`, { haltAfter: 3 }); // a checkpoint at step 2, then "a crash"
    const got = await runTo(`${dir}/${name}-b`, { resume: true });
    for (const [k, w] of Object.entries(want)) {
      w.forEach((x, i) => close(got[k]![i]!, x, 1e-6, `${name}: ${k}[${i}]`));
    }
  }
  await Deno.remove(dir, { recursive: true });
});
