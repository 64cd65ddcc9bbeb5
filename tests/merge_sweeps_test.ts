import assert from "node:assert/strict";
import { commandLine } from "./_helpers.ts";
import { Effect } from "effect";
import { tf } from "../backends/mod.ts";
import { resolveConfig } from "../src/config/mod.ts";
import { cellName, collectSweeps, parseCellName, type SweepCell } from "../src/pipeline/mod.ts";
import { mergeSweeps, parseMergeArgs } from "../src/cli/merge_sweeps.ts";
import { sweepTiny, tinyModelDir, tinyRunFlags } from "./_tiny_lm.ts";

Deno.test("parseCellName reads back every cell name cellName writes, and nothing else", () => {
  const cells: SweepCell[] = [
    { alignment: "sft", method: "lisa", p: 0.1, n: 1000, rho: 0.02, k: [10, 90], seed: 1 },
    { alignment: "sft", method: "na-sft", p: 0, n: 40, rho: 0, k: [0, 0], seed: 2 },
    { alignment: "vaccine", method: "ldifs", p: 0.05, n: 7, rho: 1e-7, k: [0, 0], seed: 3 },
  ];
  for (const c of cells) {
    const back = parseCellName(cellName(c));
    assert.deepEqual(back, { method: c.method, p: c.p, n: c.n, rho: c.rho, k: c.k }, cellName(c));
  }
  for (const other of ["aligned", "align", "train", "sft-p0.1", "nope-p0.1-n1-rho0-k0_0"]) {
    assert.equal(parseCellName(other), null, other);
  }
});

Deno.test("merge-sweeps: the command line needs --out and --sweeps", async () => {
  const parsed = await Effect.runPromise(parseMergeArgs(["--out", "o", "--sweeps", "a, b"]));
  assert.deepEqual(parsed, { out: "o", sweeps: ["a", "b"] });
  const err = await Effect.runPromise(Effect.flip(parseMergeArgs(["--out", "o"])));
  assert.match(err.message, /--sweeps/);
});

