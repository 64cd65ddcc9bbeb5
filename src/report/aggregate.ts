/**
 * Mean ± std over seeds: runs that share every setting but the seed form one group.
 *
 * @module
 */
import { formatMeanStd, formatWithInterval, type MeanStd, meanStd } from "../eval/metrics.ts";
import type { PercentInterval, RunResult, SweepVariable } from "./types.ts";

/** One setting's results over its seeds. */
export interface AggregateRow {
  /** Defense name. */
  readonly method: string;
  /** Task. */
  readonly task: string;
  /** Harmful ratio. */
  readonly p: number;
  /** Fine-tuning samples. */
  readonly n: number;
  /** Proximal strength. */
  readonly rho: number;
  /** Alignment steps per cycle. */
  readonly K1: number;
  /** Fine-tune steps per cycle. */
  readonly K2: number;
  /** Seeds in the group, ascending. */
  readonly seeds: readonly number[];
  /** HS over seeds. */
  readonly HS: MeanStd;
  /** FA over seeds. */
  readonly FA: MeanStd;
  /** HS+ over seeds (n = 0 when no run reported it). */
  readonly HSPlus: MeanStd;
  /** Incoherent answers to the harmful prompts, percent, over seeds (n = 0 when unreported). */
  readonly incoherence: MeanStd;
  /** A single-seed group's 95% intervals (absent over several seeds: mean ± std instead). */
  readonly intervals?: RunResult["intervals"];
}

/**
 * One table cell: `mean ± std` over several seeds; over one seed, the value with its 95%
 * interval when the run has one (`12.3 [9.8, 15.2]`).
 */
export function formatCell(row: AggregateRow, metric: "HS" | "FA" | "HSPlus"): string {
  const m = row[metric];
  const ci: PercentInterval | undefined = row.intervals?.[metric];
  if (m.n === 1 && ci) return formatWithInterval(m.mean, ci, 1);
  return formatMeanStd(m);
}

/** The value of the swept variable for a run or group, as a display string. */
export function sweepValue(
  r: Pick<RunResult, "p" | "n" | "rho" | "K1" | "K2">,
  v: SweepVariable,
): string {
  return v === "K1:K2" ? `${r.K1}:${r.K2}` : String(r[v]);
}

/** Runs that share every setting but the seed, in the order of each group's first run. */
export function groupRuns(runs: readonly RunResult[]): RunResult[][] {
  const groups = new Map<string, RunResult[]>();
  for (const r of runs) {
    const key = JSON.stringify([r.method, r.task, r.p, r.n, r.rho, r.K1, r.K2]);
    const list = groups.get(key);
    if (list) list.push(r);
    else groups.set(key, [r]);
  }
  return [...groups.values()];
}

/**
 * Group runs by every setting except the seed ({@link groupRuns}) and summarise each group.
 *
 * @example
 * ```ts
 * const rows = aggregateRuns(runs);
 * formatMeanStd(rows[0]!.HS); // "40.20 ± 1.10"
 * ```
 */
export function aggregateRuns(runs: readonly RunResult[]): AggregateRow[] {
  return groupRuns(runs).map((g) => {
    const first = g[0]!;
    return {
      method: first.method,
      task: first.task,
      p: first.p,
      n: first.n,
      rho: first.rho,
      K1: first.K1,
      K2: first.K2,
      seeds: g.map((r) => r.seed).sort((a, b) => a - b),
      HS: meanStd(g.map((r) => r.HS)),
      FA: meanStd(g.map((r) => r.FA)),
      HSPlus: meanStd(g.flatMap((r) => (r.HSPlus === undefined ? [] : [r.HSPlus]))),
      incoherence: meanStd(
        g.flatMap((r) => (r.incoherenceRate === undefined ? [] : [r.incoherenceRate])),
      ),
      ...(g.length === 1 && first.intervals ? { intervals: first.intervals } : {}),
    };
  });
}

/** The settings that differ between groups (shown as table columns). */
export function varyingSettings(
  rows: readonly AggregateRow[],
): ("task" | "p" | "n" | "rho" | "K1" | "K2")[] {
  const keys = ["task", "p", "n", "rho", "K1", "K2"] as const;
  return keys.filter((k) => new Set(rows.map((r) => r[k])).size > 1);
}
