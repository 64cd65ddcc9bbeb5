/** Harmful mixing, alignment mixing, splits and the seeded RNG. */
import assert from "node:assert/strict";
import { Effect, Exit } from "effect";
import {
  assertDisjoint,
  countByKind,
  type Example,
  makeRng,
  mixAlignment,
  mixCounts,
  mixHarmful,
  sampleIndices,
  shuffle,
  SourceTooSmall,
  SplitOverlap,
  splitTrainTest,
} from "../src/data/mod.ts";

const make = (kind: Example["provenance"]["kind"], n: number, source: string): Example[] =>
  Array.from({ length: n }, (_, i) => ({
    instruction: `${source} prompt ${i}`,
    input: "",
    output: "o",
    provenance: { source, row: i + 1, kind },
  }));

/** The value of an Effect that must succeed synchronously. */
const run = <A, E>(e: Effect.Effect<A, E>): A => Effect.runSync(e);

/** The typed failure of an Effect that must fail. */
function failure<A, E>(e: Effect.Effect<A, E>): E {
  const exit = Effect.runSyncExit(e);
  if (Exit.isSuccess(exit)) throw new Error("expected a failure");
  const f = exit.cause.reasons.find((r) => r._tag === "Fail");
  if (!f || f._tag !== "Fail") throw new Error(`expected a typed failure, got ${exit.cause}`);
  return f.error;
}

const task = make("task", 1200, "task.tsv");
const harmful = make("harmful", 400, "unsafe.jsonl");
const align = make("alignment", 300, "safe.jsonl");

Deno.test("rng: deterministic by seed, different across seeds, uniform-ish", () => {
  const a = makeRng(7), b = makeRng(7), c = makeRng(8);
  const xs = Array.from({ length: 5 }, () => a.next());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => b.next()));
  assert.notDeepEqual(xs, Array.from({ length: 5 }, () => c.next()));
  // Pinned values: the sequence must not change across versions or platforms.
  const pinned = makeRng(42);
  assert.deepEqual([pinned.int(1000), pinned.int(1000), pinned.int(1000)], [601, 448, 852]);
  const r = makeRng(1);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 4000; i++) counts[r.int(4)]!++;
  assert.ok(counts.every((k) => k > 900 && k < 1100), String(counts));
  const s = shuffle([1, 2, 3, 4, 5, 6], 3);
  assert.deepEqual([...s].sort(), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(s, shuffle([1, 2, 3, 4, 5, 6], 3));
  assert.equal(new Set(sampleIndices(100, 30, 2)).size, 30);
});

Deno.test("mixHarmful: exact counts over a grid of (n, p)", () => {
  const bigHarmful = make("harmful", 1000, "unsafe.jsonl");
  for (const n of [0, 1, 7, 10, 99, 100, 1000]) {
    for (const pct of [0, 1, 5, 10, 20, 29, 30, 33, 50, 70, 90, 100]) {
      const p = pct / 100;
      const m = run(mixHarmful({ task, harmful: bigHarmful, n, p, seed: 1, selection: "random" }));
      const poison = Math.floor((pct * n) / 100);
      const normal = Math.floor(((100 - pct) * n) / 100);
      assert.deepEqual([m.poison, m.normal], [poison, normal], `n=${n} p=${p}`);
      const k = countByKind(m.examples);
      assert.deepEqual([k.harmful, k.task, k.alignment], [poison, normal, 0], `n=${n} p=${p}`);
    }
  }
  assert.deepEqual(mixCounts(5000, 0.1), [500, 4500]);
});

Deno.test("mixHarmful: first = the sources' first rows; random is seeded; provenance adds up", () => {
  const first = run(mixHarmful({ task, harmful, n: 1000, p: 0.1, seed: 3, shuffle: false }));
  assert.deepEqual(
    first.examples.slice(0, 900).map((e) => e.provenance.row),
    task.slice(0, 900).map((e) => e.provenance.row),
  );
  assert.deepEqual(
    first.examples.slice(900).map((e) => e.provenance.row),
    harmful.slice(0, 100).map((e) => e.provenance.row),
  );
  const a = run(mixHarmful({ task, harmful, n: 1000, p: 0.2, seed: 5, selection: "random" }));
  const b = run(mixHarmful({ task, harmful, n: 1000, p: 0.2, seed: 5, selection: "random" }));
  const c = run(mixHarmful({ task, harmful, n: 1000, p: 0.2, seed: 6, selection: "random" }));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.examples, c.examples);
  // Every example traces back to exactly one source row, without repeats.
  const keys = a.examples.map((e) => `${e.provenance.source}:${e.provenance.row}`);
  assert.equal(new Set(keys).size, 1000);
  const bySource = Object.groupBy(a.examples, (e) => e.provenance.source);
  assert.equal(bySource["unsafe.jsonl"]?.length, 200);
  assert.equal(bySource["task.tsv"]?.length, 800);
  assert.ok(
    a.examples.every((e) =>
      e.provenance.kind === (e.provenance.source === "task.tsv" ? "task" : "harmful")
    ),
  );
});

Deno.test("mixHarmful: clear errors for small sources and bad parameters", () => {
  const small = failure(mixHarmful({ task, harmful, n: 5000, p: 0.1, seed: 0 }));
  assert.ok(
    small.source === "task" && small.needed === 4500 && small.available === 1200 &&
      /task source has 1200 examples, 4500 are needed/.test(small.message),
  );
  assert.equal(failure(mixHarmful({ task, harmful, n: 1000, p: 0.5, seed: 0 })).source, "harmful");
  // Out-of-range n or p is a defect: the config schema rejects them before any stage runs.
  assert.throws(() => run(mixHarmful({ task, harmful, n: 10, p: 1.5, seed: 0 })), /p must be in/);
  assert.throws(() => run(mixHarmful({ task, harmful, n: -1, p: 0.1, seed: 0 })), /n must be/);
});

Deno.test("mixAlignment: k alignment samples, seeded, provenance kept", () => {
  const user = make("task", 50, "u");
  const m = run(mixAlignment({ user, alignment: align, k: 20, seed: 9 }));
  assert.equal(m.length, 70);
  assert.deepEqual(countByKind(m), { task: 50, harmful: 0, alignment: 20 });
  assert.deepEqual(m, run(mixAlignment({ user, alignment: align, k: 20, seed: 9 })));
  assert.ok(
    failure(mixAlignment({ user, alignment: align, k: 301, seed: 1 })) instanceof SourceTooSmall,
  );
});

Deno.test("splits: train/test disjoint, overlap detected with a clear error", () => {
  const dup = [...task.slice(0, 100), ...task.slice(0, 100)]; // every prompt twice
  const s = run(splitTrainTest(dup, { test: 30, seed: 4, name: "dup" }));
  assert.equal(s.test.length, 30);
  const testPrompts = new Set(s.test.map((e) => e.instruction));
  assert.ok(s.train.every((e) => !testPrompts.has(e.instruction)));
  assert.deepEqual(s, run(splitTrainTest(dup, { test: 30, seed: 4, name: "dup" })));
  const evalSet = [{ ...task[5]!, instruction: "  TASK.TSV prompt   5 " }];
  assert.throws(
    () => assertDisjoint({ name: "train", examples: task }, { name: "eval", examples: evalSet }),
    (e: unknown) =>
      e instanceof SplitOverlap && e.count === 1 && e.trainRow === 6 && e.evaluationRow === 1 &&
      /evaluation set "eval" also appear in training set "train"/.test(e.message),
  );
  assertDisjoint({ name: "train", examples: task }, { name: "eval", examples: harmful });
});
