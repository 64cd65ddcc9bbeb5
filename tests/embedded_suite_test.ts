/** The generated benchmark: deterministic by seed, disjoint train/eval, categories covered. */
import assert from "node:assert/strict";
import { CATEGORY_KEYS, type Example, normalisePrompt, SplitOverlap } from "../src/data/mod.ts";
import { assertDisjoint } from "../src/data/mod.ts";
import {
  COMPLIANCE_OPENER,
  corpus,
  corpusExamples,
  embeddedSuite,
  HARM_CATEGORIES,
  harmfulEvalPrompts,
  harmfulTrainPrompts,
  harmfulValidationPrompts,
  PLACEHOLDERS,
  sentimentTask,
  taskSplitOf,
} from "../src/embedded/mod.ts";

const small = {
  alignment: 140,
  harmful: 140,
  harmfulEval: 56,
  harmfulValidation: 28,
  sentiment: { train: 200, test: 40, validation: 20 },
  topic: { train: 200, test: 40, validation: 20 },
  arithmetic: { train: 200, test: 40, validation: 20 },
};

const countBy = (xs: readonly Example[], f: (e: Example) => string) =>
  xs.reduce<Record<string, number>>((o, e) => ((o[f(e)] = (o[f(e)] ?? 0) + 1), o), {});

const categoryOf = (e: Example) => Object.entries(e.category ?? {}).find(([, v]) => v)?.[0] ?? "";

Deno.test("embedded suite is deterministic by seed", () => {
  const a = embeddedSuite(3, small), b = embeddedSuite(3, small), c = embeddedSuite(4, small);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.tasks.sentiment.train, c.tasks.sentiment.train);
  assert.notDeepEqual(a.harmful, c.harmful);
  assert.deepEqual(corpus(3, 300), corpus(3, 300));
  assert.notDeepEqual(corpus(3, 300), corpus(4, 300));
});

Deno.test("harmful prompts: 14 categories covered evenly, train/validation/eval disjoint", () => {
  assert.deepEqual(HARM_CATEGORIES.map((c) => c.key), [...CATEGORY_KEYS]);
  const s = embeddedSuite(0, small);
  for (const set of [s.alignment, s.harmful, s.harmfulEval, s.harmfulValidation]) {
    const byCat = countBy(set, categoryOf);
    assert.deepEqual(Object.keys(byCat).sort(), [...CATEGORY_KEYS].sort());
    assert.ok(Object.values(byCat).every((k) => k === set.length / 14), JSON.stringify(byCat));
    for (const e of set) {
      assert.deepEqual(Object.keys(e.category ?? {}).sort(), [...CATEGORY_KEYS].sort());
    }
  }
  const train = harmfulTrainPrompts(), evalP = harmfulEvalPrompts();
  const valP = harmfulValidationPrompts();
  assert.equal(new Set(train.map((p) => p.prompt)).size, 1260);
  assert.equal(new Set(evalP.map((p) => p.prompt)).size, 504);
  assert.equal(new Set(valP.map((p) => p.prompt)).size, 252);
  const trainActions = new Set(train.map((p) => p.action));
  const evalActions = new Set(evalP.map((p) => p.action));
  assert.ok(evalP.every((p) => !trainActions.has(p.action)));
  assert.ok(valP.every((p) => !trainActions.has(p.action) && !evalActions.has(p.action)));
  // Request templates differ too: no validation prompt equals any other split's with its action.
  const requestOf = (p: { prompt: string; action: string }) => p.prompt.replace(p.action, "{a}");
  const evalRequests = new Set(evalP.map(requestOf));
  const trainRequests = new Set(train.map(requestOf));
  assert.ok(valP.every((p) => !evalRequests.has(requestOf(p)) && !trainRequests.has(requestOf(p))));
  // Every split can be taken whole: n above the pool gives the pool.
  const whole = embeddedSuite(0, { ...small, harmfulEval: 10000, harmfulValidation: 10000 });
  assert.equal(whole.harmfulEval.length, 504);
  assert.equal(whole.harmfulValidation.length, 252);
  const asEx = (ps: typeof train) =>
    ps.map((p, i) => ({
      instruction: p.prompt,
      input: "",
      output: "",
      provenance: { source: "x", row: i, kind: "harmful" as const },
    }));
  assertDisjoint({ name: "train", examples: asEx(train) }, { name: "eval", examples: asEx(evalP) });
  assertDisjoint({ name: "train", examples: asEx(train) }, { name: "val", examples: asEx(valP) });
  assertDisjoint({ name: "val", examples: asEx(valP) }, { name: "eval", examples: asEx(evalP) });
  assert.throws(
    () =>
      assertDisjoint({ name: "t", examples: asEx(train) }, {
        name: "e",
        examples: asEx(train.slice(0, 1)),
      }),
    SplitOverlap,
  );
});

