/**
 * Loaders against the real files in ../shared/data (skipped with a message when absent).
 * Only counts, balances and keys are asserted; no data text is printed.
 */
import assert from "node:assert/strict";
import { Effect } from "effect";
import { CATEGORY_KEYS, formatPrompt, loadAllPromise, splitSafety } from "../src/data/mod.ts";
import type { Example } from "../src/data/mod.ts";
import { missingSharedData, requires, sharedData } from "./_helpers.ts";

function countBy(xs: readonly Example[], key: (e: Example) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[key(x)] = (out[key(x)] ?? 0) + 1;
  return out;
}

Deno.test({
  ...requires("real SST-2 dev: 872 rows, 444 positive, 428 negative", missingSharedData("sst2")),
  fn: async () => {
    const dir = sharedData("sst2")!;
    const { examples, skipped } = await loadAllPromise(`${dir}/dev.tsv`);
    assert.equal(skipped, 0);
    assert.equal(examples.length, 872);
    assert.deepEqual(countBy(examples, (e) => e.label ?? ""), { positive: 444, negative: 428 });
    // The sentence keeps its trailing space; the header is line 1, so the first row is line 2.
    assert.ok(examples[0]?.input.endsWith(" "));
    assert.equal(examples[0]?.provenance.row, 2);
    assert.ok(formatPrompt(examples[0] as Example).includes("\n\n### Input:\n"));
  },
});

Deno.test({
  ...requires(
    "real AG News test: 7600 rows, 1900 per class; limit stops early",
    missingSharedData("agnews"),
  ),
  fn: async () => {
    const dir = sharedData("agnews")!;
    const { examples } = await loadAllPromise(`${dir}/test.csv`);
    assert.equal(examples.length, 7600);
    assert.deepEqual(countBy(examples, (e) => e.label ?? ""), {
      World: 1900,
      Sports: 1900,
      Business: 1900,
      "Sci/Tech": 1900,
    });
    const classes = (await Deno.readTextFile(`${dir}/classes.txt`)).trim().split(/\r?\n/);
    assert.deepEqual(classes, ["World", "Sports", "Business", "Sci/Tech"]);
    const few = await loadAllPromise(`${dir}/train_first2000.csv`, { limit: 5 });
    assert.equal(few.examples.length, 5);
  },
});

Deno.test({
  ...requires(
    "real GSM8K test: 1319 rows, each with a gold number and the final-answer phrase",
    missingSharedData("gsm8k"),
  ),
  fn: async () => {
    const dir = sharedData("gsm8k")!;
    const { examples } = await loadAllPromise(`${dir}/test.jsonl`);
    assert.equal(examples.length, 1319);
    for (const e of examples) {
      assert.ok(e.output.includes("The final answer is: "));
      assert.ok(!e.output.includes("####"));
      assert.ok(Number.isFinite(Number(e.label)), `label ${e.label}`);
      assert.equal(e.input, "");
    }
  },
});

Deno.test({
  ...requires(
    "real BeaverTails: 14 category keys, kinds by is_safe, splits disjoint",
    missingSharedData("beavertails"),
  ),
  fn: async () => {
    const dir = sharedData("beavertails")!;
    const unsafe = (await loadAllPromise(`${dir}/unsafe.jsonl`)).examples;
    const safe = (await loadAllPromise(`${dir}/safe.jsonl`)).examples;
    assert.equal(unsafe.length, 1000);
    assert.equal(safe.length, 900);
    for (const e of [...unsafe, ...safe]) {
      assert.deepEqual(Object.keys(e.category ?? {}).sort(), [...CATEGORY_KEYS].sort());
    }
    assert.ok(unsafe.every((e) => e.provenance.kind === "harmful"));
    assert.ok(safe.every((e) => e.provenance.kind === "alignment"));
    const onlySafe = await loadAllPromise(`${dir}/safe.jsonl`, { isSafe: false });
    assert.equal(onlySafe.examples.length, 0);
    const s = Effect.runSync(
      splitSafety(unsafe, safe, { alignment: 500, harmful: 500, evaluation: 200 }),
    );
    assert.equal(s.evaluation.length, 200);
    const evalPrompts = new Set(s.evaluation.map((e) => e.instruction.trim().toLowerCase()));
    assert.ok(s.harmful.every((e) => !evalPrompts.has(e.instruction.trim().toLowerCase())));
  },
});

Deno.test({
  ...requires(
    "real refusal data: both files load as alignment examples",
    missingSharedData("refusal"),
  ),
  fn: async () => {
    const dir = sharedData("refusal")!;
    const a = await loadAllPromise(`${dir}/safety_only_data_Instructions.json`, {
      format: "refusal",
    });
    assert.equal(a.examples.length, 2483);
    const b = await loadAllPromise(`${dir}/decoding_trust_with_refusals_train.json`);
    assert.equal(b.examples.length, 107);
    for (const e of [...a.examples, ...b.examples]) {
      assert.equal(e.provenance.kind, "alignment");
      assert.ok(e.output.length > 0);
    }
    assert.ok(b.examples.every((e) => !e.output.startsWith("Prompt:")));
  },
});
