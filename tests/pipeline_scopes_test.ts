/**
 * Resources in scopes: whatever ends a run (a data stage that fails, an alignment stage that
 * fails, an interruption in the middle of training), every tensor it created is freed, and an
 * interrupted run resumes to exactly the result of one that never stopped.
 */
import assert from "node:assert/strict";
import { Cause, Effect, Exit, Layer } from "effect";
import { Backend, tf } from "../backends/mod.ts";
import { type ExperimentConfig, resolveConfig } from "../src/config/mod.ts";
import { pathExistsSync } from "../src/io/mod.ts";
import { openRunDir, type PipelineCommand, runPipeline } from "../src/pipeline/mod.ts";
import { Progress } from "../src/train/mod.ts";
import { tinyModelDir, tinyRunFlags } from "./_tiny_lm.ts";
import { commandLine } from "./_helpers.ts";

const config = (flags: string[]) => Effect.runPromise(resolveConfig(commandLine(flags)));

/** Run the pipeline on wasm with `progress`, returning its exit. */
function runWith(
  cfg: ExperimentConfig,
  progress: Layer.Layer<Progress>,
  dir: string | null = null,
  command: PipelineCommand = "run",
) {
  return Effect.runPromiseExit(
    Effect.gen(function* () {
      const runDir = dir ?? (yield* openRunDir(cfg, "test", null));
      return yield* runPipeline(cfg, runDir, command);
    }).pipe(Effect.provide(Layer.mergeAll(Backend.layer("wasm"), progress))),
  );
}

const failureTag = (exit: Exit.Exit<unknown, unknown>): string => {
  assert.ok(Exit.isFailure(exit), "the run should have failed");
  const f = exit.cause.reasons.find((r) => r._tag === "Fail");
  assert.ok(f && f._tag === "Fail", `expected a typed failure, got ${Cause.pretty(exit.cause)}`);
  const e = f.error;
  return typeof e === "object" && e !== null && "_tag" in e ? String(e._tag) : String(e);
};

/** A Progress layer that interrupts the run after `step` steps of the phase named `label`. */
function interruptAt(label: string, step: number): Layer.Layer<Progress> {
  return Layer.sync(Progress, () => {
    let current = "";
    return {
      start: (l: string) => Effect.sync(() => void (current = l)),
      update: (p) => current === label && p.done === step ? Effect.interrupt : Effect.void,
      finish: () => Effect.void,
    };
  });
}

Deno.test("scopes: a failing data stage frees every tensor (early and after alignment)", async () => {
  const model = await tinyModelDir(6);
  const out = await Deno.makeTempDir();
  await Effect.runPromise(Effect.provide(Effect.void, Backend.layer("wasm")));
  const baseline = tf.memory().numTensors;
  // Early: a real task without its files fails before the model is loaded.
  const early = await runWith(
    await config([...tinyRunFlags(model, out), "--data.task=sst2", "--output.name=a"]),
    Progress.silent,
  );
  assert.equal(failureTag(early), "DataInvalid");
  assert.equal(tf.memory().numTensors, baseline);
  // Vlguard asking for more alignment samples than there are is caught before anything trains.
  const mixing = await runWith(
    await config([
      ...tinyRunFlags(model, out),
      "--method.compare=vlguard",
      "--method.vlguardK=999",
      "--output.name=v",
    ]),
    Progress.silent,
  );
  assert.equal(failureTag(mixing), "SourceTooSmall");
  assert.ok(!pathExistsSync(`${out}/v/align`), "nothing trained");
  assert.equal(tf.memory().numTensors, baseline);
  // Late: the fine-tuning stage cannot make its folder (a file is in the way), after the base
  // model was evaluated and the aligned model trained, merged and evaluated.
  await Deno.mkdir(`${out}/b`);
  await Deno.writeTextFile(`${out}/b/finetune-sft`, "in the way");
  const late = await runWith(
    await config([...tinyRunFlags(model, out), "--method.compare=sft", "--output.name=b"]),
    Progress.silent,
    `${out}/b`,
  );
  assert.equal(failureTag(late), "IOFailed");
  await Deno.stat(`${out}/b/aligned/model.safetensors`); // it did get that far
  assert.equal(tf.memory().numTensors, baseline, "tensors leaked after a late data failure");
  await Deno.remove(out, { recursive: true });
  await Deno.remove(model, { recursive: true });
});

