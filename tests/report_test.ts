import assert from "node:assert/strict";
import { Effect } from "effect";
import { aggregateRuns, formatCell } from "../src/report/aggregate.ts";
import { dynamicsRows, dynamicsTable } from "../src/report/dynamics.ts";
import { writeFileAtomic } from "../src/io/atomic.ts";
import { chartSpecs, renderSvg } from "../src/report/charts.ts";
import { escapeHtml } from "../src/report/html.ts";
import { renderMarkdown, summaryTable, sweepTable } from "../src/report/markdown.ts";
import { writeReport } from "../src/report/write.ts";
import { fixtureInput, fixtureRuns } from "./_report_fixture.ts";

Deno.test("aggregate: mean ± std over seeds per setting", () => {
  const rows = aggregateRuns(fixtureRuns());
  assert.equal(rows.length, 9);
  const lisa = rows.find((r) => r.method === "Lisa" && r.p === 0.1)!;
  assert.deepEqual(lisa.seeds, [0, 1]);
  assert.equal(lisa.HS.mean, 25.5); // 15 + 10 + {0, 1}
  assert.equal(lisa.HS.std.toFixed(4), Math.SQRT1_2.toFixed(4));
});

Deno.test("tables: one seed shows its 95% interval, several seeds mean ± std", () => {
  const one = fixtureRuns().filter((r) => r.seed === 0).map((r) => ({
    ...r,
    intervals: { HS: { lo: r.HS - 3, hi: r.HS + 4 }, FA: { lo: r.FA - 2, hi: r.FA + 1 } },
  }));
  const rows = aggregateRuns(one);
  const lisa = rows.find((r) => r.method === "Lisa" && r.p === 0.1)!;
  assert.equal(formatCell(lisa, "HS"), "25.0 [22.0, 29.0]");
  const summary = summaryTable(rows);
  assert.match(summary, /\| Lisa \| 0\.1 \| 1 \| 10 \| 90 \| 25\.0 \[22\.0, 29\.0\] \|/);
  // Over two seeds the intervals of single runs are not shown.
  const both = aggregateRuns([...one, ...fixtureRuns().filter((r) => r.seed === 1)]);
  assert.equal(both.find((r) => r.method === "Lisa" && r.p === 0.1)!.intervals, undefined);
  assert.equal(
    formatCell(both.find((r) => r.method === "Lisa" && r.p === 0.1)!, "HS"),
    "25.50 ± 0.71",
  );
});

