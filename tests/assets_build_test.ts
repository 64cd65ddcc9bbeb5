/**
 * The asset build recipe: a quick build runs end to end, is deterministic (two builds, same
 * checksums), leaves no tensors, records its recipe, and its data keeps evaluation prompts out.
 */
import assert from "node:assert/strict";
import { Effect } from "effect";
import { tf } from "../backends/mod.ts";
import {
  AssetsCorrupt,
  buildAssets,
  computeChecksums,
  DEFAULT_RECIPE,
  JUDGE_CATEGORIES,
  judgeRows,
  judgeTestRows,
  judgeValidationRows,
  loadEmbeddedAssets,
  parseBuildArgs,
  pretrainExamples,
  QUICK_RECIPE,
  rebuildJudge,
  taskExamples,
  verifyChecksums,
} from "../src/assets/mod.ts";
import { normalisePrompt } from "../src/data/templates.ts";
import {
  arithmeticTask,
  HARMFUL_FORMS,
  harmfulEvalPrompts,
  harmfulValidationPrompts,
  SAFE_FORMS,
  sentimentTask,
  topicTask,
} from "../src/embedded/mod.ts";
import { loadModel } from "../src/model/mod.ts";
import { loadTokenizer } from "../src/tokenizer/mod.ts";
import { requires, testBackends, useBackend } from "./_helpers.ts";

const backends = await testBackends();

const quiet = () => {};

// One CPU backend is enough for determinism; prefer the fast ones.
const buildBackend = (["native", "wasm", "cpu", "webgpu"] as const).find((b) =>
  backends.includes(b)
);

