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
import type { Judge, JudgeCard } from "../eval/mod.ts";
import type { Params } from "../model/mod.ts";
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
import { type Datasets, loadDatasets, userData } from "./datasets.ts";
import { enterRunDir } from "./experiment.ts";
import { alignPhase, finetunePhase } from "./phases.ts";
import { evalDir } from "./rows.ts";
import type { RunDirPlan } from "./rundir.ts";
import { COMPOSITION_NOTE, runResult } from "./report.ts";
import type { Backend } from "../../backends/mod.ts";
import { attemptIO, makeDir, writeJsonFile } from "../io/mod.ts";
import type { PipelineError } from "./experiment.ts";
import { acquireMethod, type LoadedLm } from "./stages.ts";
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

/** The cells that share `c`'s aligned model: the same seed and alignment method. */
export function groupCells(
  cells: readonly SweepCell[],
  c: Pick<SweepCell, "seed" | "alignment">,
): SweepCell[] {
  return cells.filter((x) => x.seed === c.seed && x.alignment === c.alignment);
}

/** Whether the cells of one (seed, alignment method) group need their aligned model. */
export function groupNeedsAlignment(
  cfg: ExperimentConfig,
  cells: readonly SweepCell[],
): boolean {
  return cfg.alignment.enabled && cells.some((c) => methodSpec(c.method).needsAlignedModel);
}

/** A cell's folder in the sweep folder `dir`. */
export function cellDir(cfg: ExperimentConfig, dir: string, c: SweepCell): string {
  return `${alignmentDir(cfg, dir, c.seed, c.alignment)}/${cellName(c)}`;
}

/** The data every cell draws from: the grid's largest n and p, so mixtures share one pool. */
function sweepDatasets(cfg: ExperimentConfig, cells: readonly SweepCell[]) {
  const maxN = Math.max(...cells.map((c) => c.n));
  const maxP = Math.max(...cells.map((c) => c.p));
  return loadDatasets({ ...cfg, data: { ...cfg.data, n: maxN, p: maxP } });
}

/**
 * Check every cell before anything trains: every alignment method's and cell method's options
 * (built and freed), every repair and its data, and every cell's user data mixture (a file with
 * fewer rows than a cell's n fails now, by name).
 */
function checkCells(cfg: ExperimentConfig, cells: readonly SweepCell[], ds: Datasets) {
  return Effect.gen(function* () {
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
    yield* Effect.forEach(cells, (c) => userData(cellConfig(cfg, c), ds, c.method), {
      discard: true,
    });
  });
}

/**
 * The aligned model of the group `mine` (one seed and alignment method) in the sweep folder
 * `dir`: trained (or resumed, or read back) with the group's first cell's config, with the
 * seconds its training took; or the base weights when the group needs none. Owned by the
 * caller's scope.
 */
function groupAligned(
  cfg: ExperimentConfig,
  dir: string,
  mine: readonly SweepCell[],
  lm: LoadedLm,
  ds: Datasets,
) {
  return Effect.gen(function* () {
    if (!groupNeedsAlignment(cfg, mine)) return { aligned: lm.params, alignSeconds: undefined };
    const { seed, alignment } = mine[0]!;
    const base = alignmentDir(cfg, dir, seed, alignment);
    const phase = yield* alignPhase(cellConfig(cfg, mine[0]!), lm, ds, base);
    return { aligned: phase.aligned, alignSeconds: phase.train.seconds };
  });
}

/**
 * Fine-tune and evaluate one cell on `aligned` (or the base), apply each repair of the sweep,
 * and read back one run result per repair.
 */
function cellPhase(
  cfg: ExperimentConfig,
  dir: string,
  c: SweepCell,
  on: {
    lm: LoadedLm;
    ds: Datasets;
    judge: Judge;
    aligned: Params;
    alignSeconds: number | undefined;
  },
): Effect.Effect<RunResult[], PipelineError, Backend> {
  return Effect.gen(function* () {
    const { lm, ds, judge, aligned, alignSeconds } = on;
    const cc = cellConfig(cfg, c);
    const cdir = cellDir(cfg, dir, c);
    const onBase = !methodSpec(c.method).needsAlignedModel || aligned === lm.params;
    const frozen = onBase ? lm.params : aligned;
    const frozenDir = onBase
      ? modelDir(cfg)
      : `${alignmentDir(cfg, dir, c.seed, c.alignment)}/aligned`;
    const rows = yield* finetunePhase(
      cc,
      lm,
      ds,
      judge,
      frozen,
      c.method,
      cdir,
      frozenDir,
      sweepRepairs(cfg),
    );
    const runs: RunResult[] = [];
    for (const row of rows) {
      runs.push(
        yield* attemptIO(
          cdir,
          "read the training logs of",
          () => runResult(cc, row, `${cdir}/train`, onBase ? 0 : alignSeconds),
        ),
      );
    }
    return runs;
  });
}

