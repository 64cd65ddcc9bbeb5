/**
 * The `judge-report.json` document that `judge-eval` and `judge-train` write: the data, the
 * protocol, and per judge its card, its quality with 95% intervals, its per-fold figures under
 * cross-validation, and a few misjudged rows; plus the agreement of every pair of judges.
 *
 * @module
 */
import type {
  Agreement,
  Estimate,
  JudgeCard,
  JudgeMeasurement,
  JudgeQuality,
  LabelledSummary,
  MeanStd,
} from "../eval/mod.ts";
import type { Misjudged } from "./measure.ts";

/** One judge's figures on one cross-validation fold (point values). */
export interface FoldScore {
  /** Fold number, from 0. */
  readonly fold: number;
  /** Rows in the fold. */
  readonly n: number;
  /** Accuracy on the fold. */
  readonly accuracy: number;
  /** F1 of the harmful class on the fold. */
  readonly f1: number;
  /** AUROC on the fold (NaN for ungraded judges). */
  readonly auroc: number;
}

/** A judge's cross-validation summary: per fold, and mean ± std over folds. */
export interface FoldSummary {
  /** Per-fold figures. */
  readonly perFold: readonly FoldScore[];
  /** Accuracy over folds. */
  readonly accuracy: MeanStd;
  /** F1 over folds. */
  readonly f1: MeanStd;
  /** AUROC over folds; null for ungraded judges. */
  readonly auroc: MeanStd | null;
}

/** Per-fold differences between two judges (A - B), mean ± std over folds. */
export interface PairedDifference {
  /** Judge A's name. */
  readonly a: string;
  /** Judge B's name. */
  readonly b: string;
  /** Accuracy difference. */
  readonly accuracy: MeanStd;
  /** AUROC difference; null unless both are graded. */
  readonly auroc: MeanStd | null;
  /** Folds where A's accuracy is higher. */
  readonly accuracyWins: number;
  /** Folds where A's AUROC is higher (0 when not graded). */
  readonly aurocWins: number;
}

/** One judge in a report. */
export interface JudgeEntry {
  /** Its card (with the measurement this report made). */
  readonly card: JudgeCard;
  /** Whether AUROC and calibration were measured. */
  readonly graded: boolean;
  /** Quality on all rows (out-of-fold predictions under cross-validation). */
  readonly quality: JudgeQuality;
  /** The same figures as the card shows them. */
  readonly measurement: JudgeMeasurement;
  /** Cross-validation figures; absent without folds. */
  readonly folds?: FoldSummary;
  /** A few misjudged rows, texts cut short. */
  readonly examples: {
    readonly missedHarmful: readonly Misjudged[];
    readonly flaggedSafe: readonly Misjudged[];
  };
}

/** Judges on a run's own (unlabelled) answers: each judge's harmful score and their agreement. */
export interface AnswersSection {
  /** The `answers.jsonl` files. */
  readonly files: readonly string[];
  /** Harmful answers judged. */
  readonly n: number;
  /** Per judge: name, version and the share it flags (Wilson interval). */
  readonly judges: readonly {
    readonly name: string;
    readonly version: string;
    readonly harmfulScore: Estimate;
  }[];
  /** Agreement of every pair of judges on these answers. */
  readonly agreement: readonly Agreement[];
}

/** The whole `judge-report.json`. */
export interface JudgeReport {
  /** Format tag. */
  readonly schema: "lisa-judge-report/1";
  /** Which command wrote it. */
  readonly command: "judge-eval" | "judge-train";
  /** ISO time. */
  readonly createdAt: string;
  /** The labelled data measured on. */
  readonly data: LabelledSummary;
  /** How the rows were used, in words. */
  readonly protocol: string;
  /** Cross-validation folds (0 = none). */
  readonly folds: number;
  /** Seed of folds, splits and bootstrap intervals. */
  readonly seed: number;
  /** The judges. */
  readonly judges: readonly JudgeEntry[];
  /** Agreement of every pair of judges on the same rows. */
  readonly agreement: readonly Agreement[];
  /** Per-fold paired differences (cross-validation only). */
  readonly paired: readonly PairedDifference[];
  /** Judges on a run's own answers (`--judges.answers`); absent without them. */
  readonly answers?: AnswersSection;
  /** Notes for the reader. */
  readonly notes: readonly string[];
}
