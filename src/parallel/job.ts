/**
 * A phase job: one independent piece of an experiment (a phase of `run`, a sweep's aligned
 * model or one of its cells) that a worker process or a cluster runner executes on its own
 * backend.
 * A job names its run folder; everything it produces is written there exactly as a serial run
 * writes it, so the serial code that runs afterwards reads the results back instead of
 * training again.
 *
 * @module
 */
import { Effect } from "effect";
import type { Backend } from "../../backends/mod.ts";
import type { ExperimentConfig } from "../config/mod.ts";
import {
  alignSweepGroup,
  cellName,
  type PipelineError,
  runPhase,
  runSweepCell,
  type SweepCell,
} from "../pipeline/mod.ts";

/** One independent piece of work and the run folder it belongs to. */
export type PhaseJob =
  | {
    /** A phase of `run` (see `runPhasesOf`). */
    readonly kind: "run-phase";
    readonly config: ExperimentConfig;
    readonly dir: string;
    readonly phase: string;
  }
  | {
    /** The alignment stage of one (seed, alignment method) group of a sweep. */
    readonly kind: "sweep-align";
    readonly config: ExperimentConfig;
    readonly dir: string;
    readonly group: Pick<SweepCell, "seed" | "alignment">;
  }
  | {
    /** One cell of a sweep. */
    readonly kind: "sweep-cell";
    readonly config: ExperimentConfig;
    readonly dir: string;
    readonly cell: SweepCell;
  };

/** `seed-S/alignment-A/align`: the name of a (seed, alignment method) group's alignment job. */
export function groupJobName(g: Pick<SweepCell, "seed" | "alignment">): string {
  return `seed-${g.seed}/alignment-${g.alignment}/align`;
}

/** `seed-S/alignment-A/<cell>`: the name of a cell's job. */
export function cellJobName(c: SweepCell): string {
  return `seed-${c.seed}/alignment-${c.alignment}/${cellName(c)}`;
}

/**
 * A short name for progress lines and errors (`finetune-lisa`, `seed-1/alignment-sft/align`,
 * a cell).
 */
export function jobLabel(job: PhaseJob): string {
  switch (job.kind) {
    case "run-phase":
      return job.phase;
    case "sweep-align":
      return groupJobName(job.group);
    case "sweep-cell":
      return cellJobName(job.cell);
  }
}

/** Run a job in this process (on the provided backend). */
export function runJob(job: PhaseJob): Effect.Effect<void, PipelineError, Backend> {
  switch (job.kind) {
    case "run-phase":
      return runPhase(job.config, job.dir, job.phase);
    case "sweep-align":
      return alignSweepGroup(job.config, job.dir, job.group);
    case "sweep-cell":
      return Effect.asVoid(runSweepCell(job.config, job.dir, job.cell));
  }
}
