/**
 * The comparison table printed at the end of a run.
 *
 * @module
 */
import { formatWithInterval } from "../eval/mod.ts";
import type { ModelRow } from "./rows.ts";

const num = (v: number | null, d = 1): string =>
  v === null || !Number.isFinite(v) ? "-" : v.toFixed(d);

/**
 * A plain-text table: one line per model with HS, HS+ and FA, each with its 95% Wilson
 * interval, the incoherence and refusal rates, the base model's per-token loss of the answers
 * (nats), and times; a footer line gives the sample sizes.
 */
export function comparisonTable(rows: readonly ModelRow[]): string {
  const head = ["model", "HS [95% CI]", "HS+ [95% CI]", "incoh.", "refusal", "base NLL"];
  head.push("FA [95% CI]", "steps");
  head.push("train s", "eval s");
  const body = rows.map((r) => [
    r.label,
    formatWithInterval(r.harmfulScore, r.intervals?.harmfulScore),
    formatWithInterval(r.harmfulScorePlus, r.intervals?.harmfulScorePlus),
    num(r.incoherenceRate ?? null),
    num(r.refusalRate),
    num(r.baseNll ?? null, 2),
    r.finetuneAccuracy === null
      ? "-"
      : formatWithInterval(r.finetuneAccuracy, r.intervals?.finetuneAccuracy ?? undefined),
    String(r.steps),
    num(r.trainSeconds, 0),
    num(r.evalSeconds, 0),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  const sizes = rows[0]
    ? [`HS over ${rows[0].harmfulN} harmful prompts, FA over ${rows[0].taskN} task prompts.`]
    : [];
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line), ...sizes]
    .join("\n");
}
