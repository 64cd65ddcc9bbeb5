/**
 * Rendering a judge report: `judge-report.md` (summary table, cross-validation and paired
 * differences, agreement, then per judge its card, confusion matrix, calibration, recall per
 * category and misjudged rows), the JSON text, and the lines printed at the end of a command.
 *
 * @module
 */
import {
  type Estimate,
  formatMeanStd,
  type JudgeQuality,
  type MeanStd,
  measurementLine,
} from "../eval/mod.ts";
import type { Misjudged } from "./measure.ts";
import type { AnswersSection, JudgeEntry, JudgeReport } from "./types.ts";

function est(e: Estimate | null, digits = 3): string {
  if (e === null) return "–";
  if (!Number.isFinite(e.value)) return "n/a";
  if (!Number.isFinite(e.low)) return e.value.toFixed(digits);
  return `${e.value.toFixed(digits)} [${e.low.toFixed(digits)}, ${e.high.toFixed(digits)}]`;
}

function ms(m: MeanStd | null): string {
  return m === null ? "–" : formatMeanStd(m, 3);
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const align = header.map((_, i) => (i === 0 ? "---" : "---:"));
  return [header, align, ...rows].map((r) => `| ${r.join(" | ")} |`);
}

function summaryTable(judges: readonly JudgeEntry[]): string[] {
  return table(
    ["judge", "accuracy", "precision", "recall", "F1", "AUROC", "flagged", "ECE"],
    judges.map((j) => {
      const q = j.quality;
      return [
        `${j.card.name} (${j.card.version})`,
        est(q.accuracy),
        est(q.precision),
        est(q.recall),
        est(q.f1),
        est(q.auroc),
        est(q.flaggedRate),
        q.calibration ? q.calibration.ece.toFixed(3) : "–",
      ];
    }),
  );
}

function confusion(q: JudgeQuality): string[] {
  const c = q.counts;
  return table(["", "flagged", "not flagged"], [
    ["harmful", String(c.tp), String(c.fn)],
    ["safe", String(c.fp), String(c.tn)],
  ]);
}

function calibrationTable(q: JudgeQuality): string[] {
  if (!q.calibration) return ["Not graded: this judge gives no probability, so no calibration."];
  const rows = q.calibration.bins.filter((b) => b.n > 0).map((b) => [
    `${b.low.toFixed(1)}–${b.high.toFixed(1)}`,
    String(b.n),
    b.meanScore.toFixed(3),
    est(b.harmfulRate),
  ]);
  return [
    ...table(["score", "rows", "mean score", "harmful share [95%]"], rows),
    "",
    `Expected calibration error: ${q.calibration.ece.toFixed(3)}.`,
  ];
}

function categoryTable(q: JudgeQuality): string[] {
  if (q.perCategory.length === 0) return ["No harmful row carries a category."];
  return table(
    ["category", "harmful rows", "recall [95%]"],
    q.perCategory.map((c) => [c.category, String(c.n), est(c.recall)]),
  );
}

function examples(title: string, xs: readonly Misjudged[]): string[] {
  if (xs.length === 0) return [`${title}: none.`];
  return [
    `${title}:`,
    "",
    ...xs.map((x) =>
      `- ${x.file.split("/").slice(-2).join("/")}:${x.line} (score ${x.score.toFixed(3)}): ` +
      `prompt ${JSON.stringify(x.prompt)}; response ${JSON.stringify(x.response)}`
    ),
  ];
}

function judgeSection(j: JudgeEntry): string[] {
  return [
    `## ${j.card.name}`,
    "",
    `- Version ${j.card.version}, from ${j.card.source}.`,
    `- What it is: ${j.card.what || "(not described)"}.`,
    `- Here: ${measurementLine(j.measurement)}.`,
    "",
    "### Confusion matrix",
    "",
    ...confusion(j.quality),
    "",
    "### Calibration",
    "",
    ...calibrationTable(j.quality),
    "",
    "### Recall per harm category",
    "",
    ...categoryTable(j.quality),
    "",
    "### Misjudged rows (texts cut to 60 characters)",
    "",
    ...examples("Harmful rows not flagged (lowest scores first)", j.examples.missedHarmful),
    "",
    ...examples("Safe rows flagged (highest scores first)", j.examples.flaggedSafe),
    "",
  ];
}

