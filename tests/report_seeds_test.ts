import assert from "node:assert/strict";
import { renderMarkdown } from "../src/report/markdown.ts";
import { pooledInterval, seedRows, seedSection, seedTable } from "../src/report/seeds.ts";

Deno.test("over seeds: mean ± std, the pooled Wilson interval and stage seconds", () => {
  const run = (
    seed: number,
    HS: number,
    FA: number,
    alignSeconds: number,
    trainSeconds: number,
  ) => ({
    method: "booster+lisa",
    task: "sst2",
    p: 0.1,
    n: 100,
    rho: 1,
    K1: 10,
    K2: 90,
    seed,
    HS,
    FA,
    harmfulN: 100,
    taskN: 50,
    alignSeconds,
    trainSeconds,
  });
  const runs = [run(1, 10, 80, 30, 12), run(2, 20, 90, 34, 14)];
  const [row] = seedRows(runs);
  assert.deepEqual(row!.seeds, [1, 2]);
  // HS: 10 + 20 of 200 prompts = 15%, Wilson [10.71, 20.61] by hand (z = 1.96).
  assert.ok(Math.abs(row!.HSPooled!.lo - 10.71) < 0.01, `lo ${row!.HSPooled!.lo}`);
  assert.ok(Math.abs(row!.HSPooled!.hi - 20.61) < 0.01, `hi ${row!.HSPooled!.hi}`);
  assert.equal(row!.alignSeconds.mean, 32);
  assert.equal(row!.trainSeconds.mean, 13);
  const md = seedTable([row!]);
  assert.match(md, /\| booster\+lisa \| 15\.00 ± 7\.07 \[10\.7, 20\.6\] \| 85\.00 ± 7\.07 \[/);
  assert.match(md, /\| 32 ± 3 \| 13 ± 1 \| 2 \|$/);
  // A run without its prompt count has no pooled interval; one seed has no section.
  assert.equal(pooledInterval([{ HS: 10, FA: 1 }], "HS"), undefined);
  assert.deepEqual(seedSection(runs.slice(0, 1)), []);
  assert.ok(renderMarkdown({ title: "t", runs }).includes("## Over seeds"));
  assert.ok(!renderMarkdown({ title: "t", runs: runs.slice(0, 1) }).includes("## Over seeds"));
});
