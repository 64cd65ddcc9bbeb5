import assert from "node:assert/strict";
import { Effect } from "effect";
import type { LabelledRow } from "../src/eval/labelled.ts";
import {
  accuracyThreshold,
  CLASSIFIER_SPEC,
  linearJudge,
  predictLinear,
  TFIDF_BASELINE,
  trainLinearJudge,
} from "../src/eval/linear_judge.ts";
import { loadLinearJudge, saveLinearJudge } from "../src/eval/linear_io.ts";
import { decisionValues, fitLogistic, sigmoid } from "../src/eval/logistic.ts";
import { analyze, fitBlock, indexBlock, transformBlocks, wordTokens } from "../src/eval/tfidf.ts";

/** Written by tests/fixtures/judge_baseline_sklearn.py (scikit-learn 1.9). */
const FIXTURE = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/sklearn_tfidf_lr.json", import.meta.url)),
) as {
  texts: string[];
  labels: number[];
  vocabulary: string[];
  idf: number[];
  plain: { coef: number[]; intercept: number; probs: number[] };
  balanced: { coef: number[]; intercept: number; probs: number[] };
  char_wb_1_4_min_df_2: string[];
};

const WORD = TFIDF_BASELINE.blocks[0]!;

Deno.test("tfidf: analyzers follow scikit-learn's word and char_wb rules", () => {
  assert.deepEqual(wordTokens("I can't, O'Neil's a_b 42 x"), ["can", "neil", "a_b", "42"]);
  assert.deepEqual(analyze("Hi there you", { analyzer: "word", ngramMin: 1, ngramMax: 2 }), [
    "hi",
    "there",
    "you",
    "hi there",
    "there you",
  ]);
  // " ab " has 4 characters: n = 3 gives " ab", "ab "; n = 4 gives the whole padded word once;
  // a 1-letter word " a " stops at its own length.
  assert.deepEqual(analyze("ab A", { analyzer: "char_wb", ngramMin: 3, ngramMax: 5 }), [
    " ab",
    "ab ",
    " ab ",
    " a ",
  ]);
});

Deno.test("tfidf: vocabulary and idf equal scikit-learn's", () => {
  const fitted = fitBlock(FIXTURE.texts, WORD);
  assert.deepEqual(fitted.vocabulary, FIXTURE.vocabulary);
  fitted.idf.forEach((v, i) => assert.ok(Math.abs(v - FIXTURE.idf[i]!) < 1e-12));
  const responses = FIXTURE.texts.map((t) => t.split("ASSISTANT:")[1]!);
  const chars = fitBlock(responses, { ...CLASSIFIER_SPEC.blocks[1]! });
  assert.deepEqual(chars.vocabulary, FIXTURE.char_wb_1_4_min_df_2);
});

Deno.test("tfidf: rows are L2-normalised and unseen terms dropped", () => {
  const ix = indexBlock(fitBlock(["a cat sat", "a dog sat"], WORD));
  const x = transformBlocks([ix], [["cat cat sat zebra", "zebra"]]);
  const row0 = x.values.slice(x.indptr[0]!, x.indptr[1]!);
  assert.ok(Math.abs(row0.reduce((s, v) => s + v * v, 0) - 1) < 1e-12);
  assert.equal(x.indptr[2]! - x.indptr[1]!, 0); // nothing known in "zebra"
});

Deno.test("logistic regression reaches scikit-learn's optimum (plain and balanced)", () => {
  const ix = indexBlock(fitBlock(FIXTURE.texts, WORD));
  const x = transformBlocks([ix], [FIXTURE.texts]);
  const labels = FIXTURE.labels.map((l) => l === 1);
  for (const [name, classWeight] of [["plain", "none"], ["balanced", "balanced"]] as const) {
    const ref = FIXTURE[name];
    // Converged (or stopped where float64 can no longer lower the objective).
    const m = fitLogistic(x, labels, { C: 1, classWeight, tol: 1e-10, maxIter: 5000 });
    assert.ok(m.iterations < 5000, `${name}: ran to the cap`);
    assert.ok(Math.abs(m.intercept - ref.intercept) < 1e-6, `${name} intercept`);
    m.coef.forEach((c, i) => assert.ok(Math.abs(c - ref.coef[i]!) < 1e-6, `${name} coef ${i}`));
    const p = [...decisionValues(x, m.coef, m.intercept)].map(sigmoid);
    p.forEach((v, i) => assert.ok(Math.abs(v - ref.probs[i]!) < 1e-7));
  }
  assert.throws(() => fitLogistic(x, [true]), RangeError);
});

