/**
 * The judge card's measurement line: the date of a measurement made at a known time, and the
 * whole words of one that has none (the embedded judge's held-out figures, recorded by a
 * bit-reproducible build without a clock time). It once cut "training time" to "training t".
 */
import assert from "node:assert/strict";
import { Effect } from "effect";
import { DEFAULT_CONFIG } from "../src/config/mod.ts";
import { judgeQuality, measurementLine, measurementOf, whenMeasured } from "../src/eval/mod.ts";
import { measurementFromCounts, openJudge } from "../src/pipeline/judges.ts";

Deno.test("whenMeasured: an ISO time gives its date, words are kept whole", () => {
  assert.equal(whenMeasured("2026-12-02T21:45:51.928Z"), "2026-12-02");
  assert.equal(whenMeasured("at training time"), "at training time");
  // A date alone is words too, and stays as written.
  assert.equal(whenMeasured("2026-12-02"), "2026-12-02");
});

Deno.test("measurementLine: the time clause of a dated and of an undated measurement", () => {
  const q = judgeQuality({
    labels: [true, true, false, false],
    flagged: [true, false, false, false],
    scores: [1, 0, 0, 0],
    categories: [[], [], [], []],
  }, { graded: false });
  const dated = measurementLine(measurementOf(q, "four rows", "labelled set", "2026-12-02T10:00Z"));
  assert.match(dated, /\(labelled set, n = 4, 50% harmful; measured 2026-12-02\)$/);
  const counts = {
    n: 10,
    truePositives: 4,
    falsePositives: 1,
    trueNegatives: 4,
    falseNegatives: 1,
    accuracy: 0.8,
    precision: 0.8,
    recall: 0.8,
    majorityBaseline: 0.5,
  };
  const undated = measurementLine(measurementFromCounts(counts, "ten rows"));
  assert.match(undated, /^accuracy 0\.800 \[/);
  assert.match(undated, /\(held-out split, n = 10, 50% harmful; measured at training time\)$/);
});

Deno.test("the embedded judge's card ends its measurement with the whole clause", async () => {
  const judge = await Effect.runPromise(
    openJudge({ kind: "classifier", path: "" }, DEFAULT_CONFIG),
  );
  const line = measurementLine(judge.card?.measured ?? null);
  assert.match(line, /; measured at training time\)$/);
  assert.doesNotMatch(line, /training t\)/);
});
