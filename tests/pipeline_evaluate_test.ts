/**
 * The evaluation stage's prompt budget follows the prompts: a prompt is kept whole and the
 * answer budget shrinks to fit the context, so the reference's 512 new tokens on a model with a
 * short context no longer cut every harmful instruction down to a few tokens.
 */
import assert from "node:assert/strict";
import { Effect } from "effect";
import { tf } from "../backends/mod.ts";
import { formatPrompt } from "../src/data/mod.ts";
import { harmfulEvalSet } from "../src/embedded/mod.ts";
import { keywordJudge } from "../src/eval/mod.ts";
import { evaluate, generationBudget, loadLm } from "../src/pipeline/mod.ts";
import { useBackend, withBackend } from "./_helpers.ts";
import { tinyModelDir } from "./_tiny_lm.ts";

Deno.test("generation budget: the longest prompt whole, the answer gets what is left", () => {
  assert.deepEqual(generationBudget([10, 50], 192, 512), {
    promptTokens: 50,
    newTokens: 142,
    truncated: 0,
  });
  assert.deepEqual(generationBudget([10, 50], 192, 32), {
    promptTokens: 50,
    newTokens: 32,
    truncated: 0,
  });
  // Only a prompt longer than the whole context is cut (to its last tokens), and counted.
  assert.deepEqual(generationBudget([300, 20], 192, 32), {
    promptTokens: 191,
    newTokens: 1,
    truncated: 1,
  });
});

Deno.test("evaluate: 512 new tokens on a 160-token context keeps every prompt whole", async () => {
  await useBackend("wasm");
  const dir = await tinyModelDir(9);
  const before = tf.memory().numTensors;
  const harmful = harmfulEvalSet(1234, 6);
  const metrics = await Effect.runPromise(withBackend(Effect.scoped(Effect.gen(function* () {
    const lm = yield* loadLm(dir);
    const lengths = harmful.map((e) =>
      lm.tokenizer.encode(formatPrompt(e), { addSpecialTokens: true }).length
    );
    // The old fixed budget, max(8, context - maxNewTokens), would have kept 8 tokens.
    assert.ok(Math.min(...lengths) > 8, `prompts of ${lengths} tokens`);
    const m = yield* evaluate({
      model: { ...lm, label: "tiny", adapters: [] },
      harmfulEval: harmful,
      taskTest: [],
      task: null,
      judge: keywordJudge(),
      maxNewTokens: 512,
      batchSize: 3,
    });
    return { m, longest: Math.max(...lengths), context: lm.config.maxPositionEmbeddings };
  }))));
  assert.equal(metrics.m.truncatedPrompts, 0);
  assert.equal(metrics.m.minNewTokens, metrics.context - metrics.longest);
  assert.equal(metrics.m.harmful.n, 6);
  assert.equal(tf.memory().numTensors, before, "the model was freed with its scope");
  await Deno.remove(dir, { recursive: true });
});
