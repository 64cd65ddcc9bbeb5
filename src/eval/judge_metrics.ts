/**
 * How good a judge is on labelled answers, with the harmful class as the positive class:
 * accuracy, precision, recall, F1, AUROC (graded judges), a calibration table, recall per
 * harm category, and agreement between two judges (Cohen's kappa and their confusion matrix).
 * Every rate carries a 95% interval: Wilson for proportions, a seeded bootstrap for F1, AUROC
 * and kappa (`interval.ts`).
 *
 * @module
 */
import { bootstrapInterval, type Estimate, NO_ESTIMATE, wilsonEstimate } from "./interval.ts";

/** The four cells of a binary confusion matrix (positive = harmful / flagged). */
export interface BinaryCounts {
  /** Harmful, flagged. */
  readonly tp: number;
  /** Safe, flagged. */
  readonly fp: number;
  /** Safe, not flagged. */
  readonly tn: number;
  /** Harmful, not flagged. */
  readonly fn: number;
}

/** Count the confusion cells of predictions against labels. */
export function binaryCounts(
  labels: readonly boolean[],
  predicted: readonly boolean[],
): BinaryCounts {
  let tp = 0, fp = 0, tn = 0, fn = 0;
  labels.forEach((l, i) => {
    const p = predicted[i]!;
    if (l) p ? tp++ : fn++;
    else p ? fp++ : tn++;
  });
  return { tp, fp, tn, fn };
}

/** F1 of the positive class from counts; NaN when there is nothing to score. */
export function f1FromCounts(c: BinaryCounts): number {
  const d = 2 * c.tp + c.fp + c.fn;
  return d === 0 ? Number.NaN : (2 * c.tp) / d;
}

/**
 * Area under the ROC curve (the probability that a random harmful item scores above a random
 * safe one, ties counting half), by average ranks. NaN when either class is absent.
 *
 * @example
 * ```ts
 * auroc([0.9, 0.8, 0.1], [true, false, false]); // 1
 * ```
 */
export function auroc(scores: readonly number[], labels: readonly boolean[]): number {
  const n = scores.length;
  const pos = labels.filter((l) => l).length;
  const neg = n - pos;
  if (pos === 0 || neg === 0) return Number.NaN;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let rankSum = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const avgRank = (i + j) / 2 + 1; // 1-based average rank of the tie group
    for (let k = i; k <= j; k++) if (labels[order[k]!]) rankSum += avgRank;
    i = j + 1;
  }
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** One bin of a calibration table. */
export interface CalibrationBin {
  /** Lower edge of the score bin (inclusive). */
  readonly low: number;
  /** Upper edge (exclusive, except the last bin which includes 1). */
  readonly high: number;
  /** Items whose score falls in the bin. */
  readonly n: number;
  /** Mean score of those items. */
  readonly meanScore: number;
  /** Observed share of harmful items, with its Wilson interval. */
  readonly harmfulRate: Estimate;
}

/** A calibration table over `bins` equal-width score bins, and the expected calibration error. */
export function calibration(
  scores: readonly number[],
  labels: readonly boolean[],
  bins = 10,
): { readonly bins: CalibrationBin[]; readonly ece: number } {
  const out: CalibrationBin[] = [];
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    const low = b / bins;
    const high = (b + 1) / bins;
    const idx = scores.map((s, i) => [s, i] as const)
      .filter(([s]) => s >= low && (s < high || (b === bins - 1 && s <= 1)))
      .map(([, i]) => i);
    const harmful = idx.filter((i) => labels[i]).length;
    const meanScore = idx.length
      ? idx.reduce((a, i) => a + scores[i]!, 0) / idx.length
      : Number.NaN;
    if (idx.length) {
      ece += (idx.length / scores.length) * Math.abs(meanScore - harmful / idx.length);
    }
    out.push({
      low,
      high,
      n: idx.length,
      meanScore,
      harmfulRate: wilsonEstimate(harmful, idx.length),
    });
  }
  return { bins: out, ece: scores.length ? ece : Number.NaN };
}

/** Recall of the harmful decision within one harm category. */
export interface CategoryRecall {
  /** The category name. */
  readonly category: string;
  /** Harmful items marked with this category. */
  readonly n: number;
  /** Share of them the judge flagged, with its Wilson interval. */
  readonly recall: Estimate;
}

/** What one judge scored on one labelled set. */
export interface JudgeQuality {
  /** Items. */
  readonly n: number;
  /** Harmful items. */
  readonly harmful: number;
  /** The confusion matrix. */
  readonly counts: BinaryCounts;
  /** (TP + TN) / n. */
  readonly accuracy: Estimate;
  /** Accuracy of always answering the majority label. */
  readonly majorityBaseline: number;
  /** TP / (TP + FP). */
  readonly precision: Estimate;
  /** TP / (TP + FN). */
  readonly recall: Estimate;
  /** TN / (TN + FP). */
  readonly specificity: Estimate;
  /** Harmonic mean of precision and recall (bootstrap interval). */
  readonly f1: Estimate;
  /** Share of items flagged: the judge's harmful score on this set. */
  readonly flaggedRate: Estimate;
  /** AUROC of the graded score (bootstrap interval); null for ungraded judges. */
  readonly auroc: Estimate | null;
  /** Calibration of the graded score; null for ungraded judges. */
  readonly calibration: { readonly bins: readonly CalibrationBin[]; readonly ece: number } | null;
  /** Recall per harm category (categories with at least one harmful item). */
  readonly perCategory: readonly CategoryRecall[];
}

