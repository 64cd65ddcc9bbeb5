/**
 * A user's model folder through the pipeline: `eval` builds only the evaluation sets (the
 * reference sizes no longer crash it), and every bad folder, file or weight ends as exit 2 with
 * the file or tensor named, never as a crash.
 */
import assert from "node:assert/strict";
import { isAbsolute, resolve } from "node:path";
import { Effect, Layer } from "effect";
import { Backend, tf } from "../backends/mod.ts";
import { configFor } from "../src/cli/main.ts";
import { loadAdapter } from "../src/lora/mod.ts";
import { disposeParams, loadModel, saveModel } from "../src/model/mod.ts";
import {
  ALL_DATASETS,
  datasetNeeds,
  loadDatasets,
  loadLm,
  openRunDir,
  runPipeline,
} from "../src/pipeline/mod.ts";
import { Progress } from "../src/train/mod.ts";
import { tinyModelDir, tinyRunFlags } from "./_tiny_lm.ts";
import { commandLine } from "./_helpers.ts";

const layers = Layer.mergeAll(Backend.layer("wasm"), Progress.silent);
const root = new URL("../", import.meta.url).pathname;

async function cli(...args: string[]): Promise<{ code: number; err: string; ms: number }> {
  const t0 = performance.now();
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-webgpu", "src/cli/main.ts", ...args],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: r.code, err: new TextDecoder().decode(r.stderr), ms: performance.now() - t0 };
}

const evalFlags = (model: string, out: string) => [
  `--model.path=${model}`,
  "--eval.judge=keyword",
  "--eval.harmfulN=4",
  "--eval.taskN=4",
  "--eval.maxNewTokens=4",
  "--eval.batchSize=4",
  `--output.dir=${out}`,
  "--output.name=e",
];

Deno.test("eval on a user model builds only the evaluation sets, the same ones run uses", async () => {
  const model = await tinyModelDir();
  const out = await Deno.makeTempDir();
  // The reference alignmentN (10000) exceeds the embedded pool; eval must not build it.
  const args = commandLine(["eval", ...evalFlags(model, out), "--data.alignmentN=10000"]);
  const cfg = await Effect.runPromise(configFor(args));
  assert.equal(cfg.data.alignmentN, 10000);
  const evalSets = await Effect.runPromise(loadDatasets(cfg, datasetNeeds("eval")));
  assert.deepEqual(
    [evalSets.alignment.length, evalSets.harmful.length, evalSets.taskTrain.length],
    [0, 0, 0],
  );
  const all = await Effect.runPromise(
    loadDatasets({ ...cfg, data: { ...cfg.data, alignmentN: 1000 } }, ALL_DATASETS),
  );
  assert.deepEqual(evalSets.harmfulEval, all.harmfulEval);
  assert.deepEqual(evalSets.taskTest, all.taskTest);

  await Effect.runPromise(Effect.provide(Effect.void, layers));
  const before = tf.memory().numTensors;
  const result = await Effect.runPromise(Effect.provide(
    Effect.gen(function* () {
      const dir = yield* openRunDir(cfg, "eval", null);
      return yield* runPipeline(cfg, dir, "eval");
    }),
    layers,
  ));
  assert.equal(tf.memory().numTensors, before, "eval leaked tensors");
  assert.deepEqual(result.data, {
    alignment: 0,
    harmful: 0,
    alignmentHarmful: 0,
    harmfulEval: 4,
    taskTrain: 0,
    taskTest: 4,
    skipped: {},
  });
  await Deno.remove(out, { recursive: true });
  await Deno.remove(model, { recursive: true });
});

Deno.test("embedded data sizes apply under a user model; an explicit size over the pool is named", async () => {
  const model = await tinyModelDir();
  const cfg = await Effect.runPromise(configFor(commandLine(["eval", `--model.path=${model}`])));
  assert.equal(cfg.data.alignmentN, 1000);
  assert.equal(cfg.eval.harmfulN, 504);
  assert.equal(cfg.finetune.optim.lr, 1e-5, "training settings keep their reference values");
  const tooMany = await Effect.runPromise(configFor(
    commandLine(["eval", `--model.path=${model}`, "--eval.harmfulN=600"]),
  ));
  const err = await Effect.runPromise(Effect.flip(loadDatasets(tooMany, datasetNeeds("eval"))));
  assert.equal(err._tag, "SourceTooSmall");
  assert.match(err.message, /eval\.harmfulN.*504.*600/);
  await Deno.remove(model, { recursive: true });
});

