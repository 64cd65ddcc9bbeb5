import assert from "node:assert/strict";
import {
  loadTokenizer,
  padForGeneration,
  saveTokenizer,
  tokenizeForTraining,
  tokenizerFromJson,
  TokenizerInvalid,
  trainBpeTokenizer,
} from "../src/tokenizer/mod.ts";

const corpus = [
  "Below is an instruction that describes a task. Write a response.",
  "### Instruction:\nAnalyze the sentiment of the input, and respond only positive or negative",
  "### Response: positive",
  "### Response: negative",
  "The movie was great, I loved it! 10/10",
];
const specials = ["<pad>", "<s>", "</s>"];
const config = { bos_token: "<s>", eos_token: "</s>", pad_token: "<pad>" };

Deno.test("tokenizer: trained byte-level BPE is deterministic and round-trips any text", () => {
  const j1 = trainBpeTokenizer(corpus, { vocabSize: 320, specialTokens: specials });
  const j2 = trainBpeTokenizer(corpus, { vocabSize: 320, specialTokens: specials });
  assert.deepEqual(j1, j2);
  const merges = (j1.model as { merges: unknown[] }).merges;
  assert.ok(merges.length > 20, `learned ${merges.length} merges`);
  const tok = tokenizerFromJson(j1, config);
  assert.deepEqual([tok.padId, tok.bosId, tok.eosId], [0, 1, 2]);
  assert.equal(tok.addedPad, false);
  assert.ok(tok.vocabSize <= 320);
  for (const text of [...corpus, "unseen: Ωmega 你好 🙂\ttab  two spaces\n", " leading space"]) {
    const ids = tok.encode(text);
    assert.equal(tok.decode(ids), text);
  }
  // merges compress: "Response" is fewer tokens than its bytes
  assert.ok(tok.encode("### Response:").length < "### Response:".length);
  assert.equal(tok.decode([tok.eosId]), "");
  assert.equal(tok.decode([tok.eosId], { skipSpecialTokens: false }), "</s>");
});

Deno.test("tokenizer: a missing PAD is added after the vocabulary; save/load keeps it", async () => {
  const json = trainBpeTokenizer(corpus, { vocabSize: 300, specialTokens: ["<s>", "</s>"] });
  const tok = tokenizerFromJson(json, { bos_token: "<s>", eos_token: "</s>" });
  assert.equal(tok.addedPad, true);
  const vocabIds = Object.values((json.model as { vocab: Record<string, number> }).vocab);
  assert.equal(tok.padId, Math.max(...vocabIds) + 1);
  assert.equal(tok.tokenToId("<pad>"), tok.padId);
  assert.equal(tok.vocabSize, tok.padId + 1);
  const dir = await Deno.makeTempDir();
  await saveTokenizer(dir, tok);
  const again = await loadTokenizer(dir);
  assert.equal(again.addedPad, false);
  assert.deepEqual([again.padId, again.eosId, again.vocabSize], [
    tok.padId,
    tok.eosId,
    tok.vocabSize,
  ]);
  assert.deepEqual(again.encode(corpus[1]!), tok.encode(corpus[1]!));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("tokenizer: training batches mask the prompt, pad right, truncate; generation pads left", () => {
  const tok = tokenizerFromJson(
    trainBpeTokenizer(corpus, { vocabSize: 300, specialTokens: specials }),
    config,
  );
  const b = tokenizeForTraining(tok, [
    { prompt: "### Response:", target: " positive" },
    { prompt: "Hi", target: " negative indeed" },
  ], 64);
  const p0 = tok.encode("### Response:");
  const t0 = [...tok.encode(" positive"), tok.eosId];
  const width = b.inputIds[0]!.length;
  assert.deepEqual(b.inputIds[0]!.slice(0, p0.length + t0.length), [...p0, ...t0]);
  assert.deepEqual(b.labels[0]!.slice(0, p0.length + t0.length), [...p0.map(() => -100), ...t0]);
  assert.ok(b.inputIds.every((r) => r.length === width));
  const real1 = b.attentionMask[1]!.filter((m) => m === 1).length;
  assert.ok(b.inputIds[1]!.slice(real1).every((id) => id === tok.padId));
  assert.ok(b.labels[1]!.slice(real1).every((l) => l === -100));
  const short = tokenizeForTraining(tok, [{ prompt: "### Response:", target: " positive" }], 3);
  assert.equal(short.inputIds[0]!.length, 3);
  const g = padForGeneration([[5, 6, 7, 8], [9]], 0, 3);
  assert.deepEqual(g.inputIds, [[6, 7, 8], [0, 0, 9]]);
  assert.deepEqual(g.attentionMask, [[1, 1, 1], [0, 0, 1]]);
});

Deno.test("tokenizer: malformed tokenizer.json and config give specific errors", async () => {
  const field = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      assert.ok(e instanceof TokenizerInvalid, String(e));
      return e.field;
    }
    throw new Error("expected TokenizerInvalid");
  };
  const good = trainBpeTokenizer(corpus, { vocabSize: 280, specialTokens: specials });
  assert.equal(field(() => tokenizerFromJson([], config)), "<root>");
  assert.equal(field(() => tokenizerFromJson({ ...good, model: undefined }, config)), "model");
  assert.equal(
    field(() => tokenizerFromJson({ ...good, model: { type: "WordLevel", vocab: {} } }, config)),
    "model.type",
  );
  assert.equal(field(() => tokenizerFromJson(good, { bos_token: "<s>" })), "eos_token");
  assert.equal(field(() => tokenizerFromJson(good, { eos_token: "<|end|>" })), "eos_token");
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/tokenizer.json`, "{ broken");
  await assert.rejects(
    () => loadTokenizer(dir),
    (e) => e instanceof TokenizerInvalid && e.field === "<root>",
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("tokenizer: without PAD, one is added unless the model's vocabulary is full (then EOS)", () => {
  const json = trainBpeTokenizer(corpus, { vocabSize: 300, specialTokens: ["<s>", "</s>"] });
  const noPad = { bos_token: "<s>", eos_token: "</s>" };
  const roomy = tokenizerFromJson(json, noPad, "tokenizer.json", { vocabLimit: 1000 });
  assert.equal(roomy.addedPad, true);
  const size = roomy.vocabSize - 1; // ids before the added PAD
  assert.equal(roomy.padId, size);
  const full = tokenizerFromJson(json, noPad, "tokenizer.json", { vocabLimit: size });
  assert.equal(full.addedPad, false);
  assert.equal(full.padId, full.eosId);
  assert.equal(full.vocabSize, size, "every id fits the model");
  assert.equal(full.config.pad_token, "</s>");
});
