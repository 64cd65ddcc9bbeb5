/**
 * A tiny model folder (tokenizer trained on the embedded corpus, random weights) for fast
 * pipeline tests.
 *
 * @module
 */
import { corpus } from "../src/embedded/mod.ts";
import { initParams, saveModel, tinyModelConfig } from "../src/model/mod.ts";
import { saveTokenizer, tokenizerFromJson, trainBpeTokenizer } from "../src/tokenizer/mod.ts";
import { Effect, Layer } from "effect";
import { Backend, initBackend, tf } from "../backends/mod.ts";
import { type ExperimentConfig, resolveConfig } from "../src/config/mod.ts";
import {
  type ExperimentResult,
  type PipelineCommand,
  planRunDir,
  runPipeline,
  runSweep,
} from "../src/pipeline/mod.ts";
import { Progress } from "../src/train/mod.ts";
import { commandLine } from "./_helpers.ts";

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

/** The layers tests run the pipeline with: the wasm backend, no progress output. */
export const TEST_LAYERS = Layer.mergeAll(Backend.layer("wasm"), Progress.silent);

/**
 * Run a pipeline command from command-line flags (as the CLI parses them) on the wasm
 * backend, silently, in a fresh run folder under the flags' `output.dir`, made (as by the
 * CLI) only once the inputs pass their checks.
 */
export async function runTiny(
  flags: string[],
  command: PipelineCommand = "run",
): Promise<ExperimentResult> {
  const cfg = await Effect.runPromise(resolveConfig(commandLine(flags)));
  return await Effect.runPromise(Effect.provide(
    Effect.gen(function* () {
      // As the CLI: the folder is made only once the inputs pass their checks.
      return yield* runPipeline(cfg, yield* planRunDir(cfg, "test", null), command);
    }),
    TEST_LAYERS,
  ));
}

/** Run (or, with `dir`, resume) a sweep of `cfg` on the wasm backend; returns its summary. */
export function sweepTiny(cfg: ExperimentConfig, dir: string | null = null): Promise<string> {
  return Effect.runPromise(Effect.provide(
    Effect.gen(function* () {
      return yield* runSweep(cfg, yield* planRunDir(cfg, "sweep", dir));
    }),
    TEST_LAYERS,
  ));
}
