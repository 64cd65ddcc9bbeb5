/**
 * Re-scoring: the saved answers of finished runs and sweeps judged again by the configured
 * judge, without training or evaluating any model. HS, HS+, the refusal rate, HS per category
 * and their intervals are recomputed from each model's `answers.jsonl`; FA, the training logs
 * and the seconds are the recorded ones. A new report is written into a new folder, with a note
 * naming the judge and its version; the source folders are only read.
 *
 * @module
 */
import { Effect } from "effect";
import { basename, relative, resolve } from "node:path";
import { type ExperimentConfig, resolveConfig } from "../config/mod.ts";
import {
  BEAVERTAILS_CATEGORIES,
  type Judge,
  type JudgeError,
  type JudgeItem,
  summariseHarmful,
} from "../eval/mod.ts";
import { attemptIO, errorText, type IOFailed, writeAtomic, writeJsonFile } from "../io/mod.ts";
import {
  type ReportInput,
  type ReportWriteFailed,
  type RunResult,
  seedSummary,
  writeReport,
} from "../report/mod.ts";
import type { AssetInvalid } from "./assets.ts";
import { collectSweeps, type SweepsNotMergeable } from "./collect.ts";
import { incoherenceRule as incoherenceOf } from "./evaluate.ts";
import { loadJudge } from "./judges.ts";
import { COMPOSITION_NOTE, experimentReport } from "./report.ts";
import type { ModelRow } from "./rows.ts";
import { readRunMarker, RUN_MARKER } from "./rundir.ts";
import { harmfulAnswers, type RescoreInvalid, rescoreInvalid, runRows } from "./saved.ts";
import { sweptVariable } from "./sweep.ts";

/** Everything that can stop a re-scoring. */
export type RescoreError =
  | RescoreInvalid
  | SweepsNotMergeable
  | AssetInvalid
  | JudgeError
  | IOFailed
  | ReportWriteFailed;

/** One model's figures before and after re-judging. */
export interface RescoredRow {
  /** The row's label (composition). */
  readonly model: string;
  /** Its seed. */
  readonly seed: number;
  /** The folder holding its answers, relative to the source folder's parent. */
  readonly dir: string;
  /** Harmful answers judged. */
  readonly n: number;
  /** Flagged answers before (as recorded) and after. */
  readonly flagged: { readonly before: number; readonly after: number };
  /** HS before and after, percent. */
  readonly HS: { readonly before: number; readonly after: number };
  /** HS+ before and after, percent. */
  readonly HSPlus: { readonly before: number; readonly after: number };
}

/** An answer whose verdict changed. */
export interface Flip {
  /** The row's label. */
  readonly model: string;
  /** Its seed. */
  readonly seed: number;
  /** The folder holding the answer, relative to the source folder's parent. */
  readonly dir: string;
  /** The prompt as the judge read it. */
  readonly prompt: string;
  /** The saved answer. */
  readonly answer: string;
  /** Flagged as recorded. */
  readonly before: boolean;
  /** Flagged now. */
  readonly after: boolean;
}

/** What a re-scoring wrote. */
export interface RescoreResult {
  /** Every re-judged model, in report order. */
  readonly rows: readonly RescoredRow[];
  /** Answers whose verdict changed. */
  readonly flips: readonly Flip[];
  /** The judge's name and version. */
  readonly judge: { readonly name: string; readonly version: string };
}

/** The files a re-scoring writes into its (new or empty) output folder. */
export const RESCORE_FILES: readonly string[] = [
  "report.json",
  "report.md",
  "report.html",
  "summary.json",
  "rescore.json",
  "flips.jsonl",
];

const invalid = rescoreInvalid;

/**
 * A recorded row with its harmful answers judged again by `judge`: HS, HS+, the incoherence
 * and refusal rates, HS per category and their intervals recomputed; the rest kept. The
 * answers whose verdict changed are appended to `flips`, the before/after figures to `rows`.
 */