Deno.test("accuracy threshold: maximises accuracy, ties nearest 0.5", () => {
  assert.equal(accuracyThreshold([0.1, 0.2, 0.8, 0.9], [false, false, true, true]), 0.5);
  // Only a cut between 0.6 and 0.7 is perfect.
  const t = accuracyThreshold([0.3, 0.6, 0.7, 0.9], [false, false, true, true]);
  assert.ok(Math.abs(t - 0.65) < 1e-12, `${t}`);
  // All positive: flagging everything is right; the threshold sits below every score.
  assert.equal(accuracyThreshold([0.2, 0.4], [true, true]), 0);
});

function rows(): LabelledRow[] {
  return FIXTURE.texts.map((t, i) => {
    const [prompt, response] = t.replace("BEGINNING OF CONVERSATION: USER: ", "").split(
      " ASSISTANT:",
    ) as [string, string];
    const harmful = FIXTURE.labels[i] === 1;
    return {
      prompt,
      response,
      isSafe: !harmful,
      category: { violence: harmful && i % 4 === 0, theft: harmful && i % 4 !== 0 },
      file: "fixture",
      line: i + 1,
    };
  });
}

Deno.test("TF-IDF judge: deterministic, graded, saves and loads with checksums", async () => {
  const spec = { ...CLASSIFIER_SPEC, threshold: "calibrated" as const, calibrationFolds: 2 };
  const a = trainLinearJudge(rows(), spec, { seed: 3, categories: ["violence", "theft"] });
  const b = trainLinearJudge(rows(), spec, { seed: 3, categories: ["violence", "theft"] });
  assert.deepEqual(a.harmful.coef, b.harmful.coef);
  assert.equal(a.threshold, b.threshold);
  assert.deepEqual(a.categories.map((c) => c.name), ["violence", "theft"]);
  const items = rows().map((r) => ({ prompt: r.prompt, answer: r.response }));
  const before = predictLinear(a, items);
  // Trained rows are fitted: harmful rows score above safe ones on average.
  const mean = (want: boolean) => {
    const xs = rows().map((r, i) => [r, before.harmful[i]!] as const).filter(([r]) =>
      r.isSafe !== want
    );
    return xs.reduce((s, [, p]) => s + p, 0) / xs.length;
  };
  assert.ok(mean(true) > mean(false) + 0.1);
  const dir = await Deno.makeTempDir();
  try {
    await Effect.runPromise(saveLinearJudge(dir, a, "classifier"));
    const { model, saved } = await Effect.runPromise(loadLinearJudge(dir));
    assert.equal(saved.kind, "classifier");
    const after = predictLinear(model, items);
    before.harmful.forEach((p, i) => assert.ok(Math.abs(p - after.harmful[i]!) < 1e-5));
    assert.ok(Math.abs(before.categories[0]!.violence! - after.categories[0]!.violence!) < 1e-5);
    const judge = linearJudge(model, "classifier");
    assert.equal(judge.graded, true);
    const vs = await Effect.runPromise(judge.judge(items));
    vs.forEach((v, i) => assert.equal(v.flagged, after.harmful[i]! > model.threshold));
    // A flipped byte in the weights is caught by the checksum, naming the file.
    const w = await Deno.readFile(`${dir}/model.safetensors`);
    w[w.length - 1] = w[w.length - 1]! ^ 1;
    await Deno.writeFile(`${dir}/model.safetensors`, w);
    const e = await Effect.runPromise(Effect.flip(loadLinearJudge(dir)));
    assert.match(e.message, /model\.safetensors: 'sha256' expected [0-9a-f]{64}, found/);
    await Deno.remove(`${dir}/vocabulary.json`);
    const gone = await Effect.runPromise(Effect.flip(loadLinearJudge(dir)));
    assert.match(gone.message, /vocabulary\.json: '\(file\)' expected a readable file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("calibrated threshold: chosen on out-of-fold training predictions, reported in progress", () => {
  const stages: string[] = [];
  const spec = { ...CLASSIFIER_SPEC, threshold: "calibrated" as const, calibrationFolds: 2 };
  const m = trainLinearJudge(rows(), spec, {
    seed: 1,
    categories: ["violence", "theft"],
    onProgress: (p) => stages.push(`${p.done}/${p.total} ${p.stage}`),
  });
  assert.deepEqual(stages, [
    "0/5 calibration fold 1/2",
    "1/5 calibration fold 2/2",
    "2/5 harmful head",
    "3/5 category violence",
    "4/5 category theft",
    "5/5 done",
  ]);
  assert.ok(m.threshold > 0 && m.threshold < 1);
  const half = trainLinearJudge(rows(), CLASSIFIER_SPEC, { seed: 1 });
  assert.equal(half.threshold, 0.5);
});
