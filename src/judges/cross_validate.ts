/**
 * k-fold cross-validation of judges on labelled rows, grouped by prompt: a trainable judge
 * (classifier or tfidf named without a folder) is trained on k - 1 folds and scores the held-out
 * fold, so every row gets an out-of-fold verdict; a fixed judge (keyword, http, a saved folder)
 * scores every row once. Figures come per fold (mean ± std over folds) and pooled.
 *
 * @module
 */
import { Effect } from "effect";
import {
  auroc,
  binaryCounts,
  CLASSIFIER_SPEC,
  f1FromCounts,
  foldSplit,
  type Judge,
  type JudgeCard,
  type JudgeVerdict,
  type LabelledRow,
  linearJudge,
  type LinearJudgeSpec,
  meanStd,
  textVersion,
  TFIDF_BASELINE,
  trainLinearJudge,
} from "../eval/mod.ts";
import type { JudgeSpec } from "../pipeline/mod.ts";
import { judgeRows } from "./measure.ts";
import type { FoldScore, FoldSummary, PairedDifference } from "./types.ts";

/** Whether a named judge is trained per fold rather than opened as it is. */
export function isTrainedPerFold(spec: JudgeSpec, folds: number): boolean {
  return folds >= 2 && spec.path === "" && (spec.kind === "classifier" || spec.kind === "tfidf");
}

/**
 * The training recipe of a trainable judge kind; `threshold` applies to the classifier (the
 * baseline keeps scikit-learn's 0.5). `categoryHeads` off skips the per-category heads, which
 * do not change the harmful decision (cross-validation folds).
 */
export function specFor(
  kind: "classifier" | "tfidf",
  threshold: LinearJudgeSpec["threshold"],
  categoryHeads: boolean,
): LinearJudgeSpec {
  return kind === "tfidf" ? TFIDF_BASELINE : { ...CLASSIFIER_SPEC, threshold, categoryHeads };
}

/** The card of a judge trained per fold. */
export async function foldTrainedCard(
  kind: "classifier" | "tfidf",
  k: number,
  threshold: LinearJudgeSpec["threshold"],
): Promise<JudgeCard> {
  const spec = specFor(kind, threshold, false);
  return {
    name: kind,
    kind,
    what: kind === "tfidf"
      ? "TF-IDF + logistic regression with scikit-learn's defaults (the baseline), trained per fold"
      : "TF-IDF classifier (word 1-2-grams and character 1-4-grams of the response, word " +
        "1-2-grams of the prompt; balanced logistic regression; " +
        (threshold === "half"
          ? "threshold 0.5"
          : "threshold calibrated for accuracy on the training folds") +
        "), trained per fold",
    version: `recipe ${await textVersion(JSON.stringify(spec))}`,
    source: `trained on ${k - 1} of ${k} folds`,
    measured: null,
  };
}

/** Out-of-fold verdicts of a judge trained per fold. */
export function trainedVerdicts(
  kind: "classifier" | "tfidf",
  rows: readonly LabelledRow[],
  fold: readonly number[],
  k: number,
  seed: number,
  threshold: LinearJudgeSpec["threshold"],
) {
  return Effect.gen(function* () {
    const verdicts = new Array<JudgeVerdict>(rows.length);
    for (let f = 0; f < k; f++) {
      const { train, test } = foldSplit(fold, f);
      const spec = specFor(kind, threshold, false);
      const model = trainLinearJudge(train.map((i) => rows[i]!), spec, { seed });
      const judge: Judge = linearJudge(model, kind);
      const vs = yield* judgeRows(judge, test.map((i) => rows[i]!), `${kind} fold ${f + 1}/${k}`);
      test.forEach((i, j) => (verdicts[i] = vs[j]!));
    }
    return verdicts;
  });
}

/** Point figures of verdicts on one subset of rows. */
export function foldScore(
  rows: readonly LabelledRow[],
  verdicts: readonly JudgeVerdict[],
  idx: readonly number[],
  fold: number,
  graded: boolean,
): FoldScore {
  const labels = idx.map((i) => !rows[i]!.isSafe);
  const c = binaryCounts(labels, idx.map((i) => verdicts[i]!.flagged));
  return {
    fold,
    n: idx.length,
    accuracy: idx.length ? (c.tp + c.tn) / idx.length : Number.NaN,
    f1: f1FromCounts(c),
    auroc: graded ? auroc(idx.map((i) => verdicts[i]!.score), labels) : Number.NaN,
  };
}

/** Per-fold figures and their mean ± std. */
export function foldSummary(
  rows: readonly LabelledRow[],
  verdicts: readonly JudgeVerdict[],
  fold: readonly number[],
  k: number,
  graded: boolean,
): FoldSummary {
  const perFold = Array.from(
    { length: k },
    (_, f) => foldScore(rows, verdicts, foldSplit(fold, f).test, f, graded),
  );
  return {
    perFold,
    accuracy: meanStd(perFold.map((s) => s.accuracy)),
    f1: meanStd(perFold.map((s) => s.f1)),
    auroc: graded ? meanStd(perFold.map((s) => s.auroc)) : null,
  };
}

/** Per-fold differences A - B of two judges' figures. */
export function pairedDifference(
  a: { readonly name: string; readonly folds: FoldSummary; readonly graded: boolean },
  b: { readonly name: string; readonly folds: FoldSummary; readonly graded: boolean },
): PairedDifference {
  const dAcc = a.folds.perFold.map((s, i) => s.accuracy - b.folds.perFold[i]!.accuracy);
  const both = a.graded && b.graded;
  const dAuc = both ? a.folds.perFold.map((s, i) => s.auroc - b.folds.perFold[i]!.auroc) : [];
  return {
    a: a.name,
    b: b.name,
    accuracy: meanStd(dAcc),
    auroc: both ? meanStd(dAuc) : null,
    accuracyWins: dAcc.filter((d) => d > 0).length,
    aurocWins: dAuc.filter((d) => d > 0).length,
  };
}
