import assert from "node:assert/strict";
import { Effect } from "effect";
import { tf } from "../backends/mod.ts";
import { type ExperimentConfig, resolveConfig } from "../src/config/mod.ts";
import {
  cellConfig,
  type ExperimentResult,
  mayChangeOnResume,
  openRunDir,
  RUN_MARKER,
  runPipeline,
  runSweep,
  sweepCells,
} from "../src/pipeline/mod.ts";
import { runTiny, TEST_LAYERS, tinyModelDir, tinyRunFlags } from "./_tiny_lm.ts";
import { commandLine } from "./_helpers.ts";

const inRange = (x: number | null) => x !== null && x >= 0 && x <= 100;

Deno.test("run: every stage runs, metrics in range, files written, no tensor leak", async () => {
  const model = await tinyModelDir();
  const out = await Deno.makeTempDir();
  await Effect.runPromise(Effect.provide(Effect.void, TEST_LAYERS));
  const before = tf.memory().numTensors;
  const result: ExperimentResult = await runTiny([
    ...tinyRunFlags(model, out),
    "--method.compare=sft,lisa,na-sft",
    "--output.name=r",
  ]);
  assert.equal(tf.memory().numTensors, before, "tensors leaked across the run");
  assert.deepEqual(result.rows.map((r) => r.label), ["base", "aligned", "sft", "lisa", "na-sft"]);
  for (const r of result.rows) {
    assert.ok(inRange(r.harmfulScore), `${r.label} HS ${r.harmfulScore}`);
    assert.ok(inRange(r.finetuneAccuracy), `${r.label} FA ${r.finetuneAccuracy}`);
    assert.ok(inRange(r.refusalRate));
    assert.ok(inRange(r.incoherenceRate));
    assert.ok(
      r.baseNll !== undefined && Number.isFinite(r.baseNll) && r.baseNll >= 0,
      `${r.baseNll}`,
    );
    assert.ok(
      r.intervals.harmfulScore.lo <= r.harmfulScore &&
        r.harmfulScore <= r.intervals.harmfulScore.hi,
    );
  }
  const lisa = result.rows.find((r) => r.label === "lisa")!;
  assert.equal(lisa.steps, 8);
  assert.ok(lisa.drift.length >= 2, "lisa logs drift at its switches");
  for (
    const f of [
      "config.json",
      "metrics.json",
      "report.html",
      "report.md",
      "report.json",
      "aligned/model.safetensors",
      "finetune-lisa/adapter/adapter_model.safetensors",
      "finetune-lisa/adapter/adapter_config.json",
      "finetune-lisa/train/log.jsonl",
      "finetune-lisa/answers.jsonl",
      "finetune-lisa/user-data.json",
    ]
  ) {
    await Deno.stat(`${out}/r/${f}`);
  }
  const user = JSON.parse(await Deno.readTextFile(`${out}/r/finetune-sft/user-data.json`));
  assert.equal(user.poison, 4); // floor(0.1 * 40)
  assert.equal(user.normal, 36);
  assert.equal(user.provenance.length, 40);
  const log = (await Deno.readTextFile(`${out}/r/finetune-lisa/train/log.jsonl`)).trim()
    .split("\n").map((l) => JSON.parse(l));
  // K1 = 1 alignment step, then K2 = 3 fine-tune steps, repeating, over 8 steps.
  assert.equal(log.map((l) => l.state[0]).join(""), "afffafff");
  await Deno.remove(out, { recursive: true });
  await Deno.remove(model, { recursive: true });
});

Deno.test("run: resuming a finished run reuses every phase and gives the same rows", async () => {
  const model = await tinyModelDir(2);
  const out = await Deno.makeTempDir();
  const flags = [...tinyRunFlags(model, out), "--method.compare=lisa", "--output.name=r"];
  const first = await runTiny(flags);
  const logPath = `${out}/r/finetune-lisa/train/log.jsonl`;
  const mtime = (await Deno.stat(logPath)).mtime?.getTime();
  const cfg = await Effect.runPromise(
    resolveConfig({ configFile: `${out}/r/config.json`, overrides: [] }),
  );
  const again = await Effect.runPromise(
    Effect.provide(runPipeline(cfg, `${out}/r`, "run"), TEST_LAYERS),
  );
  const plain = (x: unknown) => JSON.parse(JSON.stringify(x));
  assert.deepEqual(plain(again.rows), plain(first.rows));
  assert.equal((await Deno.stat(logPath)).mtime?.getTime(), mtime, "training did not rerun");
  await Deno.remove(out, { recursive: true });
  await Deno.remove(model, { recursive: true });
});

