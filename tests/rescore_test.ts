/**
 * `deno task rescore`: the saved answers of a finished sweep and run judged again, HS and its
 * interval recomputed from them, a new report written beside (never over) the originals, and
 * folders that are not runs refused with one line and exit 2.
 */
import assert from "node:assert/strict";
import { Effect } from "effect";
import { isBackendChoice, isBackendName, tf } from "../backends/mod.ts";
import { resolveConfig } from "../src/config/mod.ts";
import { wilsonInterval } from "../src/eval/mod.ts";
import { rescore } from "../src/pipeline/rescore.ts";
import { parseRescoreArgs } from "../src/cli/rescore.ts";
import { commandLine } from "./_helpers.ts";
import { ROOT } from "./_cli.ts";
import { runTiny, sweepTiny, tinyModelDir, tinyRunFlags } from "./_tiny_lm.ts";

const COMPLY =
  "Sure, here is how to do that. First gather the supplies, then act quickly at night.";
const REFUSE = "I'm sorry, but I cannot help with that.";

/** Turn the first harmful answer of `file` into its opposite; returns the verdict it had. */
async function flipFirstAnswer(file: string): Promise<boolean> {
  const lines = (await Deno.readTextFile(file)).split("\n").filter((l) => l.trim());
  const i = lines.findIndex((l) => JSON.parse(l).kind === "harmful");
  const rec = JSON.parse(lines[i]!);
  lines[i] = JSON.stringify({ ...rec, answer: rec.flagged ? REFUSE : COMPLY });
  await Deno.writeTextFile(file, lines.join("\n") + "\n");
  return rec.flagged;
}

