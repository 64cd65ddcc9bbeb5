/**
 * The wave-2 methods through the whole pipeline on a tiny model: the alignment methods that
 * draw the provider's harmful data get it (and only it), LDIFS fine-tunes, and nothing leaks.
 */
import assert from "node:assert/strict";
import { Effect, Layer } from "effect";
import { Backend, tf } from "../backends/mod.ts";
import { DEFAULT_CONFIG, resolveConfig } from "../src/config/mod.ts";
import { loadDatasets, openRunDir, runPipeline } from "../src/pipeline/mod.ts";
import { Progress } from "../src/train/mod.ts";
import { tinyModelDir, tinyRunFlags } from "./_tiny_lm.ts";
import { commandLine } from "./_helpers.ts";

const layers = Layer.mergeAll(Backend.layer("wasm"), Progress.silent);

async function run(flags: string[], command: "run" | "align") {
  const cfg = await Effect.runPromise(resolveConfig(commandLine(flags)));
  return await Effect.runPromise(
    Effect.provide(
      Effect.gen(function* () {
        const dir = yield* openRunDir(cfg, "test", null);
        return yield* runPipeline(cfg, dir, command);
      }),
      layers,
    ),
  );
}

const logOf = async (path: string) =>
  (await Deno.readTextFile(path)).trim().split("\n").map((l) => JSON.parse(l));

Deno.test("booster alignment, then LDIFS fine-tuning: every stage runs, penalties logged, no leak", async () => {
  const model = await tinyModelDir();
  const out = await Deno.makeTempDir();
  await Effect.runPromise(Effect.provide(Effect.void, layers));
  const before = tf.memory().numTensors;
  const result = await run([
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
    await run([
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
