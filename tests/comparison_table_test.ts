import assert from "node:assert/strict";
import { comparisonTable } from "../src/pipeline/table.ts";
import type { ModelRow } from "../src/pipeline/rows.ts";

const ci = (lo: number, hi: number) => ({ lo, hi });

Deno.test("comparison table: every value sits under its own header", () => {
  const row: ModelRow = {
    label: "lisa",
    method: "lisa",
    harmfulScore: 12.5,
    harmfulScorePlus: 13.5,
    incoherenceRate: 1.5,
    incoherenceRule: "heuristic+oov",
    baseNll: 3.25,
    refusalRate: 80.5,
    byCategory: {},
    finetuneAccuracy: 96.25,
    harmfulN: 504,
    taskN: 400,
    intervals: {
      harmfulScore: ci(10, 15),
      harmfulScorePlus: ci(11, 16),
      incoherenceRate: ci(1, 2),
      refusalRate: ci(77, 84),
      finetuneAccuracy: ci(94, 98),
    },
    trainSeconds: 120,
    evalSeconds: 40,
    steps: 300,
    meanLoss: {},
    drift: [],
  };
  const [head, , body] = comparisonTable([row]).split("\n");
  const cols = (line: string) => line!.trim().split(/\s{2,}/);
  const at = Object.fromEntries(cols(head!).map((h, i) => [h, cols(body!)[i]]));
  assert.equal(at["base NLL"], "3.25");
  assert.equal(at["FA [95% CI]"], "96.3 [94.0, 98.0]");
  assert.equal(at["refusal"], "80.5");
  assert.equal(at["incoh."], "1.5");
  assert.equal(at["steps"], "300");
});