export function rejudgeRow(
  cfg: ExperimentConfig,
  row: ModelRow,
  dir: string,
  judge: Judge,
  sink: { rows: RescoredRow[]; flips: Flip[]; root: string },
): Effect.Effect<ModelRow, RescoreInvalid | JudgeError> {
  return Effect.gen(function* () {
    const saved = yield* harmfulAnswers(dir);
    if (row.harmfulN !== undefined && saved.length !== row.harmfulN) {
      return yield* invalid(
        `${dir}/answers.jsonl`,
        `holds ${saved.length} harmful-prompt answers, metrics.json says ${row.harmfulN}`,
      );
    }
    const items: JudgeItem[] = saved.map((r) => ({
      prompt: r.judgePrompt ?? r.prompt,
      answer: r.answer,
    }));
    const verdicts = yield* judge.judge(items);
    const h = summariseHarmful(items, verdicts, BEAVERTAILS_CATEGORIES, incoherenceOf(cfg));
    const before = saved.filter((r) => r.flagged === true).length;
    const after = verdicts.filter((v) => v.flagged).length;
    saved.forEach((r, i) => {
      const now = verdicts[i]!.flagged;
      if ((r.flagged === true) !== now) {
        sink.flips.push({
          model: row.label,
          seed: cfg.seed,
          dir: relative(sink.root, dir),
          prompt: items[i]!.prompt,
          answer: r.answer,
          before: r.flagged === true,
          after: now,
        });
      }
    });
    sink.rows.push({
      model: row.label,
      seed: cfg.seed,
      dir: relative(sink.root, dir),
      n: saved.length,
      flagged: { before, after },
      HS: { before: row.harmfulScore, after: h.harmfulScore },
      HSPlus: { before: row.harmfulScorePlus, after: h.harmfulScorePlus },
    });
    return {
      ...row,
      harmfulScore: h.harmfulScore,
      harmfulScorePlus: h.harmfulScorePlus,
      incoherenceRate: h.incoherenceRate,
      incoherenceRule: h.incoherenceRule,
      ...(h.meanOovFraction !== undefined ? { meanOovFraction: h.meanOovFraction } : {}),
      refusalRate: h.refusalRate,
      byCategory: h.byCategory,
      harmfulN: h.n,
      intervals: { ...h.intervals, finetuneAccuracy: row.intervals.finetuneAccuracy },
    };
  });
}

/** Refuse an output folder that exists with anything in it, or lies inside a source folder. */
function checkOut(out: string, sources: readonly string[]): Effect.Effect<void, RescoreInvalid> {
  return Effect.gen(function* () {
    const o = resolve(out);
    for (const s of sources) {
      const rel = relative(resolve(s), o);
      if (rel === "" || (!rel.startsWith("..") && !rel.startsWith("/"))) {
        return yield* invalid(out, `is inside the source folder ${s}, which rescore only reads`);
      }
    }
    const names: string[] = [];
    try {
      for (const e of Deno.readDirSync(out)) names.push(e.name);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      return yield* invalid(out, `cannot be read: ${errorText(e)}`);
    }
    if (names.length > 0) {
      return yield* invalid(
        out,
        `already holds files (${names.slice(0, 3).join(", ")}); rescore never overwrites: ` +
          "choose a new or empty folder",
      );
    }
  });
}

/** Options of {@link rescore}. */
export interface RescoreOptions {
  /** Which split's answers to judge (default: each folder's `eval.split`). */
  readonly split?: ExperimentConfig["eval"]["split"];
}

/**
 * Judge the saved answers of `sources` again with the configured judge (the first folder's
 * `eval.judge`) and write a new report into `out`: one run folder, or one or more sweep folders
 * (merged as `merge-sweeps` merges them). Fails before writing anything when a folder is not a
 * run or sweep, an answer file is missing or damaged, or `out` is not new or empty.
 */
