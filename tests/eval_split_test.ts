/**
 * Evaluation splits and budgets: `eval.split = validation` gives the validation prompts and
 * sentences (disjoint from training and test), files refuse it, and the label-task budget
 * cannot change an exact-match verdict.
 */
import assert from "node:assert/strict";
import { Effect, Exit } from "effect";
import { DEFAULT_CONFIG, type ExperimentConfig } from "../src/config/mod.ts";
import { normalisePrompt } from "../src/data/mod.ts";
import { harmfulValidationPrompts } from "../src/embedded/mod.ts";
import { isCorrect } from "../src/eval/mod.ts";
import { loadDatasets, taskBudget } from "../src/pipeline/mod.ts";

const cfg = (split: "test" | "validation"): ExperimentConfig => ({
  ...DEFAULT_CONFIG,
  data: { ...DEFAULT_CONFIG.data, alignmentN: 300, n: 300 },
  eval: { ...DEFAULT_CONFIG.eval, split, harmfulN: 504, taskN: 120 },
});

Deno.test("eval.split: validation sets are disjoint from training and test sets", async () => {
  const test = await Effect.runPromise(loadDatasets(cfg("test")));
  const val = await Effect.runPromise(loadDatasets(cfg("validation")));
  assert.equal(test.harmfulEval.length, 504);
  assert.equal(val.harmfulEval.length, 252, "the validation pool, whole");
  const valPrompts = new Set(harmfulValidationPrompts().map((p) => p.prompt));
  assert.ok(val.harmfulEval.every((e) => valPrompts.has(e.instruction)));
  assert.equal(val.taskTest.length, 120);
  const keys = (xs: readonly { instruction: string; input: string }[]) =>
    new Set(xs.map(normalisePrompt));
  const testKeys = keys(test.taskTest), trainKeys = keys(test.taskTrain);
  assert.ok(val.taskTest.every((e) => !testKeys.has(normalisePrompt(e))));
  assert.ok(val.taskTest.every((e) => !trainKeys.has(normalisePrompt(e))));
  // The training data does not depend on the split evaluated.
  assert.deepEqual(val.taskTrain, test.taskTrain);
  assert.deepEqual(val.alignment, test.alignment);
});

Deno.test("eval.split: validation with data files is refused, naming the field", async () => {
  const files: ExperimentConfig = {
    ...cfg("validation"),
    data: { ...cfg("validation").data, task: "sst2", taskPath: "a", taskTestPath: "b" },
  };
  const exit = await Effect.runPromiseExit(loadDatasets(files));
  assert.ok(Exit.isFailure(exit));
  assert.match(String(exit.cause), /eval\.split/);
});

Deno.test("task budget: 8 tokens for label tasks, never changing an exact-match verdict", () => {
  assert.equal(taskBudget("sst2", 32), 8);
  assert.equal(taskBudget("agnews", 32), 8);
  assert.equal(taskBudget("sst2", 4), 4);
  assert.equal(taskBudget("gsm8k", 32), 32);
  assert.equal(taskBudget(null, 32), 32);
  // An answer longer than the budget is wrong whole and wrong cut (labels are 1-3 tokens).
  for (const long of ["positive and more words here", "negative negative negative"]) {
    const cut = long.split(" ").slice(0, 2).join(" ");
    assert.equal(isCorrect("sst2", long, "positive"), false);
    assert.equal(isCorrect("sst2", cut, "positive"), false);
  }
});
