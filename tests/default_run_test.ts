/**
 * A reduced version of the embedded default run (`deno task train` with tiny step counts),
 * through the real CLI: every stage runs and every metric is in range.
 */
import assert from "node:assert/strict";
import { requires } from "./_helpers.ts";

const root = new URL("../", import.meta.url).pathname;

const assets = `${root}assets/embedded/base/model.safetensors`;
const missingAssets = (() => {
  try {
    Deno.statSync(assets);
    return null;
  } catch {
    return "assets/embedded is absent (deno task build-assets makes it)";
  }
})();

Deno.test({
  ...requires(
    "the embedded default run, reduced: every stage runs, metrics in range",
    missingAssets,
  ),
  fn: async () => {
    const out = await Deno.makeTempDir();
    const cmd = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--unstable-webgpu",
        "src/cli/main.ts",
        "--alignment.optim.maxSteps=4",
        "--finetune.optim.maxSteps=6",
        "--method.alignmentSteps=1",
        "--method.finetuneSteps=2",
        "--eval.harmfulN=6",
        "--eval.taskN=6",
        "--eval.maxNewTokens=6",
        `--output.dir=${out}`,
        "--output.name=default",
      ],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    });
    const r = await cmd.output();
    const stdout = new TextDecoder().decode(r.stdout);
    const stderr = new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 0, stderr);
    // The comparison table names every model of the default run.
    for (const label of ["base", "aligned", "sft", "bso", "lisa"]) {
      assert.match(stdout, new RegExp(`^${label}\\s`, "m"), `table lacks ${label}`);
    }
    // Progress was shown for each long phase.
    for (const phase of ["align", "finetune sft", "finetune lisa", "eval harmful"]) {
      assert.ok(stdout.includes(phase), `no progress for ${phase}`);
    }
    const metrics = JSON.parse(await Deno.readTextFile(`${out}/default/metrics.json`));
    assert.deepEqual(
      metrics.rows.map((x: { label: string }) => x.label),
      ["base", "aligned", "sft", "bso", "lisa"],
    );
    for (const row of metrics.rows) {
      for (const k of ["harmfulScore", "harmfulScorePlus", "refusalRate", "finetuneAccuracy"]) {
        assert.ok(row[k] >= 0 && row[k] <= 100, `${row.label}.${k} = ${row[k]}`);
      }
    }
    const lisa = metrics.rows.find((x: { label: string }) => x.label === "lisa");
    assert.equal(lisa.steps, 6);
    const report = await Deno.readTextFile(`${out}/default/report.html`);
    assert.ok(report.includes("<svg"), "the report has charts");
    // The judge card: the embedded judge, its checksum, and where it was measured.
    assert.match(report, /<ul id="judge-card">/);
    const md = await Deno.readTextFile(`${out}/default/report.md`);
    assert.match(md, /- Judge: classifier \(embedded\), version sha256:[0-9a-f]{12}/);
    assert.match(md, /- Measured: accuracy .* held-out split of its training rows/);
    const json = JSON.parse(await Deno.readTextFile(`${out}/default/report.json`));
    assert.equal(json.judgeCard.kind, "classifier");
    await Deno.remove(out, { recursive: true });
  },
});
