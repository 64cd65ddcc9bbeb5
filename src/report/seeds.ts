/**
 * The methods table over seeds: one row per setting (a method, labelled by its composition),
 * HS and FA as mean ± std over the seeds with the 95% Wilson interval of every seed's answers
 * pooled, and the seconds each training stage took. The ± shows how much the seeds move a
 * figure; the interval, how much the finite prompt set does.
 *
 * @module
 */
import { formatMeanStd, type MeanStd, meanStd, wilsonInterval } from "../eval/metrics.ts";
import { type AggregateRow, aggregateRuns, groupRuns, varyingSettings } from "./aggregate.ts";
import type { PercentInterval, RunResult } from "./types.ts";

/** One setting over its seeds. */
export interface SeedRow extends AggregateRow {
  /** 95% Wilson interval of HS over all seeds' harmful prompts together. */
  readonly HSPooled?: PercentInterval;
  /** 95% Wilson interval of FA over all seeds' task prompts together. */
  readonly FAPooled?: PercentInterval;
  /** Seconds of the alignment stage behind each seed's model (seeds that recorded it). */
  readonly alignSeconds: MeanStd;
  /** Seconds of fine-tuning (plus the repair) per seed (seeds that recorded it). */
  readonly trainSeconds: MeanStd;
}

/**
 * The Wilson interval of `metric` over the answers of every run together: the runs' counts
 * (rate x prompts) summed over their prompts summed. Undefined when a run lacks its prompt
 * count or the metric.
 *
 * @example
 * ```ts
 * pooledInterval([{ HS: 10, harmfulN: 100 }, { HS: 20, harmfulN: 100 }], "HS"); // 15% of 200
 * ```
 */
export function pooledInterval(
  runs: readonly Pick<RunResult, "HS" | "FA" | "harmfulN" | "taskN">[],
  metric: "HS" | "FA",
): PercentInterval | undefined {
  const size = (r: (typeof runs)[number]) => (metric === "HS" ? r.harmfulN : r.taskN);
  if (runs.length === 0) return undefined;
  if (runs.some((r) => size(r) === undefined || !Number.isFinite(r[metric]))) return undefined;
  const n = runs.reduce((a, r) => a + size(r)!, 0);
  const count = runs.reduce((a, r) => a + Math.round((r[metric] * size(r)!) / 100), 0);
  return n > 0 ? wilsonInterval(count, n) : undefined;
}

const seconds = (xs: readonly (number | undefined)[]) =>
  meanStd(xs.filter((x): x is number => x !== undefined));

/** Group `runs` by every setting but the seed and summarise each group over its seeds. */
export function seedRows(runs: readonly RunResult[]): SeedRow[] {
  const rows = aggregateRuns(runs);
  return groupRuns(runs).map((g, i) => {
    const hs = pooledInterval(g, "HS");
    const fa = pooledInterval(g, "FA");
    return {
      ...rows[i]!,
      ...(hs ? { HSPooled: hs } : {}),
      ...(fa ? { FAPooled: fa } : {}),
      alignSeconds: seconds(g.map((r) => r.alignSeconds)),
      trainSeconds: seconds(g.map((r) => r.trainSeconds)),
    };
  });
}

function cell(m: MeanStd, pooled: PercentInterval | undefined): string {
  const ms = formatMeanStd(m);
  return pooled ? `${ms} [${pooled.lo.toFixed(1)}, ${pooled.hi.toFixed(1)}]` : ms;
}

const time = (m: MeanStd) => (m.n === 0 ? "n/a" : formatMeanStd(m, 0));

/**
 * The markdown table of {@link seedRows}: method, the settings that differ, HS and FA as
 * `mean ± std [pooled 95% interval]`, the alignment and fine-tuning seconds, the seeds.
 */
export function seedTable(rows: readonly SeedRow[]): string {
  const vary = varyingSettings(rows);
  const header = [
    "method",
    ...vary,
    "HS (lower better)",
    "FA (higher better)",
    "alignment s",
    "fine-tuning s",
    "seeds",
  ];
  const body = rows.map((r) => [
    r.method,
    ...vary.map((k) => String(r[k])),
    cell(r.HS, r.HSPooled),
    cell(r.FA, r.FAPooled),
    time(r.alignSeconds),
    time(r.trainSeconds),
    String(r.seeds.length),
  ]);
  const align = header.map((_, i) => (i > vary.length ? "---:" : "---"));
  return [header, align, ...body].map((r) => `| ${r.join(" | ")} |`).join("\n");
}

/**
 * The report section of {@link seedTable}, present only when some setting ran over several
 * seeds (one seed's figures, intervals included, are in the summary already).
 */
export function seedSection(runs: readonly RunResult[]): string[] {
  const rows = seedRows(runs);
  if (!rows.some((r) => r.seeds.length > 1)) return [];
  return [
    "## Over seeds",
    "",
    "HS and FA as mean ± std over seeds, then in brackets the 95% Wilson interval of all seeds' " +
    "answers pooled (the ± is the seeds' spread, the interval the prompt set's); seconds of " +
    "training in the alignment stage behind each model and in its fine-tuning (plus repair).",
    "",
    seedTable(rows),
    "",
  ];
}
