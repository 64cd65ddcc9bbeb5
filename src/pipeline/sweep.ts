/**
 * The `sweep` command: a grid over alignment methods, fine-tuning methods, p, n, rho, K1:K2,
 * repair methods and seeds. One aligned model per (seed, alignment method) is trained once
 * and reused by every cell; each cell is a fine-tuning phase, whose adapter every repair
 * method then starts from, and whose finished metrics are kept, so an interrupted sweep
 * resumes with what is missing.
 *
 * @module
 */
import { Effect } from "effect";
import type { ExperimentConfig } from "../config/mod.ts";
import {
  aggregateRuns,
  type RunResult,
  summaryTable,
  sweepTable,
  type SweepVariable,
  writeReport,
} from "../report/mod.ts";
import { loadLm, modelDir } from "./assets.ts";
import { loadJudge } from "./judges.ts";
import { loadDatasets, userData } from "./datasets.ts";
import { enterRunDir } from "./experiment.ts";
import { alignPhase, finetunePhase } from "./phases.ts";
import { evalDir } from "./rows.ts";
import type { RunDirPlan } from "./rundir.ts";
import { COMPOSITION_NOTE, runResult } from "./report.ts";
import type { Backend } from "../../backends/mod.ts";
import { attemptIO, makeDir, writeJsonFile } from "../io/mod.ts";
import type { PipelineError } from "./experiment.ts";
import { acquireMethod } from "./stages.ts";
import { checkRepairData, checkRepairs } from "./repair.ts";
import type { RepairName } from "../repair/mod.ts";
import { type AlignmentMethodName, type FinetuneMethodName, methodSpec } from "../train/mod.ts";

/** One cell of the grid (a fine-tuning run; every repair method starts from its adapter). */
export interface SweepCell {
  /** The alignment-stage method of the aligned model it fine-tunes. */
  readonly alignment: AlignmentMethodName;
  /** The fine-tuning method. */
  readonly method: FinetuneMethodName;
  /** Harmful ratio p. */
  readonly p: number;
  /** User data size n. */
  readonly n: number;
  /** Lisa's proximal strength (0 for other methods). */
  readonly rho: number;
  /** K1:K2 (0:0 for methods without Bi-State Optimization). */
  readonly k: readonly [number, number];
  /** The run seed. */
  readonly seed: number;
}

const orDefault = <T>(xs: readonly T[], d: T): readonly T[] => (xs.length ? xs : [d]);

/**
 * The grid's cells in a fixed order. rho applies to Lisa only and K1:K2 to Lisa and BSO, so
 * other methods get one cell per (p, n, seed) rather than duplicates; a method that tunes the
 * base model (NA-SFT) gets one cell per seed whatever the alignment methods.
 */
export function sweepCells(cfg: ExperimentConfig): SweepCell[] {
  const s = cfg.sweep;
  const methods = cfg.method.compare.length ? cfg.method.compare : [cfg.method.name];
  const aligners = sweepAlignments(cfg);
  const ks = orDefault(
    s.k.map((x) => x.split(":").map(Number) as [number, number]),
    [cfg.method.alignmentSteps, cfg.method.finetuneSteps] as [number, number],
  );
  const cells: SweepCell[] = [];
  for (const seed of orDefault(s.seeds, cfg.seed)) {
    for (const alignment of aligners) {
      for (const method of methods) {
        const spec = methodSpec(method);
        if (!spec.needsAlignedModel && alignment !== aligners[0]) continue;
        for (const p of orDefault(s.p, cfg.data.p)) {
          for (const n of orDefault(s.n, cfg.data.n)) {
            for (const rho of spec.proximal ? orDefault(s.rho, cfg.method.rho) : [0]) {
              for (const k of spec.bistate ? ks : [[0, 0] as [number, number]]) {
                cells.push({ alignment, method, p, n, rho, k, seed });
              }
            }
          }
        }
      }
    }
  }
  return cells;
}

/** The alignment methods a sweep trains: `sweep.alignment`, or `alignment.method`. */
export function sweepAlignments(cfg: ExperimentConfig): readonly AlignmentMethodName[] {
  return orDefault(cfg.sweep.alignment, cfg.alignment.method);
}

/** The repair methods a sweep applies to every cell: `sweep.repair`, or `repair.method`. */
export function sweepRepairs(cfg: ExperimentConfig): readonly RepairName[] {
  return orDefault(cfg.sweep.repair, cfg.repair.method);
}

/**
 * The folder of a seed's aligned model and cells: `seed-<s>`, or `seed-<s>/alignment-<a>`
 * when the sweep varies the alignment method.
 */
export function alignmentDir(cfg: ExperimentConfig, dir: string, seed: number, a: string): string {
  return cfg.sweep.alignment.length ? `${dir}/seed-${seed}/alignment-${a}` : `${dir}/seed-${seed}`;
}

/** The swept variable for the report: the first with more than one value. */
export function sweptVariable(cfg: ExperimentConfig): SweepVariable | undefined {
  const s = cfg.sweep;
  if (s.p.length > 1) return "p";
  if (s.n.length > 1) return "n";
  if (s.rho.length > 1) return "rho";
  if (s.k.length > 1) return "K1:K2";
  return undefined;
}

