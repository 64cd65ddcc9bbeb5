/**
 * The wave-2 methods through the whole pipeline on a tiny model: the alignment methods that
 * draw the provider's harmful data get it (and only it), LDIFS fine-tunes, the repair stage
 * runs between fine-tuning and evaluation, a sweep varies all three stages' methods, and
 * nothing leaks.
 */
import assert from "node:assert/strict";
import { Effect } from "effect";
import { tf } from "../backends/mod.ts";
import { DEFAULT_CONFIG, resolveConfig } from "../src/config/mod.ts";
import { cellConfig, loadDatasets, sweepCells, sweepRepairs } from "../src/pipeline/mod.ts";
import { TrainOptionInvalid } from "../src/train/mod.ts";
import { runTiny, sweepTiny, tinyModelDir, tinyRunFlags } from "./_tiny_lm.ts";
import { commandLine } from "./_helpers.ts";

const logOf = async (path: string) =>
  (await Deno.readTextFile(path)).trim().split("\n").map((l) => JSON.parse(l));

Deno.test("booster alignment, then LDIFS fine-tuning: every stage runs, penalties logged, no leak", async () => {
  const model = await tinyModelDir();
  const out = await Deno.makeTempDir();
  await runTiny([...tinyRunFlags(model, out), "--output.name=warm"], "align"); // backend up
  const before = tf.memory().numTensors;
  const result = await runTiny([
    ...tinyRunFlags(model, out),
    "--alignment.method=booster",
    "--data.alignmentHarmfulN=12",
    "--method.compare=ldifs",
    "--method.ldifsLambda=0.5",
    "--eval.base=false",
    "--output.name=r",
  ], "run");
  assert.equal(tf.memory().numTensors, before, "tensors leaked across the run");
  assert.deepEqual(result.rows.map((r) => r.label), ["aligned", "booster+ldifs"]);
  const align = await logOf(`${out}/r/align/log.jsonl`);
  assert.equal(align.length, 4);
  // Booster's penalty is lambda times a finite difference: finite and not identically zero.
  assert.ok(align.every((l) => Number.isFinite(l.penalty)));
  assert.ok(align.some((l) => l.penalty !== 0), JSON.stringify(align.map((l) => l.penalty)));
  const ft = await logOf(`${out}/r/finetune-ldifs/train/log.jsonl`);
  assert.equal(ft.length, 8);
  assert.equal(ft[0].penalty, 0); // the first step starts at the aligned model
  assert.ok(ft.slice(1).some((l) => l.penalty > 0));
  await Deno.remove(out, { recursive: true });
  await Deno.remove(model, { recursive: true });
});

for (const method of ["repnoise", "t-vaccine"]) {
  Deno.test(`${method} alignment stage runs on the provider's harmful data`, async () => {
    const model = await tinyModelDir();
    const out = await Deno.makeTempDir();
    await runTiny([
      ...tinyRunFlags(model, out),
      `--alignment.method=${method}`,
      "--data.alignmentHarmfulN=12",
      "--alignment.tvaccineLayers=1",
      "--alignment.tvaccineResample=2",
      "--output.name=a",
    ], "align");
    const log = await logOf(`${out}/a/align/log.jsonl`);
    assert.equal(log.length, 4);
    assert.ok(log.every((l) => Number.isFinite(l.loss) && Number.isFinite(l.penalty)));
    await Deno.stat(`${out}/a/aligned/model.safetensors`);
    await Deno.remove(out, { recursive: true });
    await Deno.remove(model, { recursive: true });
  });
}

