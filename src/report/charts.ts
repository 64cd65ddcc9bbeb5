/**
 * The report's charts as vega-lite specs, rendered to SVG strings by vega without a browser:
 * HS and FA per method (bars with ±std rules), loss per state over steps (lines), drift per
 * switch (lines with points), and for sweeps HS and FA against the swept variable.
 *
 * @module
 */
import * as vega from "vega";
import * as vl from "vega-lite";
import { type AggregateRow, aggregateRuns, sweepValue } from "./aggregate.ts";
import type { ReportInput, RunResult } from "./types.ts";

/** One rendered chart. */
export interface Chart {
  /** Stable id, used as the HTML element id (e.g. `chart-hs`). */
  readonly id: string;
  /** Caption. */
  readonly title: string;
  /** The chart as a standalone SVG document string. */
  readonly svg: string;
}

/** A vega-lite spec as plain JSON. */
export type ChartSpec = Record<string, unknown>;

const WIDTH = 520;

function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

function metricBars(rows: readonly AggregateRow[], metric: "HS" | "FA", title: string): ChartSpec {
  const values = rows.map((r) => ({
    setting: `${r.method} (p=${r.p}, rho=${r.rho}, ${r.K1}:${r.K2})`,
    method: r.method,
    mean: finite(r[metric].mean),
    lo: finite(r[metric].mean - (r[metric].std || 0)),
    hi: finite(r[metric].mean + (r[metric].std || 0)),
  }));
  const x = { field: "setting", type: "nominal", title: null, sort: null };
  return {
    title,
    width: WIDTH,
    height: 220,
    data: { values },
    layer: [
      {
        mark: "bar",
        encoding: {
          x,
          y: { field: "mean", type: "quantitative", title: `${metric} (%)` },
          color: { field: "method", type: "nominal" },
        },
      },
      {
        mark: { type: "rule", color: "black" },
        encoding: { x, y: { field: "lo", type: "quantitative" }, y2: { field: "hi" } },
      },
    ],
  };
}

function runLabel(r: RunResult): string {
  return `${r.method} p=${r.p} rho=${r.rho} ${r.K1}:${r.K2} seed=${r.seed}`;
}

function lossLines(runs: readonly RunResult[]): ChartSpec | null {
  // Each contiguous stretch of one state is its own line, so a state's line does not jump
  // across the other state's steps.
  const values = runs.flatMap((r) => {
    let segment = 0;
    return (r.steps ?? []).map((s, i, all) => {
      if (i > 0 && all[i - 1]!.state !== s.state) segment++;
      return {
        run: `${runLabel(r)} #${segment}`,
        step: s.step,
        state: s.state,
        loss: finite(s.loss),
      };
    });
  });
  if (values.length === 0) return null;
  return {
    title: "Training loss per state over steps",
    width: WIDTH,
    height: 220,
    data: { values },
    mark: { type: "line", point: values.length <= 200 },
    encoding: {
      x: { field: "step", type: "quantitative" },
      y: { field: "loss", type: "quantitative" },
      color: { field: "state", type: "nominal" },
      detail: { field: "run", type: "nominal" },
    },
  };
}

function driftLines(runs: readonly RunResult[]): ChartSpec | null {
  const values = runs.flatMap((r) =>
    (r.drift ?? []).map((d) => ({
      run: runLabel(r),
      method: r.method,
      switchIndex: d.switchIndex,
      from: d.from,
      drift: finite(d.drift),
    }))
  );
  if (values.length === 0) return null;
  return {
    title: "Drift per switch (squared distance moved in the state just finished)",
    width: WIDTH,
    height: 220,
    data: { values },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "switchIndex", type: "quantitative", title: "switch" },
      y: { field: "drift", type: "quantitative", title: "||w_ft_end - w_align_end||^2" },
      color: { field: "method", type: "nominal" },
      detail: { field: "run", type: "nominal" },
    },
  };
}

function sweepLines(input: ReportInput, rows: readonly AggregateRow[], metric: "HS" | "FA") {
  const v = input.sweep!;
  const numeric = v !== "K1:K2";
  const values = rows.map((r) => ({
    method: r.method,
    x: numeric ? Number(sweepValue(r, v)) : sweepValue(r, v),
    mean: finite(r[metric].mean),
  }));
  return {
    title: `${metric} against ${v} (mean over seeds)`,
    width: WIDTH,
    height: 220,
    data: { values },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "x", type: numeric ? "quantitative" : "ordinal", title: v },
      y: { field: "mean", type: "quantitative", title: `${metric} (%)` },
      color: { field: "method", type: "nominal" },
    },
  };
}