Deno.test("a bad adapter path fails as AssetInvalid (exit 2), leaking nothing", async () => {
  const model = await tinyModelDir();
  const out = await Deno.makeTempDir();
  const cfg = await Effect.runPromise(configFor(
    commandLine(["eval", ...evalFlags(model, out), `--eval.adapterPath=${out}/missing`]),
  ));
  await Effect.runPromise(Effect.provide(Effect.void, layers));
  const before = tf.memory().numTensors;
  const err = await Effect.runPromise(Effect.provide(
    Effect.flip(Effect.gen(function* () {
      const dir = yield* openRunDir(cfg, "eval", null);
      return yield* runPipeline(cfg, dir, "eval");
    })),
    layers,
  ));
  assert.equal(tf.memory().numTensors, before);
  assert.equal((err as { _tag: string })._tag, "AssetInvalid");
  assert.match(String((err as Error).message), /missing: no such folder/);
  await Deno.remove(out, { recursive: true });
  await Deno.remove(model, { recursive: true });
});

Deno.test("a tokenizer larger than the model's vocabulary is named before weights load", async () => {
  const model = await tinyModelDir();
  const cfgJson = JSON.parse(await Deno.readTextFile(`${model}/config.json`));
  await Deno.writeTextFile(
    `${model}/config.json`,
    JSON.stringify({ ...cfgJson, vocab_size: 100 }),
  );
  const err = await Effect.runPromise(
    Effect.flip(Effect.scoped(loadLm(model))).pipe(Effect.provide(layers)),
  );
  assert.match(
    err.message,
    /tokenizer\.json uses ids up to \d+ but config\.json has vocab_size 100/,
  );
  await Deno.remove(model, { recursive: true });
});

Deno.test("CLI: NaN weights and a config.json pointing at /dev/zero exit 2, naming the cause", async () => {
  const model = await tinyModelDir();
  const loaded = await loadModel(model);
  const name = "model.layers.1.mlp.up_proj.weight";
  const w = loaded.params[name]!;
  const values = (await w.data()) as Float32Array;
  values[7] = NaN;
  loaded.params[name] = tf.tensor(values, w.shape);
  w.dispose();
  await saveModel(model, loaded.config, loaded.params);
  disposeParams(loaded.params);
  const out = await Deno.makeTempDir();
  const nan = await cli("eval", ...evalFlags(model, out), "--backend=cpu");
  assert.equal(nan.code, 2, nan.err);
  assert.match(
    nan.err,
    /model\.layers\.1\.mlp\.up_proj\.weight.*expected finite values.*NaN at flat index 7/,
  );
  assert.ok(!/\n\s+at /.test(nan.err), "no stack trace");

  const zero = await Deno.makeTempDir();
  await Deno.symlink("/dev/zero", `${zero}/config.json`);
  const z = await cli("eval", ...evalFlags(zero, out), "--output.name=z", "--backend=cpu");
  assert.equal(z.code, 2, z.err);
  assert.match(z.err, /config\.json \(model config\): expected a regular file, found a symlink/);
  assert.ok(z.ms < 30_000, `took ${z.ms} ms`);
  for (const d of [model, out, zero]) await Deno.remove(d, { recursive: true });
});

Deno.test("finetune: the adapter names its base model so PEFT can find it from the adapter alone", async () => {
  const model = await tinyModelDir();
  const out = await Deno.makeTempDir();
  const cfg = await Effect.runPromise(configFor(
    commandLine([
      "finetune",
      ...tinyRunFlags(model, out),
      "--method.name=sft",
      "--finetune.optim.maxSteps=2",
      "--output.name=f",
    ]),
  ));
  await Effect.runPromise(Effect.provide(
    Effect.gen(function* () {
      const dir = yield* openRunDir(cfg, "finetune", null);
      return yield* runPipeline(cfg, dir, "finetune");
    }),
    layers,
  ));
  const adapterDir = `${out}/f/finetune-sft/adapter`;
  const json = JSON.parse(await Deno.readTextFile(`${adapterDir}/adapter_config.json`));
  const base: string = json.base_model_name_or_path;
  assert.ok(!isAbsolute(base), `relative to the working folder: ${base}`);
  assert.equal(resolve(base), resolve(model));
  const adapter = await loadAdapter(adapterDir);
  assert.equal(adapter.peft.baseModel, base);
  adapter.dispose();
  await Deno.remove(out, { recursive: true });
  await Deno.remove(model, { recursive: true });
});