Deno.test("the provider's harmful data: built only when used, apart from the user's and the evaluation's", async () => {
  const cfg = {
    ...DEFAULT_CONFIG,
    data: { ...DEFAULT_CONFIG.data, alignmentN: 50, alignmentHarmfulN: 40, n: 100 },
    eval: { ...DEFAULT_CONFIG.eval, harmfulN: 30, taskN: 10 },
  };
  const plain = await Effect.runPromise(loadDatasets(cfg));
  assert.equal(plain.alignmentHarmful.length, 0);
  const ds = await Effect.runPromise(
    loadDatasets({ ...cfg, alignment: { ...cfg.alignment, method: "booster" } }),
  );
  assert.equal(ds.alignmentHarmful.length, 40);
  assert.ok(ds.alignmentHarmful.every((e) => e.provenance.kind === "harmful"));
  // The alignment prompts with harmful answers, as BeaverTails pairs answers to one prompt.
  const alignPrompts = new Set(ds.alignment.map((e) => e.instruction));
  assert.ok(ds.alignmentHarmful.every((e) => alignPrompts.has(e.instruction)));
  const evalPrompts = new Set(ds.harmfulEval.map((e) => e.instruction));
  assert.ok(ds.alignmentHarmful.every((e) => !evalPrompts.has(e.instruction)));
  // Too many for the generator's pool: refused, naming the setting.
  const big = await Effect.runPromise(Effect.flip(loadDatasets({
    ...cfg,
    alignment: { ...cfg.alignment, method: "repnoise" },
    data: { ...cfg.data, alignmentHarmfulN: 100000 },
  })));
  assert.match(big.message, /data\.alignmentHarmfulN/);
});

Deno.test("repair: safelora between fine-tuning and evaluation, recorded, labelled, no leak", async () => {
  const model = await tinyModelDir(2);
  const out = await Deno.makeTempDir();
  await runTiny([...tinyRunFlags(model, out), "--output.name=warm"], "align");
  const before = tf.memory().numTensors;
  const result = await runTiny([
    ...tinyRunFlags(model, out),
    "--method.compare=sft",
    "--repair.method=safelora",
    "--repair.safeloraThreshold=1",
    "--eval.base=false",
    "--output.name=r",
  ]);
  assert.equal(tf.memory().numTensors, before, "tensors leaked across the run");
  assert.deepEqual(result.rows.map((r) => r.label), ["aligned", "sft+safelora"]);
  const row = result.rows[1]!;
  assert.equal(row.repair, "safelora");
  assert.ok(row.repairSeconds! >= 0);
  const dir = `${out}/r/finetune-sft`;
  const record = JSON.parse(await Deno.readTextFile(`${dir}/repair-safelora/repair.json`));
  // Threshold 1: every module with a non-zero update is projected (cosines are at most 1).
  assert.equal(record.modules.length, 4); // q and v of the tiny model's 2 layers
  assert.ok(
    record.modules.every((m: { projected: boolean; cosine: number | null }) =>
      m.projected === (m.cosine !== null)
    ),
  );
  for (const f of ["adapter/adapter_model.safetensors", "answers.jsonl", "metrics.json"]) {
    await Deno.stat(`${dir}/repair-safelora/${f}`);
  }
  await Deno.stat(`${dir}/adapter/adapter_model.safetensors`); // the fine-tuned adapter too
  await Deno.remove(out, { recursive: true });
  await Deno.remove(model, { recursive: true });
});