Deno.test("markdown: summary and the paper-shaped sweep tables", () => {
  const rows = aggregateRuns(fixtureRuns());
  const hs = sweepTable(rows, "p", "HS");
  assert.equal(hs.split("\n")[0], "| method | p = 0.05 | p = 0.1 | p = 0.2 |");
  assert.match(hs, /\| Lisa \| 20\.50 ± 0\.71 \| 25\.50 ± 0\.71 \| 35\.50 ± 0\.71 \|/);
  const fa = sweepTable(rows, "p", "FA");
  assert.match(fa, /\| SFT \| 93\.25 ± 0\.35 \|/);
  const summary = summaryTable(rows);
  assert.match(summary.split("\n")[0]!, /method \| p \| rho \| K1 \| K2 \| HS \(lower better\)/);
  const md = renderMarkdown(fixtureInput());
  assert.match(md, /^# SST2 <sweep> over p & seeds/);
  assert.match(md, /Fixed settings: task = sst2, n = 500\./);
  assert.match(md, /## Harmful score against p/);
  assert.match(md, /> Toy numbers/);
});

Deno.test("charts: every chart renders to an SVG with marks", async () => {
  const specs = chartSpecs(fixtureInput());
  assert.deepEqual(specs.map((s) => s.id), [
    "chart-hs",
    "chart-fa",
    "chart-loss",
    "chart-drift",
    "chart-tradeoff",
    "chart-sweep-hs",
    "chart-sweep-fa",
  ]);
  const svg = await renderSvg(specs[2]!.spec);
  // The trade-off: one point per setting (9), labelled by what distinguishes it.
  const tradeoff = specs.find((s) => s.id === "chart-tradeoff")!.spec as {
    data: { values: { method: string; setting: string; hs: number; fa: number }[] };
  };
  assert.equal(tradeoff.data.values.length, 9);
  const lisaPoint = tradeoff.data.values.find((v) =>
    v.method === "Lisa" && v.setting.includes("p=0.1")
  )!;
  assert.equal(lisaPoint.setting, "rho=1 10:90 p=0.1");
  assert.equal(lisaPoint.hs, 25.5);
  const tradeoffSvg = await renderSvg(specs.find((s) => s.id === "chart-tradeoff")!.spec);
  assert.match(tradeoffSvg, /rho=1 10:90 p=0\.1/);
  assert.match(svg, /^<svg[^>]+xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svg, /<path/); // the loss lines
  assert.match(svg, /alignment/);
  assert.match(svg, /finetune/);
  // Without logs or a sweep there is nothing to plot but the bars.
  const plain = chartSpecs({
    title: "t",
    runs: fixtureRuns().map(({ steps: _s, drift: _d, ...r }) => r),
  });
  assert.deepEqual(plain.map((s) => s.id), ["chart-hs", "chart-fa", "chart-tradeoff"]);
});

Deno.test("writeReport: json, md and self-contained html, written atomically", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const paths = await Effect.runPromise(writeReport(`${dir}/out`, fixtureInput()));
    const json = JSON.parse(await Deno.readTextFile(paths.json));
    assert.equal(json.schema, "lisa-report/1");
    assert.equal(json.runs.length, 18);
    assert.equal(json.aggregates.length, 9);
    const lisa = json.runs.find((r: { method: string; p: number }) =>
      r.method === "Lisa" && r.p === 0.1
    );
    assert.equal(lisa.steps.length, 200); // step logs survive in the machine-readable report
    assert.equal(lisa.drift.length, 4);
    const html = await Deno.readTextFile(paths.html);
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /<title>SST2 &lt;sweep&gt; over p &amp; seeds<\/title>/);
    assert.equal((html.match(/<figure id="chart-/g) ?? []).length, 7);
    assert.equal((html.match(/<svg /g) ?? []).length, 7);
    assert.ok(!/<script|src="http|href="http/.test(html), "the page must not load anything");
    assert.match(await Deno.readTextFile(paths.md), /\| method \|/);
    const names = [...Deno.readDirSync(`${dir}/out`)].map((e) => e.name).sort();
    assert.deepEqual(names, ["report.html", "report.json", "report.md"]); // no temp files left
    // NaN (a run whose evaluation failed) becomes null in JSON and n/a in tables.
    const nan = await Effect.runPromise(writeReport(`${dir}/nan`, {
      title: "nan",
      runs: [{
        method: "SFT",
        task: "sst2",
        p: 0.1,
        n: 10,
        rho: 0,
        K1: 0,
        K2: 0,
        seed: 0,
        HS: Number.NaN,
        FA: 50,
      }],
    }));
    assert.equal(JSON.parse(await Deno.readTextFile(nan.json)).runs[0].HS, null);
    assert.match(await Deno.readTextFile(nan.md), /\| SFT \| n\/a \| 50\.00 \| 1 \|/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("atomic writes: a failed write leaves the old file and no temp file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeFileAtomic(`${dir}/a.txt`, new TextEncoder().encode("old"));
    await assert.rejects(() => writeFileAtomic(`${dir}/missing/a.txt`, new Uint8Array(1)));
    await Deno.mkdir(`${dir}/a.dir`);
    await assert.rejects(() => writeFileAtomic(`${dir}/a.dir`, new Uint8Array(1)));
    assert.equal(await Deno.readTextFile(`${dir}/a.txt`), "old");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["a.dir", "a.txt"]);
    assert.equal(
      escapeHtml(`<a href="x">'&'</a>`),
      "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dynamics: drift per state, Lisa's drift relative to BSO's, proximal/data ratio", () => {
  const runs = fixtureRuns().filter((r) => r.p === 0.1).map((r) =>
    r.method === "SFT" ? r : {
      ...r,
      gateStep: 100,
      // Lisa's term is on in the second fine-tune state: ratio 0.5, then 1 at its end (199).
      ...(r.method === "Lisa"
        ? {
          steps: (r.steps ?? []).map((s) => ({
            ...s,
            dataGradNorm: 2,
            proximalGradNorm: s.step >= 110 && s.state === "finetune"
              ? (s.step === 199 ? 2 : 1)
              : 0,
          })),
        }
        : {}),
    }
  );
  const rows = dynamicsRows(runs);
  assert.deepEqual(rows.map((r) => r.method), ["BSO", "Lisa"]); // SFT has no drift log
  const lisa = rows.find((r) => r.method === "Lisa")!;
  const bso = rows.find((r) => r.method === "BSO")!;
  // Fixture drift records close states at steps 50, 100, 150, 200 (drift Lisa 0.5 / i, BSO 2 / i,
  // + 0.01 * seed); with the gate at 100 the fine-tune state closed at 100 is before it and
  // the one closed at 200 (begun at 150) after it.
  const near = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} vs ${b}`);
  near(lisa.driftBeforeGate.mean, 0.25 + 0.005);
  near(bso.driftBeforeGate.mean, 1 + 0.005);
  near(lisa.drift.finetune.mean, 0.125 + 0.005);
  near(bso.drift.finetune.mean, 0.5 + 0.005);
  near(lisa.drift.alignment.mean, 0.5 / 3 + 0.005);
  assert.equal(lisa.ratioAtStateEnd.mean, 1);
  assert.equal(lisa.ratioAtStateEnd.n, 2); // one gated state end per seed
  assert.ok(lisa.ratioMean.mean > 0.5 && lisa.ratioMean.mean < 0.6);
  assert.equal(bso.ratioMean.n, 0);
  const table = dynamicsTable(rows);
  const rel = ((0.125 + 0.005) / (0.5 + 0.005)).toFixed(3);
  assert.match(table, new RegExp(`\\| Lisa \\| 1 \\| 10:90 \\| .* \\| ${rel} \\|`));

  assert.ok(!table.includes("| p |"), "one p: no p column");
  const twoP = dynamicsTable([...rows, { ...rows[0]!, p: rows[0]!.p * 2 }]);
  assert.match(twoP.split("\n")[0]!, /^\| method \| p \| rho \| K1:K2 \|/);
  assert.match(
    twoP,
    new RegExp(`\\| Lisa \\| ${rows[0]!.p} \\| 1 \\| 10:90 \\| .* \\| ${rel} \\|`),
  );
  assert.match(twoP.split("\n")[1]!, /^\| --- \| --- \| --- \| --- \| ---: \|/);
});
