/**
 * Plain data shapes shared by the loaders, the templates, the mixing stage and the embedded
 * suite.
 *
 * @module
 */

/** Where an example came from: the role it plays in a Lisa run. */
export type ExampleKind = "task" | "harmful" | "alignment";

/** Where one example came from, so a run can say exactly what it trained on. */
export interface Provenance {
  /** Source name: a file path, or `embedded:<part>` for generated data. */
  readonly source: string;
  /** 1-based line in a text source (for a JSON array: where the element starts), or 1-based row (Parquet, generated data). */
  readonly row: number;
  /** The role of the example: user task data, harmful data, or alignment (safe) data. */
  readonly kind: ExampleKind;
}

/**
 * One instruction example in Alpaca shape. `output` is the target text (without EOS); `label`
 * is the gold answer used for fine-tune accuracy (`"positive"`, `"World"`, `"42"`...).
 */
export interface Example {
  /** The task instruction (the harmful prompt for safety data). */
  readonly instruction: string;
  /** Empty string when the example has no input (the no-input template is used). */
  readonly input: string;
  /** The target answer (EOS is added by the tokenizer layer). */
  readonly output: string;
  /** Gold answer for fine-tune accuracy, when the task has one. */
  readonly label?: string;
  /** BeaverTails harm categories (the 14 keys), when known. */
  readonly category?: Readonly<Record<string, boolean>>;
  /** Where the example came from. */
  readonly provenance: Provenance;
}

/** The 14 BeaverTails harm category keys (the keys contain commas). */
export const CATEGORY_KEYS = [
  "animal_abuse",
  "child_abuse",
  "controversial_topics,politics",
  "discrimination,stereotype,injustice",
  "drug_abuse,weapons,banned_substance",
  "financial_crime,property_crime,theft",
  "hate_speech,offensive_language",
  "misinformation_regarding_ethics,laws_and_safety",
  "non_violent_unethical_behavior",
  "privacy_violation",
  "self_harm",
  "sexually_explicit,adult_content",
  "terrorism,organized_crime",
  "violence,aiding_and_abetting,incitement",
] as const;

/** One BeaverTails harm category key. */
export type CategoryKey = (typeof CATEGORY_KEYS)[number];

/** The AG News class names, in class order (CSV class 1..4, HF label 0..3). */
export const AGNEWS_CLASSES = ["World", "Sports", "Business", "Sci/Tech"] as const;

/** The SST-2 label names, in label order (0 negative, 1 positive). */
export const SST2_LABELS = ["negative", "positive"] as const;

/** A BeaverTails-style safety record, validated. */
export interface SafetyRecord {
  /** The (possibly harmful) user prompt. */
  readonly prompt: string;
  /** The model response. */
  readonly response: string;
  /** The 14 category flags. */
  readonly category: Readonly<Record<string, boolean>>;
  /** Whether the response is safe. */
  readonly is_safe: boolean;
}
