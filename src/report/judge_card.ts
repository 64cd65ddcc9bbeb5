/**
 * The judge card section of `report.md` (and the lines `report.html` shows): which judge produced every harmful
 * score in the report, its version, what its score means, and its accuracy, F1 and AUROC on
 * labelled data (or "unmeasured").
 *
 * @module
 */
import { type JudgeCard, measurementLine } from "../eval/judge_card.ts";

/** The card as it reads when a report names only a judge (older runs, library use). */
export function cardOrPlaceholder(card: JudgeCard | undefined, name: string | undefined) {
  return card ?? (name
    ? {
      name,
      what: "no judge card was recorded for this report",
      version: "unknown",
      source: "unknown",
      measured: null,
    }
    : null);
}

/** The card's lines, as plain text: name, version, source, meaning, measurement. */
export function judgeCardLines(
  card: Pick<JudgeCard, "name" | "what" | "version" | "source" | "measured">,
): string[] {
  return [
    `Judge: ${card.name}, version ${card.version}, from ${card.source}.`,
    `What it is: ${card.what}.`,
    `Measured: ${measurementLine(card.measured)}.`,
  ];
}

/** The `## Judge` section of `report.md`; empty when the report names no judge. */
export function judgeCardMarkdown(card: JudgeCard | undefined, name: string | undefined): string[] {
  const c = cardOrPlaceholder(card, name);
  if (!c) return [];
  return ["## Judge", "", ...judgeCardLines(c).map((l) => `- ${l}`), ""];
}
