/**
 * `report.html`: one self-contained page (inline CSS, inline SVG charts, no scripts, no
 * external resources), so it opens anywhere and can be archived as a single file.
 *
 * @module
 */
import { aggregateRuns, formatCell, varyingSettings } from "./aggregate.ts";
import type { Chart } from "./charts.ts";
import { cardOrPlaceholder, judgeCardLines } from "./judge_card.ts";
import type { ReportInput } from "./types.ts";

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

const STYLE = `
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem}
table{border-collapse:collapse;margin:1rem 0}
th,td{border:1px solid #ccc;padding:.3rem .6rem}td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1.5rem 0}figcaption{font-weight:600;margin-bottom:.4rem}
.meta{color:#555}.note{border-left:3px solid #aaa;padding-left:.6rem;color:#444}
`;

function summaryHtml(input: ReportInput): string {
  const rows = aggregateRuns(input.runs);
  const vary = varyingSettings(rows);
  const head = ["method", ...vary, "HS (lower better)", "FA (higher better)", "seeds"]
    .map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  const body = rows.map((r) =>
    `<tr><td>${escapeHtml(r.method)}</td>` +
    vary.map((k) => `<td>${escapeHtml(String(r[k]))}</td>`).join("") +
    `<td class="num">${escapeHtml(formatCell(r, "HS"))}</td>` +
    `<td class="num">${escapeHtml(formatCell(r, "FA"))}</td>` +
    `<td class="num">${r.seeds.length}</td></tr>`
  ).join("\n");
  return `<table id="summary"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** The judge section: the card's lines; empty when the report names no judge. */
export function judgeCardHtml(input: ReportInput): string {
  const c = cardOrPlaceholder(input.judgeCard, input.judge);
  if (!c) return "";
  const items = judgeCardLines(c).map((l) => `<li>${escapeHtml(l)}</li>`).join("\n");
  return `<h2>Judge</h2>\n<ul id="judge-card">\n${items}\n</ul>`;
}

/**
 * The whole page. Chart SVGs come from `renderCharts` (vega output, trusted markup).
 *
 * @example
 * ```ts
 * const html = renderHtml(input, await renderCharts(input));
 * ```
 */
export function renderHtml(input: ReportInput, charts: readonly Chart[]): string {
  const meta = [
    input.createdAt ? `Created ${input.createdAt}.` : "",
    input.judge ? `Harmful score judged by ${input.judge}.` : "",
    `${input.runs.length} run(s); values are mean ± std over seeds ` +
    `(one seed: the value and its 95% Wilson interval).`,
  ].filter((s) => s).map(escapeHtml).join(" ");
  const notes = (input.notes ?? []).map((n) => `<p class="note">${escapeHtml(n)}</p>`).join("\n");
  const figures = charts.map((c) =>
    `<figure id="${escapeHtml(c.id)}"><figcaption>${
      escapeHtml(c.title)
    }</figcaption>\n${c.svg}\n</figure>`
  ).join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(input.title)}</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(input.title)}</h1>
<p class="meta">${meta}</p>
${notes}
<h2>Summary</h2>
${summaryHtml(input)}
${judgeCardHtml(input)}
<h2>Charts</h2>
${figures}
</body>
</html>
`;
}
