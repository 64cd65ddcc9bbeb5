/**
 * `run` and `sweep` with worker processes: check every input here first (a bad input fails in
 * seconds, before any worker starts), run the independent phases in workers, then run the
 * serial pipeline in this process, which finds every phase finished and only collects the
 * metrics and writes the report. With one worker (or one phase) nothing is spawned. Each
 * phase computes exactly what it computes in a serial run (same seeds, same data, the aligned
 * model read back bit for bit), so the results are the same.
 *
 * @module
 */
import { Effect } from "effect";
import type { Backend } from "../../backends/mod.ts";
import type { ExperimentConfig } from "../config/mod.ts";
import {
  checkSweep,
  enterRunDir,
  type ExperimentResult,
  groupCells,
  groupNeedsAlignment,
  type PipelineError,
  prepareExperiment,
  type RunDirPlan,
  runPhasesOf,
  runPipeline,
  runSweep,
  sweepCells,
} from "../pipeline/mod.ts";
import { methodSpec } from "../train/mod.ts";
import { jobLabel, type PhaseJob } from "./job.ts";
import { runInWorkers, type ScheduledJob, type WorkerFailed } from "./pool.ts";

/** The jobs of `run` in `dir`: one per phase, with the phases each waits for. */
export function runJobs(cfg: ExperimentConfig, dir: string): ScheduledJob[] {
  return runPhasesOf(cfg).map((p) => ({
    id: p.name,
    after: p.after,
    job: { kind: "run-phase", config: cfg, dir, phase: p.name } satisfies PhaseJob,
  }));
}

/**
 * The jobs of a sweep in `dir`: each (seed, alignment method) group's alignment, then every
 * cell after its group's.
 */
export function sweepJobs(cfg: ExperimentConfig, dir: string): ScheduledJob[] {
  const cells = sweepCells(cfg);
  const jobs: ScheduledJob[] = [];
  const aligning = new Map<string, string>();
  for (const c of cells) {
    const key = `${c.seed}/${c.alignment}`;
    if (aligning.has(key) || !groupNeedsAlignment(cfg, groupCells(cells, c))) continue;
    const job: PhaseJob = {
      kind: "sweep-align",
      config: cfg,
      dir,
      group: { seed: c.seed, alignment: c.alignment },
    };
    aligning.set(key, jobLabel(job));
    jobs.push({ id: jobLabel(job), after: [], job });
  }
  for (const cell of cells) {
    const group = aligning.get(`${cell.seed}/${cell.alignment}`);
    const waits = group !== undefined && methodSpec(cell.method).needsAlignedModel;
    const job: PhaseJob = { kind: "sweep-cell", config: cfg, dir, cell };
    jobs.push({ id: jobLabel(job), after: waits ? [group] : [], job });
  }
  return jobs;
}

/**
 * The `run` command with up to `workers` worker processes for its independent phases (the
 * base model's evaluation beside the alignment; then the aligned model's evaluation and
 * every fine-tune side by side).
 */
export function runPipelineInWorkers(
  cfg: ExperimentConfig,
  target: string | RunDirPlan,
  workers: number,
): Effect.Effect<ExperimentResult, PipelineError | WorkerFailed, Backend> {
  return Effect.gen(function* () {
    if (workers > 1 && runPhasesOf(cfg).length > 1) {
      const dir = yield* Effect.scoped(Effect.gen(function* () {
        const prep = yield* prepareExperiment(cfg, "run");
        return yield* enterRunDir(cfg, target, prep.ds, "run");
      }));
      yield* runInWorkers(runJobs(cfg, dir), workers);
      return yield* runPipeline(cfg, dir, "run");
    }
    return yield* runPipeline(cfg, target, "run");
  });
}

/**
 * A sweep with up to `workers` worker processes: the aligned models side by side, then the
 * cells.
 */
export function runSweepInWorkers(
  cfg: ExperimentConfig,
  target: string | RunDirPlan,
  workers: number,
): Effect.Effect<string, PipelineError | WorkerFailed, Backend> {
  return Effect.gen(function* () {
    if (workers > 1 && sweepJobs(cfg, "").length > 1) {
      const dir = yield* checkSweep(cfg, target);
      yield* runInWorkers(sweepJobs(cfg, dir), workers);
      return yield* runSweep(cfg, dir);
    }
    return yield* runSweep(cfg, target);
  });
}
