/**
 * A tiny model folder (tokenizer trained on the embedded corpus, random weights) for fast
 * pipeline tests.
 *
 * @module
 */
import { corpus } from "../src/embedded/mod.ts";
import { initParams, saveModel, tinyModelConfig } from "../src/model/mod.ts";
import { saveTokenizer, tokenizerFromJson, trainBpeTokenizer } from "../src/tokenizer/mod.ts";
import { initBackend, tf } from "../backends/mod.ts";

/** Write a tiny Llama model + tokenizer into a fresh temp folder and return its path. */
export async function tinyModelDir(seed = 1): Promise<string> {
  await initBackend("wasm");
  const dir = await Deno.makeTempDir({ prefix: "lisa-tiny-" });
  const json = trainBpeTokenizer(corpus(seed, 300), {
    vocabSize: 320,
    specialTokens: ["<pad>", "<s>", "</s>"],
  });
  const tok = tokenizerFromJson(json, { bos_token: "<s>", eos_token: "</s>", pad_token: "<pad>" });
  const cfg = tinyModelConfig({
    vocabSize: tok.vocabSize,
    hiddenSize: 16,
    intermediateSize: 32,
    numHeads: 2,
    numKvHeads: 1,
    headDim: 8,
    maxPositionEmbeddings: 160,
    bosTokenId: tok.bosId,
    eosTokenIds: [tok.eosId],
    padTokenId: tok.padId,
  });
  const params = initParams(cfg, seed);
  await saveModel(dir, cfg, params);
  tf.dispose(Object.values(params));
  await saveTokenizer(dir, tok);
  return dir;
}

/** Flags for a run that takes seconds: a handful of steps, a few eval prompts. */
export function tinyRunFlags(modelDir: string, outDir: string): string[] {
  return [
    `--model.path=${modelDir}`,
    "--eval.judge=keyword",
    "--alignment.optim.maxSteps=4",
    "--finetune.optim.maxSteps=8",
    "--alignment.optim.batchSize=4",
    "--finetune.optim.batchSize=4",
    "--method.alignmentSteps=1",
    "--method.finetuneSteps=3",
    "--data.n=40",
    "--data.alignmentN=20",
    "--eval.harmfulN=4",
    "--eval.taskN=4",
    "--eval.maxNewTokens=4",
    "--eval.batchSize=4",
    "--model.maxLength=96",
    `--output.dir=${outDir}`,
    "--output.checkpointEvery=4",
  ];
}