Deno.test("sweep: alignment x fine-tuning x repair, one fine-tuning per cell for every repair", async () => {
  const model = await tinyModelDir(3);
  const out = await Deno.makeTempDir();
  const cfg = await Effect.runPromise(resolveConfig(commandLine([
    ...tinyRunFlags(model, out),
    "--method.compare=sft",
    "--sweep.alignment=sft,vaccine",
    "--sweep.repair=none,antidote",
    "--data.alignmentHarmfulN=12",
    "--repair.antidoteSamples=8",
    "--finetune.optim.maxSteps=4",
    "--output.name=s",
  ])));
  const text = await sweepTiny(cfg);
  const report = JSON.parse(await Deno.readTextFile(`${out}/s/report.json`));
  assert.deepEqual(
    report.runs.map((r: { method: string }) => r.method),
    ["sft", "sft+antidote", "vaccine+sft", "vaccine+sft+antidote"],
  );
  // Each row carries the seconds of the alignment behind it (shared by the cells of one
  // aligned model) and of its own fine-tuning plus repair.
  const secs = report.runs.map((r: { alignSeconds: number; trainSeconds: number }) => r);
  assert.ok(
    secs.every((r: { alignSeconds: number; trainSeconds: number }) =>
      r.alignSeconds > 0 && r.trainSeconds > 0
    ),
  );
  assert.equal(secs[0].alignSeconds, secs[1].alignSeconds);
  assert.equal(secs[2].alignSeconds, secs[3].alignSeconds);
  assert.ok(secs[1].trainSeconds >= secs[0].trainSeconds, "the repair's seconds are added");
  for (const label of ["vaccine+sft+antidote", "sft+antidote"]) {
    assert.match(text, new RegExp(label.replaceAll("+", "\\+")));
  }
  for (const a of ["sft", "vaccine"]) {
    const base = `${out}/s/seed-42/alignment-${a}`;
    await Deno.stat(`${base}/aligned/model.safetensors`);
    const cell = `${base}/sft-p0.1-n40-rho0-k0_0`;
    // Fine-tuned once: both repairs start from the same adapter.
    const log = (await Deno.readTextFile(`${cell}/train/log.jsonl`)).trim().split("\n");
    assert.equal(log.length, 4);
    const record = JSON.parse(await Deno.readTextFile(`${cell}/repair-antidote/repair.json`));
    assert.equal(record.samples, 8);
    assert.ok(record.removed > 0.1 && record.removed < 0.3, `removed ${record.removed}`);
  }
  await Deno.remove(out, { recursive: true });
  await Deno.remove(model, { recursive: true });
});

Deno.test("repair: settings that cannot work fail before training, naming the setting", async () => {
  const model = await tinyModelDir(6);
  const out = await Deno.makeTempDir();
  let n = 0;
  const fails = async (flags: string[], command: "run" | "eval" | "finetune" = "run") => {
    const name = `--output.name=bad-${n++}`;
    const e = await runTiny([...tinyRunFlags(model, out), name, ...flags], command).then(
      () => null,
      (x) => x,
    );
    assert.ok(e !== null, `${flags.join(" ")} should fail`);
    return e as { _tag: string; field?: string; message: string };
  };
  let e = await fails(["--repair.method=safelora", "--alignment.enabled=false"]);
  assert.equal(e.field, "alignment.enabled");
  e = await fails(["--repair.method=safelora", "--method.compare=na-sft"]);
  assert.equal(e.field, "method.compare");
  e = await fails(["--repair.method=safelora", "--alignment.lora.targets=q_proj"]);
  assert.equal(e.field, "alignment.lora.targets");
  e = await fails([
    "--repair.method=antidote",
    "--data.alignmentHarmfulN=10",
    "--repair.antidoteSamples=20",
  ]);
  assert.equal(e.field, "repair.antidoteSamples");
  e = await fails(["--repair.method=antidote", "--model.path=" + model], "eval");
  assert.equal(e.field, "repair.method");
  assert.ok(e instanceof TrainOptionInvalid);
  // Refused before anything was written: no run folder at all.
  assert.deepEqual([...Deno.readDirSync(out)], []);
  await Deno.remove(out, { recursive: true });
  await Deno.remove(model, { recursive: true });
});

Deno.test("sweep cells: one aligned model per alignment method, NA-SFT once whatever the alignment", () => {
  const cfg = {
    ...DEFAULT_CONFIG,
    method: { ...DEFAULT_CONFIG.method, compare: ["sft", "na-sft"] as const },
    sweep: { ...DEFAULT_CONFIG.sweep, alignment: ["sft", "booster"] as const, seeds: [1, 2] },
  };
  const cells = sweepCells(cfg);
  assert.deepEqual(
    cells.map((c) => `${c.seed}:${c.alignment}:${c.method}`),
    ["1:sft:sft", "1:sft:na-sft", "1:booster:sft", "2:sft:sft", "2:sft:na-sft", "2:booster:sft"],
  );
  assert.equal(cellConfig(cfg, cells[2]!).alignment.method, "booster");
  assert.deepEqual(sweepRepairs(cfg), ["none"]);
});
