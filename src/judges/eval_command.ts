/**
 * `judge-eval`: measure judges on labelled (prompt, response, is_safe, category) rows and write
 * `judge-report.json` and `judge-report.md`: accuracy, precision, recall and F1 on the harmful
 * class, AUROC and a calibration table for graded judges, recall per harm category, all with
 * 95% intervals; the agreement (Cohen's kappa, confusion matrix) of every pair of judges on the
 * same rows; and, with `--judges.folds k`, k-fold cross-validation grouped by prompt.
 *
 * Judges are measured here, never tuned: nothing in this command changes a judge.
 *
 * @module
 */
import { Effect } from "effect";
import { ConfigInvalid, type ExperimentConfig } from "../config/mod.ts";
import {
  agreement,
  type JudgeCard,
  type JudgeVerdict,
  type LabelledRow,
  measurementOf,
  readLabelledFiles,
  stratifiedGroupFolds,
  summariseLabelled,
} from "../eval/mod.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { attemptIO } from "../io/fs.ts";
import type { IOFailed } from "../io/errors.ts";
import { type JudgeSpec, judgeSpecOf, openJudge, parseJudgeSpec } from "../pipeline/mod.ts";
import {
  foldSummary,
  foldTrainedCard,
  isTrainedPerFold,
  pairedDifference,
  trainedVerdicts,
} from "./cross_validate.ts";
import { judgeAnswers, readAnswerItems } from "./answers.ts";
import { isGraded, judgeRows, misjudged, qualityOf } from "./measure.ts";
import { renderJudgeReport, reportJsonText, summaryLines } from "./report.ts";
import type { JudgeEntry, JudgeReport } from "./types.ts";

/** The judges `judge-eval` measures: `judges.compare`, else `eval.judge`. */
export function judgeSpecs(cfg: ExperimentConfig): JudgeSpec[] {
  return cfg.judges.compare.length
    ? cfg.judges.compare.map((s) => parseJudgeSpec(s))
    : [judgeSpecOf(cfg)];
}

/** The labelled rows named by `judges.data` (at least one file). */
export function labelledRows(cfg: ExperimentConfig) {
  return Effect.gen(function* () {
    if (cfg.judges.data.length === 0) {
      return yield* new ConfigInvalid({
        path: "judges.data",
        source: "flags and config",
        detail: "expected at least one labelled file (BeaverTails-style JSONL, JSON or Parquet)" +
          "; judge-eval also takes a run's answers.jsonl files as --judges.answers",
      });
    }
    return yield* readLabelledFiles(cfg.judges.data);
  });
}

/** Write `judge-report.json` and `judge-report.md` into `dir`. */
export function writeJudgeReport(dir: string, report: JudgeReport): Effect.Effect<void, IOFailed> {
  return attemptIO(dir, "write the judge report to", async () => {
    await writeFileAtomic(`${dir}/judge-report.json`, reportJsonText(report));
    await writeFileAtomic(`${dir}/judge-report.md`, renderJudgeReport(report));
  });
}

/** One judge's entry from its verdicts on all rows. */
export function judgeEntry(
  card: JudgeCard,
  graded: boolean,
  rows: readonly LabelledRow[],
  verdicts: readonly JudgeVerdict[],
  data: string,
  protocol: "cross-validation" | "labelled set" | "held-out split",
  seed: number,
  examples: number,
): Omit<JudgeEntry, "folds"> {
  const quality = qualityOf(rows, verdicts, graded, seed);
  const measurement = measurementOf(quality, data, protocol);
  return {
    card: { ...card, measured: measurement },
    graded,
    quality,
    measurement,
    examples: misjudged(rows, verdicts, examples),
  };
}

/** A short description of labelled files for cards: names, rows and harmful share. */
export function describeData(rows: readonly LabelledRow[]): string {
  const s = summariseLabelled(rows);
  const names = s.files.map((f) => f.split("/").slice(-2).join("/")).join(", ");
  return `${names} (${s.n} rows, ${s.harmful} harmful)`;
}

/**
 * Run `judge-eval` with a resolved config into `runDir`; returns the summary lines printed.
 *
 * @example
 * ```ts
 * const lines = await Effect.runPromise(
 *   judgeEval(cfg, "runs/judge-eval-1").pipe(Effect.provide(Progress.silent)),
 * );
 * ```
 */