/**
 * Check every input of the sweep (the data of its largest cell, every method's options, every
 * repair, every cell's mixture, the model, the judge) without training, then make the planned
 * run folder (or take the one given) and record what it trains on; returns the folder.
 */
export function checkSweep(
  cfg: ExperimentConfig,
  target: string | RunDirPlan,
): Effect.Effect<string, PipelineError, Backend> {
  return Effect.scoped(Effect.gen(function* () {
    const cells = sweepCells(cfg);
    const ds = yield* sweepDatasets(cfg, cells);
    yield* checkCells(cfg, cells, ds);
    yield* loadLm(modelDir(cfg));
    yield* loadJudge(cfg);
    // The data files whole: a resumed sweep may widen n or p and so read more rows.
    return yield* enterRunDir(cfg, target, null, "sweep");
  }));
}

/**
 * The alignment stage of one (seed, alignment method) group of the sweep in `dir`, on its own
 * (a worker process or a cluster runner runs it): resumes from its checkpoint, or returns at
 * once when finished.
 */
export function alignSweepGroup(
  cfg: ExperimentConfig,
  dir: string,
  group: Pick<SweepCell, "seed" | "alignment">,
): Effect.Effect<void, PipelineError, Backend> {
  return Effect.scoped(Effect.gen(function* () {
    const cells = sweepCells(cfg);
    const ds = yield* sweepDatasets(cfg, cells);
    const lm = yield* loadLm(modelDir(cfg));
    yield* groupAligned(cfg, dir, groupCells(cells, group), lm, ds);
  }));
}

/**
 * One cell of the sweep in `dir`, on its own: the same data, model and judge as
 * {@link runSweep} gives it, its group's aligned model (trained first when missing), then the
 * fine-tuning, each repair and the evaluations, resumed from the newest checkpoint or reused
 * when finished. One run result per repair.
 */
export function runSweepCell(
  cfg: ExperimentConfig,
  dir: string,
  c: SweepCell,
): Effect.Effect<RunResult[], PipelineError, Backend> {
  return Effect.scoped(Effect.gen(function* () {
    const cells = sweepCells(cfg);
    const ds = yield* sweepDatasets(cfg, cells);
    const lm = yield* loadLm(modelDir(cfg));
    const judge = yield* loadJudge(cfg);
    const group = methodSpec(c.method).needsAlignedModel
      ? yield* groupAligned(cfg, dir, groupCells(cells, c), lm, ds)
      : { aligned: lm.params, alignSeconds: undefined };
    return yield* cellPhase(cfg, dir, c, { lm, ds, judge, ...group });
  }));
}

/**
 * Write the sweep's `report.*` and `metrics.json` from its finished cells; returns the
 * markdown tables (mean ± std over seeds).
 */
export function writeSweepReport(
  cfg: ExperimentConfig,
  dir: string,
  runs: readonly RunResult[],
  judgeCard: JudgeCard | undefined,
): Effect.Effect<string, PipelineError> {
  return Effect.gen(function* () {
    const sweep = sweptVariable(cfg);
    const out = evalDir(cfg, dir);
    yield* makeDir(out);
    yield* writeReport(out, {
      title: `Sweep: ${cfg.data.task}${sweep ? ` over ${sweep}` : ""} (${cfg.eval.split} split)`,
      judge: judgeCard?.name ?? cfg.eval.judge,
      ...(judgeCard ? { judgeCard } : {}),
      runs: [...runs],
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

/**
 * Run (or resume) the sweep in `target` (a folder, or a {@link RunDirPlan} made only once the
 * inputs pass their checks) in this process; writes `report.*` and returns the markdown
 * summary. Every cell's method is built (and its options checked), every alignment method and
 * repair checked, and every cell's user data mixed before anything trains; the model belongs
 * to the sweep's scope and each (seed, alignment method)'s aligned model to its cells'. Cells
 * already finished (by an earlier run, worker processes or cluster runners) are read back, not
 * trained again.
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
      const ds = yield* sweepDatasets(cfg, cells);
      yield* checkCells(cfg, cells, ds);
      const lm = yield* loadLm(modelDir(cfg));
      const judge = yield* loadJudge(cfg);
      // The data files whole: a resumed sweep may widen n or p and so read more rows.
      dir = yield* enterRunDir(cfg, target, null, "sweep");
      // One aligned model per (seed, alignment method), freed once its cells are done.
      const groups = [...new Set(cells.map((c) => `${c.seed}/${c.alignment}`))];
      for (const group of groups) {
        const mine = cells.filter((c) => `${c.seed}/${c.alignment}` === group);
        yield* Effect.scoped(Effect.gen(function* () {
          const group = yield* groupAligned(cfg, dir, mine, lm, ds);
          for (const c of mine) {
            runs.push(...(yield* cellPhase(cfg, dir, c, { lm, ds, judge, ...group })));
          }
        }));
      }
      return judge.card;
    }));
    return yield* writeSweepReport(cfg, dir, runs, judgeCard);
  });
}
