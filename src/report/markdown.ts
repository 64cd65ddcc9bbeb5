/**
 * `report.md`: a summary table (mean ± std over seeds) and, for sweeps, the paper's table
 * shape: one row per method, one column per value of the swept variable, HS and FA apart.
 *
 * @module
 */
import { formatMeanStd } from "../eval/metrics.ts";
import {
  type AggregateRow,
  aggregateRuns,
  formatCell,
  sweepValue,
  varyingSettings,
} from "./aggregate.ts";
import { seedSection } from "./seeds.ts";
import { judgeCardMarkdown } from "./judge_card.ts";
import { dynamicsRows, dynamicsTable } from "./dynamics.ts";
import type { ReportInput, SweepVariable } from "./types.ts";

function table(header: readonly string[], rows: readonly (readonly string[])[], right: number) {
  const align = header.map((_, i) => (i >= right ? "---:" : "---"));
  return [header, align, ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
}

function methods(rows: readonly AggregateRow[]): string[] {
  return [...new Set(rows.map((r) => r.method))];
}

/** The values of the swept variable in first-seen order (numeric ones ascending). */
export function sweepValues(rows: readonly AggregateRow[], v: SweepVariable): string[] {
  const values = [...new Set(rows.map((r) => sweepValue(r, v)))];
  return values.every((x) => !Number.isNaN(Number(x)))
    ? values.sort((a, b) => Number(a) - Number(b))
    : values;
}

/**
 * A pivot table in the paper's shape: rows are methods, columns are the swept values, cells
 * are `mean ± std` of `metric` over seeds.
 */
export function sweepTable(
  rows: readonly AggregateRow[],
  v: SweepVariable,
  metric: "HS" | "FA",
): string {
  const values = sweepValues(rows, v);
  const body = methods(rows).map((m) => [
    m,
    ...values.map((x) => {
      const cell = rows.find((r) => r.method === m && sweepValue(r, v) === x);
      return cell ? formatCell(cell, metric) : "–";
    }),
  ]);
  return table(["method", ...values.map((x) => `${v} = ${x}`)], body, 1);
}

/**
 * The summary table: one row per setting, HS / FA / HS+ as mean ± std over seeds (one seed:
 * the value and its 95% interval), and the seeds.
 */
export function summaryTable(rows: readonly AggregateRow[]): string {
  const vary = varyingSettings(rows);
  const showPlus = rows.some((r) => r.HSPlus.n > 0);
  const showIncoherence = rows.some((r) => r.incoherence.n > 0);
  const header = [
    "method",
    ...vary,
    "HS (lower better)",
    "FA (higher better)",
    ...(showPlus ? ["HS+"] : []),
    ...(showIncoherence ? ["incoherent"] : []),
    "seeds",
  ];
  const body = rows.map((r) => [
    r.method,
    ...vary.map((k) => String(r[k])),
    formatCell(r, "HS"),
    formatCell(r, "FA"),
    ...(showPlus ? [formatCell(r, "HSPlus")] : []),
    ...(showIncoherence ? [formatMeanStd(r.incoherence)] : []),
    String(r.seeds.length),
  ]);
  return table(header, body, 1 + vary.length);
}

/**
 * The whole `report.md`.
 *
 * @example
 * ```ts
 * const md = renderMarkdown({ title: "SST2, p = 0.1", runs });
 * ```
 */
export function renderMarkdown(input: ReportInput): string {
  const rows = aggregateRuns(input.runs);
  const first = rows[0];
  const fixed = first
    ? ["task", "p", "n", "rho", "K1", "K2"]
      .filter((k) => !(varyingSettings(rows) as string[]).includes(k))
      .map((k) => `${k} = ${first[k as keyof AggregateRow]}`)
      .join(", ")
    : "";
  const parts = [`# ${input.title}`, ""];
  if (input.createdAt) parts.push(`Created ${input.createdAt}.`);
  if (input.judge) parts.push(`Harmful score judged by \`${input.judge}\`.`);
  if (fixed) parts.push(`Fixed settings: ${fixed}.`);
  parts.push(
    `Values are mean ± std over seeds (sample std); a single seed shows its 95% Wilson ` +
      `interval in brackets; ${input.runs.length} run(s).`,
    "",
  );
  for (const note of input.notes ?? []) parts.push(`> ${note}`, "");
  parts.push("## Summary", "", summaryTable(rows), "");
  parts.push(...seedSection(input.runs));
  parts.push(...judgeCardMarkdown(input.judgeCard, input.judge));
  const dynamics = dynamicsRows(input.runs);
  if (dynamics.length > 0) {
    parts.push(
      "## Training dynamics",
      "",
      "Drift: squared distance moved in a state (mean over states and seeds). The gate is the " +
        "step the proximal term switches on (a state start); before it Lisa is BSO. " +
        "Prox/data: the proximal gradient norm over the data gradient norm, both before " +
        "clipping, on the steps the term is on.",
      "",
      dynamicsTable(dynamics),
      "",
    );
  }
  if (input.sweep) {
    parts.push(`## Harmful score against ${input.sweep}`, "", sweepTable(rows, input.sweep, "HS"));
    parts.push("", `## Fine-tune accuracy against ${input.sweep}`, "");
    parts.push(sweepTable(rows, input.sweep, "FA"), "");
  }
  return parts.join("\n");
}
