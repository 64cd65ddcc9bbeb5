/**
 * Worker processes give the same results as a serial run: a tiny sweep and a tiny `run`,
 * once in this process and once with two worker processes, compared file by file (metrics
 * without their wall-clock fields, every answer, every checkpoint and adapter byte).
 */
import assert from "node:assert/strict";
import { Effect, Layer } from "effect";
import { Backend } from "../backends/mod.ts";
import { resolveConfig } from "../src/config/mod.ts";
import { openRunDir, runPipeline, runSweep } from "../src/pipeline/mod.ts";
import {
  runJobs,
  runPipelineInWorkers,
  runSweepInWorkers,
  sweepJobs,
  workerThreadEnv,
} from "../src/parallel/mod.ts";
import { Progress } from "../src/train/mod.ts";
import { tinyModelDir, tinyRunFlags } from "./_tiny_lm.ts";
import { commandLine, timeless } from "./_helpers.ts";

const layers = Layer.mergeAll(Backend.layer("wasm"), Progress.silent);

/** Every file under `dir`, relative, sorted. */
function files(dir: string, sub = ""): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(`${dir}${sub}`)) {
    const rel = `${sub}/${e.name}`;
    if (e.isDirectory) out.push(...files(dir, rel));
    else out.push(rel);
  }
  return out.sort();
}

/** Assert two run folders hold the same results (see the module doc). */
async function assertSameResults(a: string, b: string) {
  const fa = files(a).filter((f) => !f.startsWith("/report") && f !== "/config.json");
  const fb = files(b).filter((f) => !f.startsWith("/report") && f !== "/config.json");
  assert.deepEqual(fb, fa, "the same files");
  let compared = 0;
  for (const f of fa) {
    if (f.endsWith("metrics.json") || f.endsWith("done.json")) {
      const ja = JSON.parse(await Deno.readTextFile(`${a}${f}`));
      const jb = JSON.parse(await Deno.readTextFile(`${b}${f}`));
      assert.deepEqual(timeless(jb), timeless(ja), f);
      compared++;
    } else if (f.endsWith(".safetensors") || f.endsWith("answers.jsonl")) {
      assert.deepEqual(await Deno.readFile(`${b}${f}`), await Deno.readFile(`${a}${f}`), f);
      compared++;
    }
  }
  return compared;
}

Deno.test("workers: wasm threads shared per worker, the caller's setting kept, BLAS untouched", () => {
  assert.deepEqual(workerThreadEnv(2, 8, {}), { LISA_THREADS: "4" });
  assert.deepEqual(workerThreadEnv(4, 2, {}), { LISA_THREADS: "1" });
  assert.deepEqual(workerThreadEnv(2, 8, { LISA_THREADS: "3" }), { LISA_THREADS: "3" });
  // BLAS threads change native results, so a worker keeps the serial run's.
  assert.equal(workerThreadEnv(2, 8, {}).OPENBLAS_NUM_THREADS, undefined);
});

Deno.test("workers: a sweep on 2 worker processes equals the serial sweep", async () => {
  const model = await tinyModelDir(6);
  const out = await Deno.makeTempDir();
  const flags = [
    ...tinyRunFlags(model, out),
    "--backend=wasm",
    "--method.compare=sft,lisa",
    "--sweep.p=0,0.2",
    "--finetune.optim.maxSteps=4",
  ];
  const cfg = await Effect.runPromise(resolveConfig(commandLine(flags)));
  const jobs = sweepJobs(cfg, "d");
  assert.deepEqual(jobs.map((j) => j.id)[0], "seed-42/alignment-sft/align");
  assert.equal(jobs.length, 5, "one alignment and four cells");
  assert.ok(jobs.slice(1).every((j) => j.after[0] === "seed-42/alignment-sft/align"));
  // An alignment axis: one aligned model per method, each cell after its own.
  const axis = await Effect.runPromise(
    resolveConfig(commandLine([...flags, "--sweep.alignment=sft,vaccine"])),
  );
  const axisJobs = sweepJobs(axis, "d");
  assert.deepEqual(axisJobs.filter((j) => j.after.length === 0).map((j) => j.id), [
    "seed-42/alignment-sft/align",
    "seed-42/alignment-vaccine/align",
  ]);
  for (const j of axisJobs.filter((j) => j.job.kind === "sweep-cell")) {
    const cell = j.job.kind === "sweep-cell" ? j.job.cell : null;
    assert.deepEqual(j.after, [`seed-42/alignment-${cell!.alignment}/align`], j.id);
  }
  assert.equal(axisJobs.length, 2 + 8, "two alignments, four cells each");
  const sweep = (name: string, workers: number) =>
    Effect.runPromise(Effect.provide(
      Effect.gen(function* () {
        const dir = yield* openRunDir({ ...cfg, output: { ...cfg.output, name } }, "s", null);
        return yield* workers > 1 ? runSweepInWorkers(cfg, dir, workers) : runSweep(cfg, dir);
      }),
      layers,
    ));
  const serial = await sweep("serial", 1);
  const parallel = await sweep("parallel", 2);
  assert.equal(parallel, serial, "the same tables");
  const compared = await assertSameResults(`${out}/serial`, `${out}/parallel`);
  assert.ok(compared >= 12, `compared ${compared} files`);
  await Deno.remove(out, { recursive: true });
  await Deno.remove(model, { recursive: true });
});

Deno.test("workers: run's phases on 2 worker processes equal the serial run", async () => {
  const model = await tinyModelDir(7);
  const out = await Deno.makeTempDir();
  const flags = [...tinyRunFlags(model, out), "--backend=wasm", "--method.compare=sft,lisa"];
  const cfg = await Effect.runPromise(resolveConfig(commandLine(flags)));
  assert.deepEqual(runJobs(cfg, "d").map((j) => [j.id, j.after]), [
    ["base", []],
    ["align", []],
    ["aligned-eval", ["align"]],
    ["finetune-sft", ["align"]],
    ["finetune-lisa", ["align"]],
  ]);
  const run = (name: string, workers: number) =>
    Effect.runPromise(Effect.provide(
      Effect.gen(function* () {
        const dir = yield* openRunDir({ ...cfg, output: { ...cfg.output, name } }, "r", null);
        return yield* workers > 1
          ? runPipelineInWorkers(cfg, dir, workers)
          : runPipeline(cfg, dir, "run");
      }),
      layers,
    ));
  const serial = await run("serial", 1);
  const parallel = await run("parallel", 2);
  // Through JSON, as metrics.json holds them (a mean over no steps is NaN in memory, null there).
  const json = (x: unknown) => timeless(JSON.parse(JSON.stringify(x)));
  assert.deepEqual(json(parallel.rows), json(serial.rows));
  const compared = await assertSameResults(`${out}/serial`, `${out}/parallel`);
  assert.ok(compared >= 12, `compared ${compared} files`);
  await Deno.remove(out, { recursive: true });
  await Deno.remove(model, { recursive: true });
});
