/**
 * The comparison table printed at the end of a run.
 *
 * @module
 */
import type { ModelRow } from "./experiment.ts";

const num = (v: number | null, d = 1): string =>
  v === null || !Number.isFinite(v) ? "-" : v.toFixed(d);

/** A plain-text table: one line per model with HS, HS+, refusal, FA and times. */
export function comparisonTable(rows: readonly ModelRow[]): string {
  const head = ["model", "HS", "HS+", "refusal", "FA", "steps", "train s", "eval s"];
  const body = rows.map((r) => [
    r.label,
    num(r.harmfulScore),
    num(r.harmfulScorePlus),
    num(r.refusalRate),
    num(r.finetuneAccuracy),
    String(r.steps),
    num(r.trainSeconds, 0),
    num(r.evalSeconds, 0),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}