export function judgeEval(cfg: ExperimentConfig, runDir: string) {
  return Effect.gen(function* () {
    const specs = yield* Effect.try({
      try: () => judgeSpecs(cfg),
      catch: (e) =>
        e instanceof ConfigInvalid ? e : new ConfigInvalid({
          path: "judges.compare",
          source: "flags and config",
          detail: e instanceof Error ? e.message : String(e),
        }),
    });
    const k = cfg.judges.folds;
    if (k === 1) {
      return yield* new ConfigInvalid({
        path: "judges.folds",
        source: "flags and config",
        detail: "expected 0 (no cross-validation) or at least 2 folds, found 1",
      });
    }
    const answers = cfg.judges.answers.length > 0;
    const rows = answers && cfg.judges.data.length === 0 ? [] : yield* labelledRows(cfg);
    const data = describeData(rows);
    const labels = rows.map((r) => !r.isSafe);
    const fold = k >= 2 ? stratifiedGroupFolds(rows.map((r) => r.prompt), labels, k, cfg.seed) : [];
    const protocol = k >= 2 ? "cross-validation" : "labelled set";
    const entries: JudgeEntry[] = [];
    const decisions: { name: string; flagged: boolean[] }[] = [];
    for (const spec of rows.length ? specs : []) {
      let card: JudgeCard;
      let verdicts: JudgeVerdict[];
      let graded: boolean;
      if (isTrainedPerFold(spec, k)) {
        const kind = spec.kind as "classifier" | "tfidf";
        // In memory (a text checksum): nothing here can fail but a defect.
        card = yield* Effect.promise(() => foldTrainedCard(kind, k, cfg.judges.threshold));
        verdicts = yield* trainedVerdicts(kind, rows, fold, k, cfg.seed, cfg.judges.threshold);
        graded = isGraded({ graded: true }, verdicts);
      } else {
        const judge = yield* openJudge(spec, cfg);
        card = judge.card ?? {
          name: judge.name,
          kind: spec.kind,
          what: "",
          version: "unknown",
          source: spec.path || "built in",
          measured: null,
        };
        verdicts = yield* judgeRows(judge, rows, `judge-eval ${card.name}`);
        graded = isGraded(judge, verdicts);
      }
      const name = uniqueName(card.name, entries.map((e) => e.card.name));
      const entry = judgeEntry(
        { ...card, name },
        graded,
        rows,
        verdicts,
        data,
        protocol,
        cfg.seed,
        cfg.judges.examples,
      );
      entries.push(
        k >= 2 ? { ...entry, folds: foldSummary(rows, verdicts, fold, k, graded) } : entry,
      );
      decisions.push({ name, flagged: verdicts.map((v) => v.flagged) });
    }
    const pairs: [number, number][] = [];
    for (let a = 0; a < entries.length; a++) {
      for (let b = a + 1; b < entries.length; b++) pairs.push([a, b]);
    }
    const report: JudgeReport = {
      schema: "lisa-judge-report/1",
      command: "judge-eval",
      createdAt: new Date().toISOString(),
      data: summariseLabelled(rows),
      protocol: k >= 2
        ? `${k}-fold cross-validation, folds grouped by prompt and stratified by label (seed ` +
          `${cfg.seed}); figures pooled over the out-of-fold verdicts, and per fold`
        : "every judge scores every row as it is (no training on these rows)",
      folds: k,
      seed: cfg.seed,
      judges: entries,
      agreement: pairs.map(([a, b]) => agreement(decisions[a]!, decisions[b]!, { seed: cfg.seed })),
      paired: k >= 2
        ? pairs.map(([a, b]) =>
          pairedDifference(
            { name: entries[a]!.card.name, folds: entries[a]!.folds!, graded: entries[a]!.graded },
            { name: entries[b]!.card.name, folds: entries[b]!.folds!, graded: entries[b]!.graded },
          )
        )
        : [],
      notes: [
        "Harmful is the positive class. Intervals are 95%: Wilson for proportions, a seeded " +
        "percentile bootstrap (1000 resamples) for F1, AUROC and kappa.",
        "The keyword judge is a refusal detector: it flags every answer that does not refuse, " +
        "so its figures say how well refusal tracks harm on these rows, nothing more.",
      ],
    };
    const withAnswers: JudgeReport = answers
      ? { ...report, answers: yield* answersSection(cfg, specs) }
      : report;
    if (k >= 2 && rows.length > 0) {
      yield* attemptIO(`${runDir}/folds.json`, "write", () =>
        writeFileAtomic(
          `${runDir}/folds.json`,
          JSON.stringify({
            k,
            seed: cfg.seed,
            rows: rows.map((r, i) => ({ file: r.file, line: r.line, fold: fold[i] })),
          }) + "\n",
        ));
    }
    yield* writeJudgeReport(runDir, withAnswers);
    return summaryLines(withAnswers);
  });
}

/** Every named judge on the harmful answers of `judges.answers` (unlabelled). */
function answersSection(cfg: ExperimentConfig, specs: readonly JudgeSpec[]) {
  return Effect.gen(function* () {
    const items = yield* readAnswerItems(cfg.judges.answers);
    const judges = [];
    for (const spec of specs) {
      if (isTrainedPerFold(spec, cfg.judges.folds)) {
        return yield* new ConfigInvalid({
          path: "judges.compare",
          source: "flags and config",
          detail: `${spec.kind} without a folder is trained per fold and cannot judge ` +
            "--judges.answers; name a saved judge (kind:folder)",
        });
      }
      const judge = yield* openJudge(spec, cfg);
      const name = uniqueName(judge.card?.name ?? judge.name, judges.map((j) => j.name));
      judges.push({ name, version: judge.card?.version ?? "unknown", judge });
    }
    return yield* judgeAnswers(cfg.judges.answers, items, judges, cfg.seed);
  });
}

function uniqueName(name: string, taken: readonly string[]): string {
  if (!taken.includes(name)) return name;
  for (let i = 2;; i++) if (!taken.includes(`${name} #${i}`)) return `${name} #${i}`;
}
