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
  saveModerationClassifier,
  trainModerationClassifier,
} from "../eval/mod.ts";
import { judgeEvalRows, judgeRows } from "./data.ts";
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
  /** Metrics on evaluation-prompt rows (compliant vs refusal answers), never trained on. */
  readonly evalPrompts: ModerationMetrics;
  /** Mean training loss per epoch. */
  readonly lossPerEpoch: readonly number[];
  /** Seconds spent. */
  readonly seconds: number;
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
  const evalRows = judgeEvalRows(
    r.judgeSeed,
    Math.max(20, Math.round(j.harmful / 4)),
    JUDGE_CATEGORIES,
  );
  const evalPrompts = await evaluateModeration(trained.classifier, evalRows);
  await Effect.runPromise(saveModerationClassifier(dir, trained.classifier, trained.holdout));
  return {
    classifier: trained.classifier,
    report: {
      split: trained.split,
      holdout: trained.holdout,
      evalPrompts,
      lossPerEpoch: trained.lossPerEpoch,
      seconds: (performance.now() - start) / 1000,
    },
  };
}
