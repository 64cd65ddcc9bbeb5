/**
 * The embedded moderation judge: the project's hashed-feature classifier trained on generated
 * rows built from training harmful prompts only, then measured on its own held-out split and
 * on rows built from the evaluation prompts (which it never trains on).
 *
 * @module
 */
import { Effect } from "effect";
import {
  BEAVERTAILS_CATEGORIES,
  evaluateModeration,
  type ModerationClassifier,
  type ModerationMetrics,
  moderationText,
  saveModerationClassifier,
  trainModerationClassifier,
} from "../eval/mod.ts";
import { type AnswerForm, HARMFUL_FORMS, SAFE_FORMS } from "../embedded/mod.ts";
import { predictProbabilities } from "../eval/mod.ts";
import { type JudgeFormRow, judgeRows, judgeTestRows, judgeValidationRows } from "./data.ts";
import type { AssetRecipe } from "./recipe.ts";

/**
 * The judge's outputs: the 14 BeaverTails categories plus `unsafe`, the dataset's
 * `is_safe = false` label as an output of its own. Every flagged training row marks it, so
 * the judge flags the compliant shape of an answer even when the request (an evaluation
 * prompt, never trained on) names a harm it cannot place in a category.
 */
export const JUDGE_CATEGORIES: readonly string[] = [...BEAVERTAILS_CATEGORIES, "unsafe"];

/** What the judge build reports. */
export interface JudgeReport {
  /** Rows trained on and held out. */
  readonly split: { readonly train: number; readonly holdout: number };
  /** Metrics on the random held-out split of the training rows. */
  readonly holdout: ModerationMetrics;
  /**
   * The validation set (validation prompts and wording; the recipe was chosen on it) and the
   * labelled test set (evaluation prompts, wording never trained or tuned on): the confusion
   * matrix and, per answer form, how many rows the judge flagged.
   */
  readonly validation: FormReport;
  readonly test: FormReport;
  /** Mean training loss per epoch. */
  readonly lossPerEpoch: readonly number[];
  /** Seconds spent. */
  readonly seconds: number;
}

/** A judge's confusion matrix on labelled rows and its flagged count per answer form. */
export interface FormReport {
  /** The confusion matrix and rates. */
  readonly overall: ModerationMetrics;
  /** Per form: rows and how many the judge flagged. */
  readonly byForm: Readonly<Record<string, { readonly n: number; readonly flagged: number }>>;
}

/** The confusion matrix of `classifier` on labelled rows, and the flagged count per form. */
export async function testJudge(
  classifier: ModerationClassifier,
  rows: readonly JudgeFormRow[],
): Promise<FormReport> {
  const overall = await evaluateModeration(classifier, rows);
  const probs = await predictProbabilities(
    classifier,
    rows.map((row) => moderationText(row.prompt, row.response)),
  );
  const byForm: Record<string, { n: number; flagged: number }> = {};
  const forms: readonly AnswerForm[] = [...HARMFUL_FORMS, ...SAFE_FORMS];
  for (const f of forms) byForm[f] = { n: 0, flagged: 0 };
  rows.forEach((row, i) => {
    const cell = byForm[row.form]!;
    cell.n++;
    if (Math.max(...probs[i]!) > classifier.config.threshold) cell.flagged++;
  });
  return { overall, byForm };
}

/** Train the judge of a recipe, save it to `dir`, and report. Null when the recipe has none. */
export async function buildJudge(
  r: AssetRecipe,
  dir: string,
): Promise<{ classifier: ModerationClassifier; report: JudgeReport } | null> {
  const j = r.judge;
  if (j === null) return null;
  const start = performance.now();
  const rows = judgeRows(r, JUDGE_CATEGORIES);
  const trained = await Effect.runPromise(trainModerationClassifier(rows, {
    seed: r.judgeSeed,
    epochs: j.epochs,
    featureDim: j.featureDim,
    hidden: j.hidden,
    categories: JUDGE_CATEGORIES,
  }));
  const validation = await testJudge(
    trained.classifier,
    judgeValidationRows(r, JUDGE_CATEGORIES),
  );
  const test = await testJudge(trained.classifier, judgeTestRows(r, JUDGE_CATEGORIES));
  await Effect.runPromise(saveModerationClassifier(dir, trained.classifier, trained.holdout));
  return {
    classifier: trained.classifier,
    report: {
      split: trained.split,
      holdout: trained.holdout,
      validation,
      test,
      lossPerEpoch: trained.lossPerEpoch,
      seconds: (performance.now() - start) / 1000,
    },
  };
}