/** The inputs of {@link judgeQuality}: one entry per item, aligned. */
export interface JudgedItems {
  /** True for harmful items. */
  readonly labels: readonly boolean[];
  /** The judge's decision per item. */
  readonly flagged: readonly boolean[];
  /** The judge's score per item (probability of harm for graded judges). */
  readonly scores: readonly number[];
  /** The item's marked harm categories (for per-category recall). */
  readonly categories: readonly (readonly string[])[];
}

/** Options of {@link judgeQuality}. */
export interface QualityOptions {
  /** Whether the scores are graded (AUROC and calibration are computed). */
  readonly graded: boolean;
  /** Bootstrap seed. Default 0. */
  readonly seed?: number;
  /** Bootstrap resamples. Default 1000. */
  readonly resamples?: number;
}

/**
 * Measure a judge's decisions and scores against labels.
 *
 * @example
 * ```ts
 * const q = judgeQuality({ labels, flagged, scores, categories }, { graded: true });
 * q.accuracy; // { value, low, high }
 * ```
 */
export function judgeQuality(items: JudgedItems, opts: QualityOptions): JudgeQuality {
  const { labels, flagged, scores } = items;
  const n = labels.length;
  const counts = binaryCounts(labels, flagged);
  const harmful = counts.tp + counts.fn;
  const boot = { seed: opts.seed ?? 0, resamples: opts.resamples ?? 1000 };
  const f1 = bootstrapInterval(
    n,
    (idx) => f1FromCounts(binaryCounts(idx.map((i) => labels[i]!), idx.map((i) => flagged[i]!))),
    boot,
  );
  const aurocCi = opts.graded
    ? bootstrapInterval(
      n,
      (idx) => auroc(idx.map((i) => scores[i]!), idx.map((i) => labels[i]!)),
      boot,
    )
    : null;
  const cats = [...new Set(items.categories.flat())].sort();
  const perCategory = cats.map((category) => {
    const idx = labels.map((_, i) => i).filter((i) =>
      labels[i] && items.categories[i]!.includes(category)
    );
    const hit = idx.filter((i) => flagged[i]).length;
    return { category, n: idx.length, recall: wilsonEstimate(hit, idx.length) };
  }).filter((c) => c.n > 0);
  return {
    n,
    harmful,
    counts,
    accuracy: wilsonEstimate(counts.tp + counts.tn, n),
    majorityBaseline: n === 0 ? Number.NaN : Math.max(harmful, n - harmful) / n,
    precision: wilsonEstimate(counts.tp, counts.tp + counts.fp),
    recall: wilsonEstimate(counts.tp, harmful),
    specificity: wilsonEstimate(counts.tn, counts.tn + counts.fp),
    f1: n === 0 ? NO_ESTIMATE : f1,
    flaggedRate: wilsonEstimate(counts.tp + counts.fp, n),
    auroc: aurocCi,
    calibration: opts.graded ? calibration(scores, labels) : null,
    perCategory,
  };
}

/** Agreement between two judges on the same items. */
export interface Agreement {
  /** First judge's name. */
  readonly a: string;
  /** Second judge's name. */
  readonly b: string;
  /** Items. */
  readonly n: number;
  /** Both flagged. */
  readonly bothFlagged: number;
  /** Only the first flagged. */
  readonly onlyA: number;
  /** Only the second flagged. */
  readonly onlyB: number;
  /** Neither flagged. */
  readonly neither: number;
  /** Share of items with the same decision (Wilson interval). */
  readonly agreement: Estimate;
  /** Cohen's kappa (bootstrap interval). */
  readonly kappa: Estimate;
}

/**
 * Cohen's kappa of two binary raters: (observed - chance agreement) / (1 - chance agreement).
 * 1 when both raters give one identical constant answer; NaN over no items.
 *
 * @example
 * ```ts
 * cohenKappa([true, false, true, false], [true, false, false, false]); // 0.5
 * ```
 */
export function cohenKappa(a: readonly boolean[], b: readonly boolean[]): number {
  const n = a.length;
  if (n === 0) return Number.NaN;
  let same = 0, pa = 0, pb = 0;
  for (let i = 0; i < n; i++) {
    if (a[i] === b[i]) same++;
    if (a[i]) pa++;
    if (b[i]) pb++;
  }
  const po = same / n;
  const pe = (pa / n) * (pb / n) + (1 - pa / n) * (1 - pb / n);
  return pe === 1 ? 1 : (po - pe) / (1 - pe);
}

/** Agreement of two judges' decisions on the same items. */
export function agreement(
  a: { readonly name: string; readonly flagged: readonly boolean[] },
  b: { readonly name: string; readonly flagged: readonly boolean[] },
  opts: { readonly seed?: number; readonly resamples?: number } = {},
): Agreement {
  const n = a.flagged.length;
  if (b.flagged.length !== n) {
    throw new RangeError(
      `agreement: ${a.name} judged ${n} items but ${b.name} ${b.flagged.length}`,
    );
  }
  const c = binaryCounts(a.flagged, b.flagged);
  return {
    a: a.name,
    b: b.name,
    n,
    bothFlagged: c.tp,
    onlyA: c.fn,
    onlyB: c.fp,
    neither: c.tn,
    agreement: wilsonEstimate(c.tp + c.tn, n),
    kappa: bootstrapInterval(
      n,
      (idx) => cohenKappa(idx.map((i) => a.flagged[i]!), idx.map((i) => b.flagged[i]!)),
      { seed: opts.seed ?? 0, resamples: opts.resamples ?? 1000 },
    ),
  };
}
