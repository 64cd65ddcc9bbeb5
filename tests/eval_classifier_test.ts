import assert from "node:assert/strict";
import { Effect } from "effect";
import { tf } from "../backends/mod.ts";
import { classifierJudge, type ModerationClassifier } from "../src/eval/classifier.ts";
import { loadModerationClassifier, saveModerationClassifier } from "../src/eval/classifier_io.ts";
import { moderationTargets, trainModerationClassifier } from "../src/eval/classifier_train.ts";
import { BEAVERTAILS_CATEGORIES } from "../src/eval/judge.ts";
import { readLabelledFile } from "../src/eval/labelled.ts";
import { harmfulScore } from "../src/eval/metrics.ts";
import {
  leakedTensors,
  missingSharedData,
  requires,
  sharedData,
  testBackends,
  useBackend,
} from "./_helpers.ts";

const SMALL = { featureDim: 2048, hidden: 16, epochs: 8, seed: 1 } as const;

Deno.test("moderation rows: the one labelled reader names file, line and nested field", async () => {
  const good = '{"prompt":"a","response":"b","category":{"x":true},"is_safe":false}';
  const bad = '{"prompt":"a","response":"b","category":{"x":"yes"},"is_safe":false}';
  const path = await Deno.makeTempFile({ suffix: ".jsonl" });
  try {
    await Deno.writeTextFile(path, `${good}\n\n${good}\n`);
    const rows = await Effect.runPromise(readLabelledFile(path));
    assert.deepEqual(rows.map((r) => [r.isSafe, r.line, r.category]), [
      [false, 1, { x: true }],
      [false, 3, { x: true }],
    ]);
    await Deno.writeTextFile(path, `${good}\n${bad}\n`);
    const err = await Effect.runPromise(Effect.flip(readLabelledFile(path)));
    assert.equal(err._tag, "DataInvalid");
    assert.match(err.message, new RegExp(`${path}:2: .*category.*x.*expected .*boolean.*"yes"`));
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("targets: a harmful row with no category gets the fallback category", () => {
  const rows = [
    { prompt: "", response: "", category: {}, isSafe: false },
    { prompt: "", response: "", category: { b: true }, isSafe: false },
    { prompt: "", response: "", category: { b: true }, isSafe: true },
  ];
  assert.deepEqual([...moderationTargets(rows, ["a", "b"], "a")], [1, 0, 0, 1, 0, 0]);
});

Deno.test({
  ...requires(
    "moderation classifier: trains on BeaverTails, beats the majority baseline, deterministic, round-trips",
    missingSharedData("beavertails"),
  ),
  fn: async () => {
    const dir = sharedData("beavertails")!;
    const rows = [
      ...await Effect.runPromise(readLabelledFile(`${dir}/unsafe.jsonl`)),
      ...await Effect.runPromise(readLabelledFile(`${dir}/safe.jsonl`)),
    ];
    for (const backend of await testBackends()) {
      await useBackend(backend);
      let trained: Awaited<ReturnType<typeof train>> | undefined;
      const train = () => Effect.runPromise(trainModerationClassifier(rows, SMALL));
      const leaked = await leakedTensors(async () => {
        trained = await train();
      });
      assert.equal(leaked, 0, `${backend}: training leaked ${leaked} tensors`);
      const t = trained!;
      const h = t.holdout;
      assert.equal(h.n, 380);
      assert.ok(
        h.accuracy > h.majorityBaseline + 0.05,
        `${backend}: held-out accuracy ${h.accuracy} vs majority ${h.majorityBaseline}`,
      );
      assert.ok(h.precision > 0.5 && h.recall > 0.2, `${backend}: P ${h.precision} R ${h.recall}`);
      assert.ok(t.lossPerEpoch.at(-1)! < t.lossPerEpoch[0]!, `${backend}: loss did not fall`);

      // Same seed, same backend: the same weights. tfjs-webgpu's split-K matmul sums with
      // float atomics in arbitrary order, so there the check is to a tolerance instead.
      const again = await train();
      if (backend === "webgpu") {
        const a = again.classifier.weights.w2, b = t.classifier.weights.w2;
        const worst = a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
        assert.ok(worst < 1e-2, `${backend}: reruns differ by ${worst}`);
      } else {
        assert.deepEqual(
          again.classifier.weights.w1,
          t.classifier.weights.w1,
          `${backend}: not deterministic`,
        );
      }

      // The judge over plain items; repeated calls leave no tensors.
      const judge = classifierJudge(t.classifier);
      const items = rows.slice(0, 40).map((r) => ({ prompt: r.prompt, answer: r.response }));
      const first = await Effect.runPromise(judge.judge(items));
      const leak2 = await leakedTensors(() => Effect.runPromise(judge.judge(items)));
      assert.equal(leak2, 0);
      assert.equal(first.length, 40);
      assert.equal(Object.keys(first[0]!.categories).length, 14);
      for (const v of first) assert.equal(v.flagged, v.score > 0.5);
      assert.ok(harmfulScore(first) > 30, `${backend}: unsafe rows should mostly be flagged`);

      // Save, load, same verdicts; a flipped byte fails the checksum with a clear error.
      const out = await Deno.makeTempDir();
      try {
        await Effect.runPromise(saveModerationClassifier(out, t.classifier, t.holdout));
        const loaded: ModerationClassifier = await Effect.runPromise(loadModerationClassifier(out));
        assert.deepEqual(loaded.config.categories, BEAVERTAILS_CATEGORIES);
        assert.deepEqual(loaded.weights.w1, t.classifier.weights.w1);
        const relabelled = await Effect.runPromise(classifierJudge(loaded).judge(items));
        assert.deepEqual(relabelled.map((x) => x.flagged), first.map((x) => x.flagged));
        const bytes = await Deno.readFile(`${out}/model.safetensors`);
        bytes[bytes.length - 3]! ^= 0xff;
        await Deno.writeFile(`${out}/model.safetensors`, bytes);
        const err = await Effect.runPromise(Effect.flip(loadModerationClassifier(out)));
        assert.equal(err._tag, "ClassifierCorrupt");
        assert.match(err.message, /model\.safetensors: 'sha256' expected [0-9a-f]{64}, found/);
      } finally {
        await Deno.remove(out, { recursive: true });
      }
      console.log(
        `${backend}: held-out acc ${h.accuracy.toFixed(3)} (majority ${
          h.majorityBaseline.toFixed(3)
        }), P ${h.precision.toFixed(3)}, R ${
          h.recall.toFixed(3)
        }; tensors ${tf.memory().numTensors}`,
      );
    }
  },
});