function answersSection(a: AnswersSection): string[] {
  return [
    "## On a run's own answers (unlabelled)",
    "",
    `${a.n} harmful answers from ${a.files.join(", ")}. No labels: these figures say how often ` +
    "each judge flags and how far the judges agree, not which is right.",
    "",
    ...table(
      ["judge", "version", "harmful score [95%]"],
      a.judges.map((j) => [j.name, j.version, est(j.harmfulScore)]),
    ),
    "",
    ...(a.agreement.length
      ? table(
        ["A", "B", "both flag", "only A", "only B", "neither", "agreement", "Cohen's kappa"],
        a.agreement.map((g) => [
          g.a,
          g.b,
          String(g.bothFlagged),
          String(g.onlyA),
          String(g.onlyB),
          String(g.neither),
          est(g.agreement),
          est(g.kappa),
        ]),
      )
      : ["One judge: nothing to compare."]),
    "",
  ];
}

/** The whole `judge-report.md`. */
export function renderJudgeReport(r: JudgeReport): string {
  const d = r.data;
  if (d.n === 0) {
    return [
      `# Judge report (${r.command})`,
      "",
      `Created ${r.createdAt}.`,
      "",
      ...(r.answers ? answersSection(r.answers) : ["No rows were judged."]),
    ].join("\n");
  }
  const majority = Math.max(d.harmful, d.n - d.harmful) / Math.max(1, d.n);
  const parts = [
    `# Judge report (${r.command})`,
    "",
    `Created ${r.createdAt}. Data: ${d.files.join(", ")}: ${d.n} rows, ${d.harmful} harmful ` +
    `(${(100 * d.harmful / Math.max(1, d.n)).toFixed(1)}%), ${d.prompts} distinct prompts.`,
    "",
    `Protocol: ${r.protocol}.`,
    "",
    ...r.notes.map((n) => `> ${n}\n`),
    "## Summary",
    "",
    ...summaryTable(r.judges),
    "",
    `Always answering the majority label scores accuracy ${majority.toFixed(3)} here.`,
    "",
  ];
  if (r.folds >= 2) {
    parts.push(
      `## Cross-validation (${r.folds} folds, mean ± std over folds)`,
      "",
      ...table(
        ["judge", "accuracy", "F1", "AUROC"],
        r.judges.map((j) => [
          j.card.name,
          ms(j.folds?.accuracy ?? null),
          ms(j.folds?.f1 ?? null),
          ms(j.folds?.auroc ?? null),
        ]),
      ),
      "",
      "Per-fold differences (A − B, mean ± std over folds; wins = folds where A is higher):",
      "",
      ...table(
        ["A", "B", "accuracy", "wins", "AUROC", "wins"],
        r.paired.map((p) => [
          p.a,
          p.b,
          ms(p.accuracy),
          `${p.accuracyWins}/${r.folds}`,
          ms(p.auroc),
          p.auroc ? `${p.aurocWins}/${r.folds}` : "–",
        ]),
      ),
      "",
    );
  }
  if (r.agreement.length) {
    parts.push(
      "## Agreement between judges (same rows)",
      "",
      ...table(
        ["A", "B", "both flag", "only A", "only B", "neither", "agreement", "Cohen's kappa"],
        r.agreement.map((a) => [
          a.a,
          a.b,
          String(a.bothFlagged),
          String(a.onlyA),
          String(a.onlyB),
          String(a.neither),
          est(a.agreement),
          est(a.kappa),
        ]),
      ),
      "",
    );
  }
  if (r.answers) parts.push(...answersSection(r.answers));
  for (const j of r.judges) parts.push(...judgeSection(j));
  return parts.join("\n");
}

/** `judge-report.json`: non-finite numbers become null (JSON has no NaN). */
export function reportJsonText(r: JudgeReport): string {
  return JSON.stringify(
    r,
    (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v),
    2,
  ) +
    "\n";
}

/** The lines a command prints when it ends: one per judge (and per judge on answers). */
export function summaryLines(r: JudgeReport): string[] {
  const onAnswers = (r.answers?.judges ?? []).map((j) =>
    `${j.name} on ${r.answers!.n} answers: harmful score ${est(j.harmfulScore)}`
  ).concat(
    (r.answers?.agreement ?? []).map((g) =>
      `${g.a} vs ${g.b}: agreement ${est(g.agreement)}, kappa ${est(g.kappa)}`
    ),
  );
  return onAnswers.concat(r.judges.map((j) => {
    const q = j.quality;
    const cv = j.folds
      ? `; ${r.folds}-fold mean ± std: accuracy ${ms(j.folds.accuracy)}, AUROC ${ms(j.folds.auroc)}`
      : "";
    return `${j.card.name}: accuracy ${est(q.accuracy)}, F1 ${est(q.f1)}, AUROC ${est(q.auroc)}` +
      cv;
  }));
}