Deno.test("run: a finished run is evaluated on the validation split without training", async () => {
  const model = await tinyModelDir(4);
  const out = await Deno.makeTempDir();
  const flags = [...tinyRunFlags(model, out), "--method.compare=lisa", "--output.name=r"];
  const first = await runTiny(flags);
  const logPath = `${out}/r/finetune-lisa/train/log.jsonl`;
  const mtime = (await Deno.stat(logPath)).mtime?.getTime();
  const cfg = await Effect.runPromise(resolveConfig({
    configFile: `${out}/r/config.json`,
    overrides: [["eval.split", "validation"]],
  }));
  const val = await Effect.runPromise(
    Effect.provide(runPipeline(cfg, `${out}/r`, "run"), TEST_LAYERS),
  );
  assert.equal((await Deno.stat(logPath)).mtime?.getTime(), mtime, "training did not rerun");
  assert.deepEqual(val.rows.map((r) => r.label), first.rows.map((r) => r.label));
  // Validation answers and metrics live apart; the test split's files are untouched.
  for (
    const f of ["validation/metrics.json", "validation/report.md", "base/validation/metrics.json"]
  ) {
    await Deno.stat(`${out}/r/${f}`);
  }
  // The run's record of its inputs now holds the validation sets too (checked from now on).
  const marker = JSON.parse(await Deno.readTextFile(`${out}/r/${RUN_MARKER}`));
  assert.ok(marker.inputs.data["harmfulEval"] && marker.inputs.data["harmfulEval@validation"]);
  assert.ok(marker.inputs.data["taskTest@validation"]);
  const testAnswers = await Deno.readTextFile(`${out}/r/finetune-lisa/answers.jsonl`);
  const valAnswers = await Deno.readTextFile(`${out}/r/finetune-lisa/validation/answers.jsonl`);
  assert.notEqual(valAnswers, testAnswers, "other prompts were answered");
  const testPrompts = new Set(testAnswers.trim().split("\n").map((l) => JSON.parse(l).prompt));
  for (const l of valAnswers.trim().split("\n")) {
    assert.ok(!testPrompts.has(JSON.parse(l).prompt), "a validation prompt is a test prompt");
  }
  await Deno.remove(out, { recursive: true });
  await Deno.remove(model, { recursive: true });
});

Deno.test("resume: the evaluated split may change, what is trained may not", () => {
  assert.ok(mayChangeOnResume("eval.split", "run"));
  assert.ok(mayChangeOnResume("eval.split", "sweep"));
  assert.ok(!mayChangeOnResume("eval.harmfulN", "run"));
  assert.ok(!mayChangeOnResume("method.rho", "run"));
});

Deno.test("a run directory is never reused without --output.overwrite", async () => {
  const out = await Deno.makeTempDir();
  await Deno.mkdir(`${out}/taken`);
  await Deno.writeTextFile(`${out}/taken/config.json`, "{}");
  const cfg = await Effect.runPromise(
    resolveConfig(commandLine([`--output.dir=${out}`, "--output.name=taken"])),
  );
  await assert.rejects(
    Effect.runPromise(openRunDir(cfg, "x", null)),
    /already holds a run/,
  );
  await Deno.remove(out, { recursive: true });
});

Deno.test("a real task without its data files fails before training, naming the field", async () => {
  const model = await tinyModelDir(3);
  const out = await Deno.makeTempDir();
  await assert.rejects(
    runTiny([...tinyRunFlags(model, out), "--data.task=sst2"]),
    (e: unknown) => {
      assert.match(String((e as Error).message ?? e), /data\.taskPath/);
      return true;
    },
  );
  await Deno.remove(out, { recursive: true });
  await Deno.remove(model, { recursive: true });
});

