import { strict as assert } from "node:assert";
import {
  batchSource,
  isSwitch,
  learningRate,
  START,
  stateAt,
  stateSequence,
  stateStart,
  warmupSteps,
} from "../src/train/mod.ts";
import { makeRng, rngFromState, seededRandom, shuffledIndices } from "../src/data/rng.ts";

Deno.test("schedule: exact state sequence for K1=2, K2=3, 12 steps", () => {
  const a = "alignment", f = "finetune";
  assert.deepEqual(stateSequence(12, 2, 3), [a, a, f, f, f, a, a, f, f, f, a, a]);
});

Deno.test("schedule: K1 = 0 is plain SFT, K2 = 0 is alignment only", () => {
  assert.ok(stateSequence(50, 0, 7).every((s) => s === "finetune"));
  assert.ok(stateSequence(50, 4, 0).every((s) => s === "alignment"));
  assert.throws(() => stateAt(0, 0, 0), RangeError);
});

Deno.test("schedule: switches and state starts", () => {
  const of = (s: number) => stateAt(s, 2, 3);
  const switches = Array.from({ length: 12 }, (_, i) => i).filter((i) => isSwitch(i, of));
  assert.deepEqual(switches, [2, 5, 7, 10]);
  assert.equal(stateStart(4, of), 2);
  assert.equal(stateStart(6, of), 5);
  assert.equal(stateStart(0, of), 0);
});

Deno.test("lr: constant with warm-up and cosine match the HF formulas", () => {
  const c = { lr: 1, schedule: "constant" as const, warmupRatio: 0.1, totalSteps: 100 };
  assert.equal(warmupSteps(0.1, 100), 10);
  assert.equal(warmupSteps(0.1, 95), 10); // rounded up
  assert.equal(learningRate(0, c), 0);
  assert.equal(learningRate(5, c), 0.5);
  assert.equal(learningRate(10, c), 1);
  assert.equal(learningRate(99, c), 1);
  const k = { ...c, schedule: "cosine" as const };
  assert.equal(learningRate(5, k), 0.5);
  assert.equal(learningRate(10, k), 1);
  assert.ok(Math.abs(learningRate(55, k) - 0.5) < 1e-12); // half-way through the decay
  assert.ok(Math.abs(learningRate(40, k) - 0.5 * (1 + Math.cos(Math.PI / 3))) < 1e-12);
  assert.ok(learningRate(99, k) > 0 && learningRate(99, k) < 0.001);
  assert.equal(learningRate(3, { ...k, warmupRatio: 0 }), 0.5 * (1 + Math.cos(Math.PI * 0.03)));
});

Deno.test("rng and sources: seeded, resumable from a cursor, reshuffled each epoch", () => {
  const a = makeRng(5);
  const xs = [a.next(), a.next()];
  const b = makeRng(5);
  assert.deepEqual([b.next(), b.next()], xs);
  const c = makeRng(5);
  c.next();
  const resumed = rngFromState(c.state);
  assert.equal(resumed.next(), xs[1]);
  const p = shuffledIndices(10, seededRandom(1));
  assert.deepEqual([...p].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);

  const src = batchSource([0, 1, 2, 3, 4, 5, 6], { batchSize: 3, seed: 9, collate: (x) => [...x] });
  assert.equal(src.batchesPerEpoch, 3);
  let cur = START;
  const seen: number[][] = [];
  for (let i = 0; i < 6; i++) {
    const n = src.next(cur);
    seen.push(n.batch);
    cur = n.cursor;
  }
  assert.deepEqual(seen.map((b) => b.length), [3, 3, 1, 3, 3, 1]);
  assert.deepEqual(seen.slice(0, 3).flat().sort(), [0, 1, 2, 3, 4, 5, 6]);
  assert.notDeepEqual(seen.slice(0, 3).flat(), seen.slice(3).flat()); // new order in epoch 1
  const again = batchSource([0, 1, 2, 3, 4, 5, 6], {
    batchSize: 3,
    seed: 9,
    collate: (x) => [...x],
  });
  assert.deepEqual(again.next({ epoch: 1, position: 3 }).batch, seen[4]);
});

Deno.test("progress: line shows step, state, loss, tokens/s and ETA", async () => {
  const { formatDuration, progressLine } = await import("../src/train/mod.ts");
  assert.equal(formatDuration(5), "5s");
  assert.equal(formatDuration(125), "2m05s");
  assert.equal(formatDuration(3720), "1h02m");
  const line = progressLine("lisa", {
    done: 5,
    total: 10,
    state: "finetune",
    loss: 0.123456,
    tokensPerSec: 99.6,
    etaSec: 65,
  }, 10);
  assert.equal(line, "lisa [#####-----] 5/10 finetune  loss 0.1235 100 tok/s ETA 1m05s");
});