export function rescore(
  out: string,
  sources: readonly string[],
  opts: RescoreOptions = {},
): Effect.Effect<RescoreResult, RescoreError> {
  return Effect.gen(function* () {
    if (sources.length === 0) return yield* invalid("--runs", "no folder given");
    const markers = [];
    for (const s of sources) {
      const m = readRunMarker(s);
      if (!m) {
        return yield* invalid(s, `not a run or sweep folder (it has no ${RUN_MARKER})`);
      }
      markers.push(m);
    }
    const sweeps = markers.filter((m) => m.label === "sweep").length;
    if (sweeps !== sources.length && sources.length > 1) {
      return yield* invalid(
        sources.join(","),
        "give one run folder, or one or more sweep folders; not both",
      );
    }
    yield* checkOut(out, sources);
    const configFile = `${sources[0]}/config.json`;
    const recorded = yield* Effect.mapError(
      resolveConfig({ configFile }),
      (e) => invalid(configFile, e.message),
    );
    const cfg: ExperimentConfig = opts.split
      ? { ...recorded, eval: { ...recorded.eval, split: opts.split } }
      : recorded;
    const judge = yield* loadJudge(cfg);
    const card = judge.card;
    const version = card?.version ?? "unversioned";
    const sink = {
      rows: [] as RescoredRow[],
      flips: [] as Flip[],
      root: resolve(sources[0]!, ".."),
    };
    const names = sources.map((s) => basename(resolve(s)));
    const note = `Re-scored: HS, HS+, the refusal rate and their intervals were recomputed from ` +
      `the answers saved in ${names.join(", ")} (${cfg.eval.split} split) by the judge ` +
      `${card?.name ?? judge.name} (version ${version}); no model was trained or evaluated ` +
      "again: FA, the training logs and the seconds are as recorded, and the source folders' " +
      "own reports are unchanged.";
    let input: ReportInput;
    let runs: readonly RunResult[];
    if (sweeps === sources.length) {
      const merged = yield* collectSweeps(sources, {
        ...(opts.split ? { split: opts.split } : {}),
        mapRow: (cc, row, dir) => rejudgeRow(cc, row, dir, judge, sink),
      });
      if (merged.runs.length === 0) {
        return yield* invalid(
          sources.join(","),
          `no evaluated cell on the ${cfg.eval.split} split`,
        );
      }
      runs = merged.runs;
      const sweep = sources.length === 1 ? sweptVariable(cfg) : undefined;
      input = {
        title: `Re-scored ${sources.length === 1 ? "sweep" : "sweeps"}: ${cfg.data.task}` +
          `${sweep ? ` over ${sweep}` : ""} (${cfg.eval.split} split)`,
        judge: card?.name ?? judge.name,
        ...(card ? { judgeCard: card } : {}),
        runs: [...runs],
        ...(sweep ? { sweep } : {}),
        notes: [note, COMPOSITION_NOTE],
      };
    } else {
      const rows: ModelRow[] = [];
      for (const { row, dir } of yield* runRows(cfg, sources[0]!)) {
        rows.push(yield* rejudgeRow(cfg, row, dir, judge, sink));
      }
      const base = yield* attemptIO(
        sources[0]!,
        "read the training logs of",
        () => experimentReport(cfg, sources[0]!, rows, card),
      );
      runs = base.runs;
      input = { ...base, title: `Re-scored: ${base.title}`, notes: [note, ...(base.notes ?? [])] };
    }
    yield* writeReport(out, input);
    const result: RescoreResult = {
      rows: sink.rows,
      flips: sink.flips,
      judge: { name: card?.name ?? judge.name, version },
    };
    yield* writeJsonFile(`${out}/summary.json`, {
      split: cfg.eval.split,
      task: cfg.data.task,
      judge: result.judge,
      rows: seedSummary(runs),
    });
    yield* writeJsonFile(`${out}/rescore.json`, {
      sources: names,
      split: cfg.eval.split,
      judge: result.judge,
      rows: result.rows,
    });
    yield* writeAtomic(
      `${out}/flips.jsonl`,
      result.flips.map((f) => JSON.stringify(f) + "\n").join(""),
    );
    return result;
  });
}
