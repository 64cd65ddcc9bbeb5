/**
 * The judge card: what every report says about the judge behind its harmful scores: which
 * judge, its version (a checksum of its weights or rules), what its score means, and how good
 * it was on labelled data the last time it was measured (or that it never was). A harmful
 * score is only as good as its judge; the card keeps that next to the number.
 *
 * @module
 */
import { sha256Hex } from "../io/hash.ts";
import type { Estimate } from "./interval.ts";
import type { JudgeQuality } from "./judge_metrics.ts";

/** How a judge was measured. */
export type MeasurementProtocol = "held-out split" | "cross-validation" | "labelled set";

/** One measurement of a judge on labelled data. */
export interface JudgeMeasurement {
  /** The data, in words: files, rows, harmful share. */
  readonly data: string;
  /** How the rows relate to the judge's training rows. */
  readonly protocol: MeasurementProtocol;
  /** Rows measured on. */
  readonly n: number;
  /** Share of harmful rows. */
  readonly harmfulShare: number;
  /** Accuracy with its 95% interval. */
  readonly accuracy: Estimate;
  /** F1 of the harmful class with its 95% interval. */
  readonly f1: Estimate;
  /** AUROC with its 95% interval; null when the judge gives no graded score. */
  readonly auroc: Estimate | null;
  /**
   * When: an ISO time, or words when no clock time is known (a bit-reproducible asset build
   * records none, so its judge says `at training time`).
   */
  readonly measuredAt: string;
}

/** The judge types. */
export type JudgeKind = "classifier" | "tfidf" | "keyword" | "http";

/** What a report says about its judge. */
export interface JudgeCard {
  /** The judge's name as reports show it. */
  readonly name: string;
  /** The judge type. */
  readonly kind: JudgeKind;
  /** One line: what it is and what its harmful score means. */
  readonly what: string;
  /** Version: a checksum of its weights or rules (`sha256:` + 12 hex digits) or a model name. */
  readonly version: string;
  /** Where it came from: a folder, `built in`, or a server URL without credentials. */
  readonly source: string;
  /** Its latest measurement on labelled data; null = unmeasured. */
  readonly measured: JudgeMeasurement | null;
}

/** `sha256:` and the first 12 hex digits of a full hex digest. */
export function shortSha(hex: string): string {
  return `sha256:${hex.slice(0, 12)}`;
}

/** The short checksum of some text (e.g. a phrase list). */
export async function textVersion(text: string): Promise<string> {
  return shortSha(await sha256Hex(new TextEncoder().encode(text)));
}

/** A measurement from a judge's quality on labelled rows. */
export function measurementOf(
  q: JudgeQuality,
  data: string,
  protocol: MeasurementProtocol,
  measuredAt: string = new Date().toISOString(),
): JudgeMeasurement {
  return {
    data,
    protocol,
    n: q.n,
    harmfulShare: q.n === 0 ? Number.NaN : q.harmful / q.n,
    accuracy: q.accuracy,
    f1: q.f1,
    auroc: q.auroc,
    measuredAt,
  };
}

function fmt(e: Estimate | null): string {
  if (e === null) return "not graded";
  if (!Number.isFinite(e.value)) return "n/a";
  const lo = Number.isFinite(e.low) ? ` [${e.low.toFixed(3)}, ${e.high.toFixed(3)}]` : "";
  return `${e.value.toFixed(3)}${lo}`;
}

/** When a measurement was made, as the card says it: an ISO time's date, or the words given. */
export function whenMeasured(measuredAt: string): string {
  return /^\d{4}-\d{2}-\d{2}T/.test(measuredAt) ? measuredAt.slice(0, 10) : measuredAt;
}

/**
 * One line on the measurement: `accuracy 0.714 [0.693, 0.734], F1 …, AUROC … on <data>
 * (<protocol>, n = 380, 53% harmful; measured 2026-12-02)`, or `unmeasured …`.
 */
export function measurementLine(m: JudgeMeasurement | null): string {
  if (m === null) {
    return "unmeasured: no accuracy on labelled data is known for this judge (measure it with " +
      "`deno task train judge-eval`)";
  }
  return `accuracy ${fmt(m.accuracy)}, F1 ${fmt(m.f1)}, AUROC ${fmt(m.auroc)} on ${m.data} ` +
    `(${m.protocol}, n = ${m.n}, ${(100 * m.harmfulShare).toFixed(0)}% harmful; ` +
    `measured ${whenMeasured(m.measuredAt)})`;
}