Deno.test("merge-sweeps: two sweep folders read back as one table, seeds and repairs together", async () => {
  const model = await tinyModelDir(6);
  const out = await Deno.makeTempDir();
  const flags = [...tinyRunFlags(model, out), "--finetune.optim.maxSteps=4"];
  const config = (extra: string[]) =>
    Effect.runPromise(resolveConfig(commandLine([...flags, ...extra])));
  // Seed 1 with two alignment methods; seed 2 with SFT alignment and a repair: no one grid.
  await sweepTiny(
    await config([
      "--output.name=a",
      "--sweep.seeds=1",
      "--sweep.alignment=sft,vaccine",
      "--method.compare=sft",
    ]),
  );
  await sweepTiny(
    await config([
      "--output.name=b",
      "--sweep.seeds=2",
      "--sweep.alignment=sft",
      "--method.compare=sft",
      "--sweep.repair=none,safelora",
    ]),
  );
  const a = `${out}/a`;
  const b = `${out}/b`;
  const before = tf.memory().numTensors;
  const merged = await Effect.runPromise(collectSweeps([b, a]));
  assert.equal(tf.memory().numTensors, before);
  // Ordered by alignment, fine-tuning method, repair, then seed, whatever the folder order.
  assert.deepEqual(
    merged.runs.map((r) => `${r.method}/${r.seed}`),
    ["sft/1", "sft/2", "sft+safelora/2", "vaccine+sft/1"],
  );
  const cell = "sft-p0.1-n40-rho0-k0_0";
  const files = [
    [`${a}/seed-1/alignment-sft`, cell, 1],
    [`${b}/seed-2/alignment-sft`, cell, 2],
    [`${b}/seed-2/alignment-sft`, `${cell}/repair-safelora`, 2],
    [`${a}/seed-1/alignment-vaccine`, cell, 1],
  ] as const;
  for (const [i, [base, dir, seed]] of files.entries()) {
    const row = JSON.parse(await Deno.readTextFile(`${base}/${dir}/metrics.json`));
    const align = JSON.parse(await Deno.readTextFile(`${base}/align/done.json`));
    const run = merged.runs[i]!;
    assert.equal(run.seed, seed);
    assert.equal(run.HS, row.harmfulScore, `${run.method} HS`);
    assert.equal(run.FA, row.finetuneAccuracy, `${run.method} FA`);
    assert.equal(run.alignSeconds, align.seconds, `${run.method} alignment seconds`);
    assert.equal(run.trainSeconds, row.trainSeconds + (row.repairSeconds ?? 0));
    assert.ok(run.steps!.length > 0, "training log read");
  }
  // The report and summary: SFT over both seeds, with the pooled interval.
  const report = `${out}/merged`;
  await Effect.runPromise(mergeSweeps(report, [a, b]));
  const summary = JSON.parse(await Deno.readTextFile(`${report}/summary.json`));
  const sft = summary.rows.find((r: { method: string }) => r.method === "sft");
  assert.deepEqual(sft.seeds, [1, 2]);
  const hs = merged.runs.slice(0, 2).map((r) => r.HS);
  assert.ok(Math.abs(sft.HS[0] - (hs[0]! + hs[1]!) / 2) < 1e-9);
  assert.ok(sft.HS_pooled_ci95[0] <= sft.HS[0] && sft.HS[0] <= sft.HS_pooled_ci95[1]);
  assert.deepEqual(Object.keys(sft.perSeed), ["1", "2"]);
  assert.equal(summary.rows.length, 3);
  const md = await Deno.readTextFile(`${report}/report.md`);
  assert.match(md, /## Over seeds/);
  assert.match(md, /vaccine\+sft/);
  // Merging again into the same folder replaces its own files; a foreign file is refused.
  await Effect.runPromise(mergeSweeps(report, [a, b]));
  await Deno.writeTextFile(`${report}/notes.txt`, "mine");
  let err = await Effect.runPromise(Effect.flip(mergeSweeps(report, [a, b])));
  assert.match(err.message, /notes\.txt/);
  assert.equal(await Deno.readTextFile(`${report}/notes.txt`), "mine");
  // One cell in two folders: refused, naming the cell.
  err = await Effect.runPromise(Effect.flip(mergeSweeps(`${out}/twice`, [a, a])));
  assert.match(err.message, /sft \(seed 1.*also in/);
  // A folder whose settings differ (another learning rate): refused, naming the field.
  const c = `${out}/c`;
  await Deno.mkdir(`${c}/seed-3`, { recursive: true });
  const cfgA = JSON.parse(await Deno.readTextFile(`${a}/config.json`));
  cfgA.finetune.optim.lr = cfgA.finetune.optim.lr * 2;
  await Deno.writeTextFile(`${c}/config.json`, JSON.stringify(cfgA));
  const marker = JSON.parse(await Deno.readTextFile(`${a}/.lisa-run.json`));
  await Deno.writeTextFile(`${c}/.lisa-run.json`, JSON.stringify({ ...marker, config: cfgA }));
  err = await Effect.runPromise(Effect.flip(mergeSweeps(`${out}/mixed`, [a, c])));
  assert.match(err.message, /finetune\.optim\.lr/);
  // A config.json edited after its sweep started.
  await Deno.writeTextFile(`${c}/.lisa-run.json`, JSON.stringify(marker));
  err = await Effect.runPromise(Effect.flip(mergeSweeps(`${out}/mixed`, [a, c])));
  assert.match(err.message, /edited after the sweep started/);
  // Not a sweep folder.
  err = await Effect.runPromise(Effect.flip(mergeSweeps(`${out}/none`, [model])));
  assert.match(err.message, /not a run folder/);
  await Deno.remove(out, { recursive: true });
  await Deno.remove(model, { recursive: true });
});
