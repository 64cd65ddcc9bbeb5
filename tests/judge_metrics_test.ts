import assert from "node:assert/strict";
import {
  agreement,
  auroc,
  binaryCounts,
  calibration,
  cohenKappa,
  f1FromCounts,
  judgeQuality,
} from "../src/eval/judge_metrics.ts";
import { foldSplit, groupedHoldout, stratifiedGroupFolds } from "../src/eval/folds.ts";

Deno.test("AUROC: ranks with ties counting half; undefined with one class", () => {
  assert.equal(auroc([0.9, 0.8, 0.1], [true, false, false]), 1);
  assert.equal(auroc([0.1, 0.8, 0.9], [true, false, false]), 0);
  // Pairs (pos, neg): (0.5, 0.5) tie, (0.5, 0.2), (0.8, 0.5), (0.8, 0.2) -> 3.5 / 4.
  assert.equal(auroc([0.5, 0.5, 0.2, 0.8], [true, false, false, true]), 0.875);
  assert.ok(Number.isNaN(auroc([0.1, 0.2], [true, true])));
});

Deno.test("counts, F1 and Cohen's kappa", () => {
  const c = binaryCounts([true, true, false, false, true], [true, false, true, false, true]);
  assert.deepEqual(c, { tp: 2, fp: 1, tn: 1, fn: 1 });
  assert.equal(f1FromCounts(c), 4 / 6);
  assert.equal(cohenKappa([true, false, true, false], [true, false, false, false]), 0.5);
  assert.equal(cohenKappa([true, true], [true, true]), 1);
  assert.ok(Math.abs(cohenKappa([true, false], [false, true]) - -1) < 1e-12);
  assert.ok(Number.isNaN(cohenKappa([], [])));
});

Deno.test("calibration: bins, observed rates and expected calibration error", () => {
  const { bins, ece } = calibration(
    [0.05, 0.05, 0.95, 0.95, 1],
    [false, true, true, true, true],
    10,
  );
  assert.equal(bins.length, 10);
  assert.equal(bins[0]!.n, 2);
  assert.equal(bins[0]!.harmfulRate.value, 0.5);
  assert.equal(bins[9]!.n, 3); // 1.0 falls in the last bin
  // |0.05 - 0.5| * 2/5 + |0.9667 - 1| * 3/5
  assert.ok(Math.abs(ece - (0.45 * 0.4 + (1 - (0.95 + 0.95 + 1) / 3) * 0.6)) < 1e-12);
});

Deno.test("judge quality: Wilson and bootstrap intervals, per-category recall", () => {
  const labels = [true, true, true, false, false, false, true, false];
  const flagged = [true, true, false, false, true, false, true, false];
  const scores = [0.9, 0.8, 0.4, 0.2, 0.6, 0.1, 0.7, 0.3];
  const categories = [["a"], ["a", "b"], ["b"], [], [], [], ["a"], []];
  const q = judgeQuality({ labels, flagged, scores, categories }, { graded: true, seed: 1 });
  assert.deepEqual(q.counts, { tp: 3, fp: 1, tn: 3, fn: 1 });
  assert.equal(q.accuracy.value, 0.75);
  assert.ok(q.accuracy.low < 0.75 && q.accuracy.high > 0.75);
  assert.equal(q.recall.value, 0.75);
  assert.equal(q.precision.value, 0.75);
  assert.equal(q.f1.value, 0.75);
  assert.ok(q.f1.low <= 0.75 && q.f1.high >= 0.75);
  assert.equal(q.auroc!.value, auroc(scores, labels));
  assert.equal(q.majorityBaseline, 0.5);
  assert.deepEqual(q.perCategory.map((c) => [c.category, c.n, c.recall.value]), [
    ["a", 3, 1],
    ["b", 2, 0.5],
  ]);
  const ungraded = judgeQuality({ labels, flagged, scores, categories }, { graded: false });
  assert.equal(ungraded.auroc, null);
  assert.equal(ungraded.calibration, null);
});

Deno.test("agreement of two judges: confusion cells and kappa", () => {
  const a = { name: "A", flagged: [true, true, false, false, true, false] };
  const b = { name: "B", flagged: [true, false, false, true, true, false] };
  const g = agreement(a, b, { seed: 2 });
  assert.deepEqual([g.bothFlagged, g.onlyA, g.onlyB, g.neither], [2, 1, 1, 2]);
  assert.ok(Math.abs(g.agreement.value - 4 / 6) < 1e-12);
  assert.ok(Math.abs(g.kappa.value - cohenKappa(a.flagged, b.flagged)) < 1e-12);
  assert.throws(() => agreement(a, { name: "C", flagged: [true] }), RangeError);
});

Deno.test("folds: grouped by prompt, stratified, deterministic", () => {
  const prompts = Array.from({ length: 200 }, (_, i) => `prompt ${i % 150}`); // 50 repeated
  const labels = prompts.map((_, i) => i % 3 !== 0);
  const fold = stratifiedGroupFolds(prompts, labels, 5, 7);
  assert.deepEqual(fold, stratifiedGroupFolds(prompts, labels, 5, 7));
  assert.notDeepEqual(fold, stratifiedGroupFolds(prompts, labels, 5, 8));
  for (let i = 0; i < 50; i++) assert.equal(fold[i], fold[i + 150], `prompt ${i} split`);
  for (let f = 0; f < 5; f++) {
    const { test } = foldSplit(fold, f);
    assert.ok(test.length >= 36 && test.length <= 44, `fold ${f} has ${test.length}`);
    const pos = test.filter((i) => labels[i]).length / test.length;
    assert.ok(Math.abs(pos - 2 / 3) < 0.08, `fold ${f} positive share ${pos}`);
  }
  assert.throws(() => stratifiedGroupFolds(prompts, labels, 1, 0), RangeError);
  // Case and spacing do not make a new prompt.
  const g = stratifiedGroupFolds(
    ["Hi  there", "hi there", "x", "y"],
    [true, false, true, false],
    2,
    0,
  );
  assert.equal(g[0], g[1]);
});

Deno.test("held-out split: grouped by prompt, close to the fraction per label", () => {
  const prompts = Array.from({ length: 500 }, (_, i) => `p${i % 400}`);
  const labels = prompts.map((_, i) => i % 2 === 0);
  const { train, holdout } = groupedHoldout(prompts, labels, 0.2, 3);
  assert.equal(train.length + holdout.length, 500);
  const held = new Set(holdout.map((i) => prompts[i]));
  assert.ok(train.every((i) => !held.has(prompts[i])), "a prompt on both sides");
  assert.ok(Math.abs(holdout.length - 100) <= 4, `${holdout.length} held out`);
  assert.deepEqual(groupedHoldout(prompts, labels, 0, 3).holdout, []);
  assert.throws(() => groupedHoldout(prompts, labels, 1, 3), RangeError);
});