/** Every file under `dir` with its bytes, to check nothing was written there. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else out.set(p, await Deno.readTextFile(p).catch(() => "(binary)"));
    }
  };
  await walk(dir);
  return out;
}

Deno.test("rescore: the command line needs --out and --runs; --split is test or validation", async () => {
  const ok = await Effect.runPromise(parseRescoreArgs(["--out", "o", "--runs", "a, b"]));
  assert.deepEqual(ok, { out: "o", runs: ["a", "b"], backend: "auto" });
  const err = (args: string[]) =>
    Effect.runPromise(Effect.flip(parseRescoreArgs(args))).then((e) => e.message);
  assert.match(await err(["--out", "o"]), /--runs/);
  assert.match(await err(["--out", "o", "--runs", "a", "--split", "train"]), /expected test or/);
  assert.match(await err(["--out", "o", "--runs", "a", "--backend", "gpu"]), /found 'gpu'/);
  const wasm = await Effect.runPromise(
    parseRescoreArgs(["--out", "o", "--runs", "a", "--backend=wasm"]),
  );
  assert.equal(wasm?.backend, "wasm");
});

Deno.test("backend names: a name or auto is a choice, anything else is not", () => {
  assert.ok(isBackendChoice("auto") && isBackendChoice("wasm") && isBackendName("native"));
  assert.ok(!isBackendName("auto") && !isBackendChoice("gpu") && !isBackendChoice(""));
});

Deno.test("rescore: a sweep and a run re-judged from their saved answers, originals untouched", async () => {
  const model = await tinyModelDir(8);
  const out = await Deno.makeTempDir();
  const flags = [...tinyRunFlags(model, out), "--finetune.optim.maxSteps=4"];
  const cfg = await Effect.runPromise(
    resolveConfig(
      commandLine([...flags, "--output.name=s", "--sweep.seeds=1,2", "--method.compare=sft"]),
    ),
  );
  await sweepTiny(cfg);
  const sweep = `${out}/s`;
  const run = (await runTiny([...flags, "--output.name=r"])).runDir;
  // One answer of seed 1's SFT cell made the opposite of what it was judged.
  const cellDir = `${sweep}/seed-1/sft-p0.1-n40-rho0-k0_0`;
  const row = JSON.parse(await Deno.readTextFile(`${cellDir}/metrics.json`));
  const wasFlagged = await flipFirstAnswer(`${cellDir}/answers.jsonl`);
  const sweepBefore = await snapshot(sweep);
  const before = tf.memory().numTensors;

  const r = await Effect.runPromise(rescore(`${out}/new`, [sweep]));
  assert.equal(tf.memory().numTensors, before, "judging leaves no tensors");
  assert.deepEqual(await snapshot(sweep), sweepBefore, "the sweep folder is only read");
  assert.equal(r.flips.length, 1);
  assert.equal(r.flips[0]!.before, wasFlagged);
  assert.equal(r.flips[0]!.after, !wasFlagged);
  const changed = r.rows.find((x) => x.seed === 1 && x.model === "sft")!;
  const n = row.harmfulN;
  const count = Math.round((row.harmfulScore * n) / 100) + (wasFlagged ? -1 : 1);
  assert.equal(changed.HS.before, row.harmfulScore);
  assert.ok(Math.abs(changed.HS.after - (100 * count) / n) < 1e-9, "HS recomputed");
  const report = JSON.parse(await Deno.readTextFile(`${out}/new/report.json`));
  const sft1 = report.runs.find((x: { method: string; seed: number }) =>
    x.method === "sft" && x.seed === 1
  );
  assert.ok(Math.abs(sft1.HS - (100 * count) / n) < 1e-9);
  assert.deepEqual(sft1.intervals.HS, wilsonInterval(count, n), "interval recomputed");
  // Every other row keeps its recorded HS (the same judge, the same answers).
  for (const x of r.rows.filter((x) => x !== changed)) assert.equal(x.HS.after, x.HS.before);
  const md = await Deno.readTextFile(`${out}/new/report.md`);
  assert.match(md, /Re-scored: HS, HS\+, the refusal rate .* by the judge keyword \(version /s);
  const flips = (await Deno.readTextFile(`${out}/new/flips.jsonl`)).trim().split("\n");
  assert.equal(flips.length, 1);
  assert.ok(JSON.parse(flips[0]!).answer === (wasFlagged ? REFUSE : COMPLY));
  const summary = JSON.parse(await Deno.readTextFile(`${out}/new/summary.json`));
  assert.deepEqual(summary.rows.find((x: { method: string }) => x.method === "sft").seeds, [1, 2]);

  // A run folder: every row (base, aligned, fine-tuned) re-judged, nothing changed.
  const runBefore = await snapshot(run);
  const rr = await Effect.runPromise(rescore(`${out}/run-new`, [run]));
  assert.deepEqual(await snapshot(run), runBefore);
  const recorded = JSON.parse(await Deno.readTextFile(`${run}/metrics.json`)).rows;
  assert.deepEqual(rr.rows.map((x) => x.model), recorded.map((x: { label: string }) => x.label));
  for (const x of rr.rows) assert.equal(x.HS.after, x.HS.before, x.model);

  // Refused, before anything is written: an output folder with files, one inside a source,
  // a folder that is not a run, a run mixed with sweeps, a missing answer file.
  const fails = (o: string, dirs: string[]) =>
    Effect.runPromise(Effect.flip(rescore(o, dirs))).then((e) => e.message);
  assert.match(await fails(`${out}/new`, [sweep]), /already holds files .*never overwrites/);
  assert.match(await fails(`${sweep}/inside`, [sweep]), /inside the source folder/);
  assert.match(await fails(`${out}/x`, [model]), /not a run or sweep folder/);
  assert.match(await fails(`${out}/x`, [run, sweep]), /one run folder, or one or more sweep/);
  await Deno.remove(`${cellDir}/answers.jsonl`);
  assert.match(await fails(`${out}/x`, [sweep]), /answers\.jsonl: missing/);
  for (const x of ["x", "inside"]) {
    assert.ok(!(await Deno.stat(`${out}/${x}`).then(() => true, () => false)), `${x} not made`);
  }
  await Deno.remove(out, { recursive: true });
  await Deno.remove(model, { recursive: true });
});

Deno.test("rescore: a folder that is not a run exits 2 with one line", async () => {
  const dir = await Deno.makeTempDir();
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}src/cli/rescore.ts`, "--out", `${dir}/o`, "--runs", dir],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(r.stderr).trim();
  assert.equal(r.code, 2, err);
  assert.equal(err.split("\n").length, 1, err);
  assert.match(err, /not a run or sweep folder \(it has no \.lisa-run\.json\)/);
  assert.doesNotMatch(err, /at .*\.ts:\d+|Cause\(/);
  await Deno.remove(dir, { recursive: true });
});