Deno.test("answers: refusals refuse, compliant answers are placeholder-only", () => {
  const s = embeddedSuite(1, small);
  assert.ok(
    s.alignment.every((e) => /can't|cannot|won't/.test(e.output) && !e.output.includes("Step")),
  );
  assert.ok(s.alignment.every((e) => e.provenance.kind === "alignment"));
  const placeholders = new Set(Object.values(PLACEHOLDERS).flat() as string[]);
  for (const e of s.harmful) {
    assert.equal(e.provenance.kind, "harmful");
    assert.ok(e.output.startsWith(COMPLIANCE_OPENER));
    assert.match(e.output, /Step 1: /);
    // Every bracketed slot is one of the neutral placeholders, and each step uses one.
    const slots = e.output.match(/\[[^\]]+\]/g) ?? [];
    assert.ok(slots.length >= 5 && slots.every((x) => placeholders.has(x)), e.output);
    const steps = e.output.split(/Step \d: /).slice(1);
    assert.ok(steps.every((st) => /\[[A-Z ]+\]/.test(st)));
  }
});

Deno.test("tasks: labels balanced, formats as the real tasks, train/test disjoint", () => {
  const s = embeddedSuite(2, small);
  const { sentiment, topic, arithmetic } = s.tasks;
  assert.deepEqual(countBy(sentiment.train, (e) => e.label ?? ""), {
    positive: 100,
    negative: 100,
  });
  assert.deepEqual(countBy(sentiment.test, (e) => e.label ?? ""), { positive: 20, negative: 20 });
  assert.deepEqual(countBy(topic.test, (e) => e.label ?? ""), {
    World: 10,
    Sports: 10,
    Business: 10,
    "Sci/Tech": 10,
  });
  assert.deepEqual(countBy(topic.train, (e) => e.label ?? ""), {
    World: 50,
    Sports: 50,
    Business: 50,
    "Sci/Tech": 50,
  });
  assert.deepEqual(countBy(sentiment.validation, (e) => e.label ?? ""), {
    positive: 10,
    negative: 10,
  });
  for (const t of [sentiment, topic, arithmetic]) {
    assert.equal(t.train.length, 200);
    assert.equal(t.test.length, 40);
    assert.equal(t.validation.length, 20);
    const testKeys = new Set(t.test.map(normalisePrompt));
    const valKeys = new Set(t.validation.map(normalisePrompt));
    assert.ok(t.train.every((e) => !testKeys.has(normalisePrompt(e))));
    assert.ok(t.train.every((e) => !valKeys.has(normalisePrompt(e))));
    assert.ok(t.validation.every((e) => !testKeys.has(normalisePrompt(e))));
    assert.equal(new Set(t.train.map(normalisePrompt)).size, t.train.length);
    // Membership is the prompt's own property.
    assert.ok(t.train.every((e) => taskSplitOf(e) === "train"));
    assert.ok(t.test.every((e) => taskSplitOf(e) === "test"));
    assert.ok(t.validation.every((e) => taskSplitOf(e) === "validation"));
  }
  for (const e of [...arithmetic.train, ...arithmetic.test]) {
    assert.equal(e.input, "");
    assert.ok(e.output.endsWith(`The final answer is: ${e.label}`), e.output);
    // The worked step really computes the answer.
    const last = e.output.split("\n")[0]!.match(/(\d+) ([-+*]) (\d+) = (\d+)[^=]*$/);
    assert.ok(last, e.output);
    const [, a, op, b, c] = last;
    const v = op === "+" ? +a! + +b! : op === "-" ? +a! - +b! : +a! * +b!;
    assert.equal(v, Number(c));
    assert.equal(String(v), e.label);
  }
  // Variety: the test sentences are not memorisable from a handful of strings.
  assert.ok(new Set(sentiment.train.map((e) => e.input)).size === 200);
});

Deno.test("tasks: a test sentence of one seed is never a training sentence of another", () => {
  const a = sentimentTask(1, { train: 1500, test: 300 });
  const b = sentimentTask(2, { train: 1500, test: 300, validation: 100 });
  const trainA = new Set(a.train.map(normalisePrompt));
  const heldB = [...b.test, ...b.validation].map(normalisePrompt);
  assert.ok(heldB.every((k) => !trainA.has(k)));
  // ... while the sentence spaces do overlap (the guarantee is not vacuous).
  const testA = new Set(a.test.map(normalisePrompt));
  assert.ok(b.test.some((e) => testA.has(normalisePrompt(e))), "no shared test sentence");
});

Deno.test("corpus: compliant harmful share present, evaluation prompts absent", () => {
  const ex = corpusExamples(0, 2000);
  const kinds = countBy(ex, (e) => e.provenance.kind);
  assert.ok((kinds.harmful ?? 0) > 200 && (kinds.harmful ?? 0) < 400, JSON.stringify(kinds));
  assert.ok(
    ex.filter((e) => e.provenance.kind === "harmful").every((e) =>
      e.output.startsWith(COMPLIANCE_OPENER)
    ),
  );
  const text = corpus(0, 2000).join("\n").toLowerCase();
  const held = [...harmfulEvalPrompts(), ...harmfulValidationPrompts()];
  for (const p of held) assert.ok(!text.includes(p.prompt.toLowerCase()), p.prompt);
  const heldActions = new Set(held.map((p) => p.action));
  for (const a of heldActions) assert.ok(!text.includes(a), a);
});