/** A cell's config: the base config with the cell's values. */
export function cellConfig(cfg: ExperimentConfig, c: SweepCell): ExperimentConfig {
  return {
    ...cfg,
    seed: c.seed,
    alignment: { ...cfg.alignment, method: c.alignment },
    data: { ...cfg.data, p: c.p, n: c.n },
    method: {
      ...cfg.method,
      name: c.method,
      rho: methodSpec(c.method).proximal ? c.rho : cfg.method.rho,
      alignmentSteps: c.k[0] || cfg.method.alignmentSteps,
      finetuneSteps: c.k[1] || cfg.method.finetuneSteps,
    },
  };
}

/** The folder name of a cell. */
export function cellName(c: SweepCell): string {
  return `${c.method}-p${c.p}-n${c.n}-rho${c.rho}-k${c.k[0]}_${c.k[1]}`;
}

/**
 * Run (or resume) the sweep in `target` (a folder, or a {@link RunDirPlan} made only once the
 * inputs pass their checks); writes `report.*` and returns the markdown summary. Every cell's
 * method is built (and its options checked), every alignment method and repair checked, and
 * every cell's user data mixed before anything trains; the model belongs to the sweep's scope
 * and each (seed, alignment method)'s aligned model to its cells'.
 */
export function runSweep(
  cfg: ExperimentConfig,
  target: string | RunDirPlan,
): Effect.Effect<string, PipelineError, Backend> {
  return Effect.gen(function* () {
    const cells = sweepCells(cfg);
    const runs: RunResult[] = [];
    let dir = typeof target === "string" ? target : target.dir;
    const judgeCard = yield* Effect.scoped(Effect.gen(function* () {
      // Data for the largest n and p, so every cell's mixture draws from the same pool.
      const maxN = Math.max(...cells.map((c) => c.n));
      const maxP = Math.max(...cells.map((c) => c.p));
      const ds = yield* loadDatasets({ ...cfg, data: { ...cfg.data, n: maxN, p: maxP } });
      const repairs = sweepRepairs(cfg);
      yield* Effect.scoped(Effect.gen(function* () {
        for (const a of sweepAlignments(cfg)) {
          yield* acquireMethod(
            { ...cfg, alignment: { ...cfg.alignment, method: a } },
            a,
            "alignment",
          );
        }
        for (const c of cells) yield* acquireMethod(cellConfig(cfg, c), c.method, "finetune");
      }));
      yield* checkRepairs(cfg, "sweep", [...new Set(cells.map((c) => c.method))], repairs);
      yield* checkRepairData(cfg, ds, repairs);
      // Every cell's mixture (a file with fewer rows than a cell's n fails now, by name).
      yield* Effect.forEach(cells, (c) => userData(cellConfig(cfg, c), ds, c.method), {
        discard: true,
      });
      const lm = yield* loadLm(modelDir(cfg));
      const judge = yield* loadJudge(cfg);
      // The data files whole: a resumed sweep may widen n or p and so read more rows.
      dir = yield* enterRunDir(cfg, target, null, "sweep");
      // One aligned model per (seed, alignment method), freed once its cells are done.
      const groups = [...new Set(cells.map((c) => `${c.seed}/${c.alignment}`))];
      for (const group of groups) {
        const mine = cells.filter((c) => `${c.seed}/${c.alignment}` === group);
        const { seed, alignment } = mine[0]!;
        const base = alignmentDir(cfg, dir, seed, alignment);
        const needAlign = cfg.alignment.enabled &&
          mine.some((c) => methodSpec(c.method).needsAlignedModel);
        yield* Effect.scoped(Effect.gen(function* () {
          const phase = needAlign
            ? yield* alignPhase(cellConfig(cfg, mine[0]!), lm, ds, base)
            : null;
          const aligned = phase ? phase.aligned : lm.params;
          for (const c of mine) {
            const cc = cellConfig(cfg, c);
            const cdir = `${base}/${cellName(c)}`;
            const onBase = !methodSpec(c.method).needsAlignedModel || aligned === lm.params;
            const frozen = onBase ? lm.params : aligned;
            const frozenDir = onBase ? modelDir(cfg) : `${base}/aligned`;
            const rows = yield* finetunePhase(
              cc,
              lm,
              ds,
              judge,
              frozen,
              c.method,
              cdir,
              frozenDir,
              repairs,
            );
            for (const row of rows) {
              runs.push(
                yield* attemptIO(
                  cdir,
                  "read the training logs of",
                  () => runResult(cc, row, `${cdir}/train`, onBase ? 0 : phase?.train.seconds),
                ),
              );
            }
          }
        }));
      }
      return judge.card;
    }));
    const sweep = sweptVariable(cfg);
    const out = evalDir(cfg, dir);
    yield* makeDir(out);
    yield* writeReport(out, {
      title: `Sweep: ${cfg.data.task}${sweep ? ` over ${sweep}` : ""} (${cfg.eval.split} split)`,
      judge: judgeCard?.name ?? cfg.eval.judge,
      ...(judgeCard ? { judgeCard } : {}),
      runs,
      ...(sweep ? { sweep } : {}),
      notes: [COMPOSITION_NOTE],
    });
    const rows = aggregateRuns(runs);
    yield* writeJsonFile(`${out}/metrics.json`, { cells: runs.length, rows });
    const tables = sweep
      ? [
        `Harmful score (mean ± std over seeds)\n\n${sweepTable(rows, sweep, "HS")}`,
        `Fine-tune accuracy (mean ± std over seeds)\n\n${sweepTable(rows, sweep, "FA")}`,
      ]
      : [summaryTable(rows)];
    return tables.join("\n\n");
  });
}