Deno.test("scopes: a failing alignment stage frees the model, the adapter and the optimizer", async () => {
  const model = await tinyModelDir(7);
  const out = await Deno.makeTempDir();
  const cfg = await config([...tinyRunFlags(model, out), "--output.name=r"]);
  await Effect.runPromise(Effect.provide(Effect.void, Backend.layer("wasm")));
  const baseline = tf.memory().numTensors;
  // A file where the alignment stage's checkpoint folder must go: the first checkpoint
  // (step 4) fails in the middle of training.
  await Deno.mkdir(`${out}/r/align`, { recursive: true });
  await Deno.writeTextFile(`${out}/r/align/checkpoints`, "not a folder");
  const exit = await runWith(cfg, Progress.silent, `${out}/r`);
  assert.equal(failureTag(exit), "IOFailed");
  assert.equal(tf.memory().numTensors, baseline, "tensors leaked after a failed alignment");
  await Deno.remove(out, { recursive: true });
  await Deno.remove(model, { recursive: true });
});

Deno.test("scopes: an interrupted training stage frees everything, checkpoints, and resumes bit-identically", async () => {
  const model = await tinyModelDir(8);
  const out = await Deno.makeTempDir();
  const flags = [...tinyRunFlags(model, out), "--method.compare=lisa"];
  await Effect.runPromise(Effect.provide(Effect.void, Backend.layer("wasm")));
  const baseline = tf.memory().numTensors;

  const straight = await runWith(
    await config([...flags, "--output.name=straight"]),
    Progress.silent,
  );
  assert.ok(Exit.isSuccess(straight));

  const cfg = await config([...flags, "--output.name=cut"]);
  const dir = `${out}/cut`;
  await Deno.mkdir(dir, { recursive: true });
  // Step 3 of 8 is not a checkpoint step (every 4): the interruption writes its own.
  const cut = await runWith(cfg, interruptAt("finetune lisa", 3), dir);
  assert.ok(Exit.isFailure(cut) && Cause.hasInterruptsOnly(cut.cause), "interrupted");
  assert.equal(tf.memory().numTensors, baseline, "tensors leaked after an interruption");
  const ckpts = [...Deno.readDirSync(`${dir}/finetune-lisa/train/checkpoints`)].map((e) => e.name);
  assert.deepEqual(ckpts, ["step-00000003"]);

  const resumed = await runWith(cfg, Progress.silent, dir);
  assert.ok(Exit.isSuccess(resumed));
  assert.equal(tf.memory().numTensors, baseline);
  const plain = (x: unknown) =>
    JSON.parse(JSON.stringify(x, (k, v) => (k.endsWith("Seconds") ? 0 : v)));
  assert.deepEqual(plain(resumed.value.rows), plain(straight.value.rows));
  const log = async (d: string) =>
    (await Deno.readTextFile(`${d}/finetune-lisa/train/log.jsonl`)).trim().split("\n")
      .map((l) => {
        const { tokensPerSec: _t, ...rest } = JSON.parse(l);
        return rest;
      });
  assert.deepEqual(await log(dir), await log(`${out}/straight`));
  const weights = async (d: string) =>
    await Deno.readFile(`${d}/finetune-lisa/adapter/adapter_model.safetensors`);
  assert.deepEqual(await weights(dir), await weights(`${out}/straight`));
  await Deno.remove(out, { recursive: true });
  await Deno.remove(model, { recursive: true });
});
