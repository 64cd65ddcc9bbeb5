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

/** A mean ± std as `[mean, std]` (null for no values), as the results files hold it. */
type Pair = readonly [number, number] | null;

const pair = (m: MeanStd): Pair => (m.n === 0 ? null : [m.mean, m.std]);
const bounds = (i: PercentInterval | undefined) => (i ? [i.lo, i.hi] as const : null);

/** One row of {@link seedSummary}: a setting over its seeds, and each seed's own figures. */
export interface SeedSummaryRow {
  /** The row's label (its composition). */
  readonly method: string;
  /** Harmful ratio p. */
  readonly p: number;
  /** User samples n. */
  readonly n: number;
  /** Lisa's proximal strength (0 for other methods). */
  readonly rho: number;
  /** `K1:K2` (`0:0` without Bi-State Optimization). */
  readonly "K1:K2": string;
  /** The seeds, ascending. */
  readonly seeds: readonly number[];
  /** HS `[mean, std]` over seeds. */
  readonly HS: Pair;
  /** 95% Wilson interval of HS over every seed's answers pooled. */
  readonly HS_pooled_ci95: readonly [number, number] | null;
  /** FA `[mean, std]` over seeds. */
  readonly FA: Pair;
  /** 95% Wilson interval of FA over every seed's answers pooled. */
  readonly FA_pooled_ci95: readonly [number, number] | null;
  /** HS+ `[mean, std]`. */
  readonly HSPlus: Pair;
  /** Incoherent answers (percent) `[mean, std]`. */
  readonly incoherence: Pair;
  /** Refusals (percent) `[mean, std]`. */
  readonly refusal: Pair;
  /** Alignment-stage seconds behind each seed's model `[mean, std]`. */
  readonly alignSeconds: Pair;
  /** Fine-tuning (plus repair) seconds `[mean, std]`. */
  readonly trainSeconds: Pair;
  /** Each seed's figures with its own 95% intervals. */
  readonly perSeed: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

/**
 * The machine-readable methods table: {@link seedRows} with every seed's figures and
 * intervals beside the mean ± std, as `docs/results/*.json` hold it.
 */
export function seedSummary(runs: readonly RunResult[]): SeedSummaryRow[] {
  const rows = seedRows(runs);
  return groupRuns(runs).map((g, i) => {
    const r = rows[i]!;
    const perSeed: Record<string, Record<string, unknown>> = {};
    for (const run of [...g].sort((a, b) => a.seed - b.seed)) {
      perSeed[String(run.seed)] = {
        HS: run.HS,
        FA: run.FA,
        HSPlus: run.HSPlus ?? null,
        HS_ci95: bounds(run.intervals?.HS),
        FA_ci95: bounds(run.intervals?.FA),
        incoherence: run.incoherenceRate ?? null,
        refusal: run.refusalRate ?? null,
        alignSeconds: run.alignSeconds ?? null,
        trainSeconds: run.trainSeconds ?? null,
      };
    }
    return {
      method: r.method,
      p: r.p,
      n: r.n,
      rho: r.rho,
      "K1:K2": `${r.K1}:${r.K2}`,
      seeds: r.seeds,
      HS: pair(r.HS),
      HS_pooled_ci95: bounds(r.HSPooled),
      FA: pair(r.FA),
      FA_pooled_ci95: bounds(r.FAPooled),
      HSPlus: pair(r.HSPlus),
      incoherence: pair(r.incoherence),
      refusal: pair(
        meanStd(g.flatMap((x) => (x.refusalRate === undefined ? [] : [x.refusalRate]))),
      ),
      alignSeconds: pair(r.alignSeconds),
      trainSeconds: pair(r.trainSeconds),
      perSeed,
    };
  });
}