Deno.test("sweep cells: rho only for lisa, K1:K2 for lisa and bso, one per seed", async () => {
  const cfg = await Effect.runPromise(resolveConfig(commandLine([
    "--method.compare=sft,bso,lisa",
    "--sweep.p=0,0.1",
    "--sweep.rho=0.1,1",
    "--sweep.k=1:9,2:8",
    "--sweep.seeds=1,2",
  ])));
  const cells = sweepCells(cfg);
  // per seed and p: sft 1 + bso 2 (k) + lisa 4 (rho x k) = 7 -> 2 seeds x 2 p x 7
  assert.equal(cells.length, 28);
  const lisa = cells.find((c) => c.method === "lisa" && c.rho === 0.1 && c.k[0] === 2)!;
  const cc = cellConfig(cfg, lisa);
  assert.equal(cc.method.rho, 0.1);
  assert.equal(cc.method.alignmentSteps, 2);
  assert.equal(cc.method.finetuneSteps, 8);
  assert.equal(cc.method.name, "lisa");
});

Deno.test("sweep: runs the grid, reuses one aligned model per seed, reports mean ± std", async () => {
  const model = await tinyModelDir(4);
  const out = await Deno.makeTempDir();
  const cfg = await Effect.runPromise(resolveConfig(commandLine([
    ...tinyRunFlags(model, out),
    "--method.compare=sft,lisa",
    "--sweep.p=0,0.2",
    "--sweep.seeds=1,2",
    "--finetune.optim.maxSteps=4",
    "--output.name=s",
  ])));
  const text = await Effect.runPromise(Effect.provide(
    Effect.gen(function* () {
      const dir = yield* openRunDir(cfg, "sweep", null);
      return yield* runSweep(cfg, dir);
    }),
    TEST_LAYERS,
  ));
  assert.match(text, /p = 0\.2/);
  assert.match(text, /±/);
  const seedDirs = [...Deno.readDirSync(`${out}/s`)].filter((e) => e.name.startsWith("seed-"));
  assert.equal(seedDirs.length, 2);
  for (const s of seedDirs) {
    const cells = [...Deno.readDirSync(`${out}/s/${s.name}`)].filter((e) => e.name.includes("-p"));
    assert.equal(cells.length, 4);
    await Deno.stat(`${out}/s/${s.name}/aligned/model.safetensors`);
  }
  const report = JSON.parse(await Deno.readTextFile(`${out}/s/report.json`));
  assert.equal(report.runs.length, 8);
  await Deno.remove(out, { recursive: true });
  await Deno.remove(model, { recursive: true });
});

Deno.test("sweep: a widened grid reuses the aligned model and the finished cells", async () => {
  const model = await tinyModelDir(5);
  const out = await Deno.makeTempDir();
  const base = [...tinyRunFlags(model, out), "--finetune.optim.maxSteps=4", "--output.name=w"];
  const sweep = (cfg: ExperimentConfig, dir: string | null) =>
    Effect.runPromise(Effect.provide(
      Effect.gen(function* () {
        const d = yield* openRunDir(cfg, "sweep", dir);
        return yield* runSweep(cfg, d);
      }),
      TEST_LAYERS,
    ));
  await sweep(
    await Effect.runPromise(resolveConfig(commandLine([...base, "--method.compare=sft"]))),
    null,
  );
  const done = `${out}/w/seed-42/align/done.json`;
  const sftMetrics = `${out}/w/seed-42/sft-p0.1-n40-rho0-k0_0/metrics.json`;
  const before = [(await Deno.stat(done)).mtime?.getTime(), await Deno.readTextFile(sftMetrics)];
  const widened = await Effect.runPromise(resolveConfig({
    configFile: `${out}/w/config.json`,
    overrides: [["method.compare", "sft,lisa"]],
  }));
  const text = await sweep(widened, `${out}/w`);
  assert.match(text, /lisa/);
  const after = [(await Deno.stat(done)).mtime?.getTime(), await Deno.readTextFile(sftMetrics)];
  assert.deepEqual(after, before, "the aligned model and the sft cell were reused");
  const saved = JSON.parse(await Deno.readTextFile(`${out}/w/config.json`));
  assert.deepEqual(saved.method.compare, ["sft", "lisa"]);
  await Deno.remove(out, { recursive: true });
  await Deno.remove(model, { recursive: true });
});