Deno.test({
  ...requires(
    "assets: quick build is deterministic and complete",
    buildBackend ? null : "no tensor backend starts here",
  ),
  fn: async () => {
    const backend = buildBackend!;
    const dir = await Deno.makeTempDir();
    try {
      await useBackend(backend);
      const before = tf.memory().numTensors;
      const a = await buildAssets({ out: `${dir}/a`, backend, recipe: QUICK_RECIPE, log: quiet });
      const b = await buildAssets({ out: `${dir}/b`, backend, recipe: QUICK_RECIPE, log: quiet });
      assert.equal(tf.memory().numTensors, before, "the build leaves no tensors behind");
      const sa = await Deno.readTextFile(`${dir}/a/checksums.json`);
      const sb = await Deno.readTextFile(`${dir}/b/checksums.json`);
      if (backend === "webgpu") {
        // GPU kernels may sum in a different order from run to run (atomics): the weights are
        // close, not equal, so only the other files are compared byte for byte.
        const drop = (s: string) => {
          const files = { ...JSON.parse(s).files };
          delete files["base/model.safetensors"];
          return files;
        };
        assert.deepEqual(drop(sa), drop(sb));
        assert.ok(Math.abs(a.pretrain.finalLoss - b.pretrain.finalLoss) < 1e-3);
      } else assert.equal(sa, sb, "same recipe + backend → same bytes");
      const files = Object.keys(JSON.parse(sa).files);
      assert.deepEqual(files, [
        "base/config.json",
        "base/model.safetensors",
        "base/tokenizer.json",
        "base/tokenizer_config.json",
        "judge/config.json",
        "judge/model.safetensors",
      ]);
      assert.deepEqual(await verifyChecksums(`${dir}/a`), []);
      assert.deepEqual(a.recipe, QUICK_RECIPE);
      assert.equal(a.backend.name, backend);
      assert.equal(a.pretrain.steps, QUICK_RECIPE.pretrain.steps);
      assert.ok(Number.isFinite(a.pretrain.finalLoss));
      assert.equal(a.pretrain.tensorsAtEnd, a.pretrain.tensorsAfterFirstStep);
      assert.ok(a.judge !== null && a.judge.split.train > 0);
      assert.equal(b.check.harmfulPrompts, QUICK_RECIPE.check.taskTest);
      const record = JSON.parse(await Deno.readTextFile(`${dir}/a/build.json`));
      assert.deepEqual(record.recipe, QUICK_RECIPE);
      // The built folder loads as a model + tokenizer pair that agree on the vocabulary.
      const tok = await loadTokenizer(`${dir}/a/base`);
      const model = await loadModel(`${dir}/a/base`);
      assert.equal(model.config.vocabSize, tok.vocabSize);
      assert.equal(model.config.architecture, "LlamaForCausalLM");
      assert.equal(tok.encode("hi", { addSpecialTokens: true })[0], tok.bosId);
      tf.dispose(Object.values(model.params));
      // The one-call loader verifies checksums first.
      const loaded = await loadEmbeddedAssets(`${dir}/b`);
      assert.deepEqual(loaded.build.recipe, QUICK_RECIPE);
      tf.dispose(Object.values(loaded.params));
      await Deno.writeTextFile(`${dir}/b/base/tokenizer_config.json`, "{}");
      await assert.rejects(loadEmbeddedAssets(`${dir}/b`), (e: unknown) => {
        assert.ok(e instanceof AssetsCorrupt);
        assert.match(e.message, /base\/tokenizer_config\.json/);
        return true;
      });
      // A rebuild over an existing folder replaces it and leaves no staging folder.
      await buildAssets({ out: `${dir}/a`, backend, recipe: QUICK_RECIPE, log: quiet });
      const again = await computeChecksums(`${dir}/a`);
      if (backend !== "webgpu") assert.deepEqual(again, JSON.parse(sa));
      assert.deepEqual(await verifyChecksums(`${dir}/a`), []);
      // Retraining the judge alone writes the judge a full build writes, and keeps the base.
      const before2 = tf.memory().numTensors;
      const kept = JSON.parse(await Deno.readTextFile(`${dir}/a/build.json`));
      const j = await rebuildJudge({ out: `${dir}/a`, backend, recipe: QUICK_RECIPE, log: quiet });
      assert.equal(tf.memory().numTensors, before2, "the judge rebuild leaves no tensors behind");
      if (backend !== "webgpu") assert.deepEqual(await computeChecksums(`${dir}/a`), again);
      assert.deepEqual(JSON.parse(JSON.stringify(j.pretrain)), kept.pretrain, "base record kept");
      assert.ok(j.seconds.judgeOnly !== undefined && j.judge !== null);
      // A folder whose base files changed is refused, and left as it was.
      await Deno.writeTextFile(`${dir}/b/base/tokenizer_config.json`, "{ }");
      await assert.rejects(
        rebuildJudge({ out: `${dir}/b`, backend, recipe: QUICK_RECIPE, log: quiet }),
        /do not match checksums\.json \(base\/tokenizer_config\.json\)/,
      );
      await assert.rejects(
        rebuildJudge({ out: `${dir}/a`, backend, recipe: DEFAULT_RECIPE, log: quiet }),
        /differs from 'default' beyond the judge/,
      );
      const names = [];
      for await (const e of Deno.readDir(dir)) names.push(e.name);
      assert.deepEqual(names.sort(), ["a", "b"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("assets: checksum verification names a changed file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/base`);
    await Deno.writeTextFile(`${dir}/base/x.json`, "{}");
    const { writeChecksums } = await import("../src/assets/mod.ts");
    await writeChecksums(dir);
    assert.deepEqual(await verifyChecksums(dir), []);
    await Deno.writeTextFile(`${dir}/base/x.json`, "{ }");
    await Deno.writeTextFile(`${dir}/extra.txt`, "x");
    const problems = await verifyChecksums(dir);
    assert.deepEqual(problems.map((p) => p.file).sort(), ["base/x.json", "extra.txt"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("assets: training data keeps evaluation prompts and experiment test sets out", () => {
  const tasks = taskExamples(QUICK_RECIPE);
  const all = [...tasks.sentiment, ...tasks.topic, ...tasks.arithmetic];
  assert.equal(tasks.sentiment.length, QUICK_RECIPE.mix.sentiment);
  // No test or validation sentence of any experiment seed (here 0-19 and the default 1234).
  const held = new Set<string>();
  for (const seed of [...Array.from({ length: 20 }, (_, i) => i), 1234]) {
    for (const t of [sentimentTask, topicTask, arithmeticTask]) {
      const s = t(seed, { train: 0, test: 100, validation: 50 });
      for (const e of [...s.test, ...s.validation]) held.add(normalisePrompt(e));
    }
  }
  for (const e of all) assert.ok(!held.has(normalisePrompt(e)), e.input);
  const heldPrompts = new Set(
    [...harmfulEvalPrompts(), ...harmfulValidationPrompts()].map((p) => p.prompt),
  );
  for (const e of pretrainExamples(QUICK_RECIPE, all)) {
    assert.ok(!heldPrompts.has(e.instruction), `held-out prompt in pretraining: ${e.instruction}`);
  }
  const rows = judgeRows(QUICK_RECIPE, JUDGE_CATEGORIES);
  for (const r of rows) assert.ok(!heldPrompts.has(r.prompt), `held-out prompt in judge data`);
  assert.equal(
    rows.length,
    QUICK_RECIPE.judge!.perForm * (HARMFUL_FORMS.length + SAFE_FORMS.length),
  );
  for (const r of rows.filter((x) => !x.isSafe)) {
    assert.ok((HARMFUL_FORMS as readonly string[]).includes(r.form));
    assert.equal(r.category.unsafe, true);
    assert.equal(Object.values(r.category).filter(Boolean).length, 2, "unsafe + its own category");
  }
  assert.ok(
    rows.filter((x) => x.isSafe).every((r) => (SAFE_FORMS as readonly string[]).includes(r.form)),
  );
  // The judge's validation and test rows use the validation and evaluation prompts only.
  const val = judgeValidationRows(QUICK_RECIPE, JUDGE_CATEGORIES);
  const test = judgeTestRows(QUICK_RECIPE, JUDGE_CATEGORIES);
  const valPrompts = new Set(harmfulValidationPrompts().map((p) => p.prompt));
  const evalPrompts = new Set(harmfulEvalPrompts().map((p) => p.prompt));
  assert.ok(val.length > 0 && val.every((r) => valPrompts.has(r.prompt)));
  assert.ok(test.length > 0 && test.every((r) => evalPrompts.has(r.prompt)));
});

Deno.test("assets: command-line flags (the CLI's parser)", () => {
  const o = Effect.runSync(parseBuildArgs(["--quick", "--out", "x", "--backend", "wasm"]));
  assert.equal(o?.out, "x");
  assert.equal(o?.backend, "wasm");
  assert.equal(o?.recipe.name, "quick");
  assert.equal(Effect.runSync(parseBuildArgs([]))?.recipe.name, "default");
  const bad = (args: string[]) => Effect.runSync(Effect.flip(parseBuildArgs(args))).message;
  assert.match(bad(["--backend", "gpu9"]), /--backend: expected auto or one of/);
  assert.match(bad(["--steps", "3"]), /unknown flag --steps/);
  assert.match(bad(["extra"]), /unexpected argument "extra"/);
  assert.equal(Effect.runSync(parseBuildArgs(["--judge-only"]))?.judgeOnly, true);
  assert.equal(Effect.runSync(parseBuildArgs([]))?.judgeOnly, false);
});
