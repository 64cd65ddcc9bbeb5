import assert from "node:assert/strict";
import {
  bootstrapInterval,
  formatEstimate,
  quantileSorted,
  scaleEstimate,
  wilsonEstimate,
} from "../src/eval/interval.ts";

const close = (a: number, b: number, tol = 1e-4) =>
  assert.ok(Math.abs(a - b) <= tol, `${a} not within ${tol} of ${b}`);

Deno.test("Wilson interval matches the textbook values", () => {
  // Newcombe (1998), table I: 1/10 -> 0.0179-0.4042; 50/100 and 0/100 by the same formula.
  const a = wilsonEstimate(1, 10);
  close(a.low, 0.0179);
  close(a.high, 0.4042);
  const b = wilsonEstimate(50, 100);
  close(b.value, 0.5);
  close(b.low, 0.4038);
  close(b.high, 0.5962);
  const c = wilsonEstimate(0, 100);
  assert.equal(c.low, 0);
  close(c.high, 0.0370);
  const d = wilsonEstimate(100, 100);
  assert.equal(d.high, 1);
  close(d.low, 1 - 0.0370);
});

Deno.test("Wilson interval: n = 0 is undefined, bad counts are refused", () => {
  assert.ok(Number.isNaN(wilsonEstimate(0, 0).value));
  assert.throws(() => wilsonEstimate(11, 10), RangeError);
  assert.equal(formatEstimate(wilsonEstimate(0, 0)), "n/a");
});

Deno.test("scaled and formatted as percentages", () => {
  const pct = scaleEstimate(wilsonEstimate(50, 100), 100);
  assert.equal(formatEstimate(pct), "50.0 [40.4, 59.6]");
});

Deno.test("bootstrap interval: deterministic by seed, brackets the estimate", () => {
  const xs = Array.from({ length: 200 }, (_, i) => (i * 37) % 101);
  const mean = (idx: readonly number[]) => idx.reduce((s, i) => s + xs[i]!, 0) / idx.length;
  const a = bootstrapInterval(xs.length, mean, { seed: 3, resamples: 500 });
  const b = bootstrapInterval(xs.length, mean, { seed: 3, resamples: 500 });
  assert.deepEqual(a, b);
  assert.ok(a.low < a.value && a.value < a.high);
  // The standard error of a mean of 200 values spread over 0..100 is about 2; the 95% width
  // must be of that order (4 * 2 = 8), not 0 and not the whole range.
  assert.ok(a.high - a.low > 4 && a.high - a.low < 14, `width ${a.high - a.low}`);
  const c = bootstrapInterval(xs.length, mean, { seed: 4, resamples: 500 });
  assert.notDeepEqual(a, c);
});

Deno.test("bootstrap drops undefined resamples; quantiles interpolate", () => {
  const ci = bootstrapInterval(5, (idx) => (idx.includes(0) ? 1 : Number.NaN), { seed: 1 });
  assert.equal(ci.low, 1);
  assert.equal(ci.high, 1);
  assert.equal(quantileSorted([0, 10], 0.25), 2.5);
  assert.ok(Number.isNaN(quantileSorted([], 0.5)));
});