/** A short label of a setting for the trade-off chart: what distinguishes it. */
function settingLabel(r: AggregateRow): string {
  const m = r.method.toLowerCase();
  const bistate = m === "lisa" || m === "bso";
  const parts = [
    ...(m === "lisa" ? [`rho=${r.rho}`] : []),
    ...(bistate ? [`${r.K1}:${r.K2}`] : []),
    `p=${r.p}`,
  ];
  return parts.join(" ");
}

/**
 * The trade-off: one point per setting at (HS, FA), means over seeds with ±std bars on both
 * axes, coloured and shaped by method. Good defenses sit top left (low HS, high FA).
 */
export function tradeoffSpec(rows: readonly AggregateRow[]): ChartSpec {
  const values = rows.filter((r) => Number.isFinite(r.HS.mean) && Number.isFinite(r.FA.mean))
    .map((r) => ({
      method: r.method,
      setting: settingLabel(r),
      hs: r.HS.mean,
      fa: r.FA.mean,
      hsLo: r.HS.mean - (r.HS.std || 0),
      hsHi: r.HS.mean + (r.HS.std || 0),
      faLo: r.FA.mean - (r.FA.std || 0),
      faHi: r.FA.mean + (r.FA.std || 0),
    }));
  const x = { field: "hs", type: "quantitative", title: "HS (%, lower is better)" };
  const y = { field: "fa", type: "quantitative", title: "FA (%, higher is better)" };
  const color = { field: "method", type: "nominal" };
  return {
    title: "Harmful score against fine-tune accuracy (mean ± std over seeds)",
    width: WIDTH,
    height: 320,
    data: { values },
    layer: [
      {
        mark: { type: "rule", opacity: 0.5 },
        encoding: { x: { ...x, field: "hsLo" }, x2: { field: "hsHi" }, y, color },
      },
      {
        mark: { type: "rule", opacity: 0.5 },
        encoding: { x, y: { ...y, field: "faLo" }, y2: { field: "faHi" }, color },
      },
      {
        mark: { type: "point", filled: true, size: 70 },
        encoding: { x, y, color, shape: { field: "method", type: "nominal" } },
      },
      {
        mark: { type: "text", dx: 6, dy: -6, align: "left", fontSize: 9 },
        encoding: { x, y, text: { field: "setting" }, color },
      },
    ],
  };
}

/** The vega-lite specs of every chart the input has data for, with their ids and captions. */
export function chartSpecs(input: ReportInput): { id: string; title: string; spec: ChartSpec }[] {
  const rows = aggregateRuns(input.runs);
  const out: { id: string; title: string; spec: ChartSpec }[] = [];
  if (rows.length > 0) {
    out.push({
      id: "chart-hs",
      title: "Harmful score per method",
      spec: metricBars(rows, "HS", "Harmful score (lower is better)"),
    });
    out.push({
      id: "chart-fa",
      title: "Fine-tune accuracy per method",
      spec: metricBars(rows, "FA", "Fine-tune accuracy (higher is better)"),
    });
  }
  const loss = lossLines(input.runs);
  if (loss) out.push({ id: "chart-loss", title: "Loss per state over steps", spec: loss });
  const drift = driftLines(input.runs);
  if (drift) out.push({ id: "chart-drift", title: "Drift per switch", spec: drift });
  if (new Set(rows.map((r) => r.method)).size > 1 || rows.length > 2) {
    out.push({
      id: "chart-tradeoff",
      title: "Trade-off: HS against FA, one point per setting",
      spec: tradeoffSpec(rows),
    });
  }
  if (input.sweep && rows.length > 0) {
    out.push({
      id: "chart-sweep-hs",
      title: `HS against ${input.sweep}`,
      spec: sweepLines(input, rows, "HS"),
    });
    out.push({
      id: "chart-sweep-fa",
      title: `FA against ${input.sweep}`,
      spec: sweepLines(input, rows, "FA"),
    });
  }
  return out;
}

/**
 * Render one vega-lite spec to an SVG string (no browser, no canvas).
 *
 * @example
 * ```ts
 * const svg = await renderSvg({ data: { values: [{ a: 1 }] }, mark: "point", encoding: {} });
 * ```
 */
export async function renderSvg(spec: ChartSpec): Promise<string> {
  const compiled = vl.compile(spec as unknown as vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Render every chart of the input. */
export async function renderCharts(input: ReportInput): Promise<Chart[]> {
  const specs = chartSpecs(input);
  const out: Chart[] = [];
  for (const c of specs) out.push({ id: c.id, title: c.title, svg: await renderSvg(c.spec) });
  return out;
}
