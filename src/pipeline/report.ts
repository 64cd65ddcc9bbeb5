/**
 * From a finished run (or sweep) to the report's input: one {@link RunResult} per evaluated
 * model, with its per-step losses and drift read back from the training logs.
 *
 * @module
 */
import type { ExperimentConfig } from "../config/mod.ts";
import type { JudgeCard } from "../eval/mod.ts";
import type { DriftLog, ReportInput, RunResult, StepLog } from "../report/mod.ts";
import { proximalGateStep, stateAt } from "../train/mod.ts";
import type { ModelRow } from "./rows.ts";
import { isMethodName, type LisaState, methodSpec } from "../train/mod.ts";

/** The lines of a JSONL log (none when the file does not exist). */
export async function readJsonl<T>(path: string): Promise<T[]> {
  try {
    const text = await Deno.readTextFile(path);
    return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as T);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

/**
 * The report record of one evaluated model; `trainDir` holds its `log.jsonl`/`drift.jsonl`,
 * `alignSeconds` the alignment stage's seconds when the model was tuned from its result.
 */
export async function runResult(
  cfg: ExperimentConfig,
  r: ModelRow,
  trainDir: string | null,
  alignSeconds?: number,
): Promise<RunResult> {
  const method = r.method ?? r.label;
  const spec = isMethodName(method) ? methodSpec(method) : null;
  const bistate = spec?.bistate ?? false;
  const steps = trainDir
    ? (await readJsonl<StepLog>(`${trainDir}/log.jsonl`)).map((l) => ({
      step: l.step,
      state: l.state,
      loss: l.loss,
      ...(l.dataGradNorm !== undefined ? { dataGradNorm: l.dataGradNorm } : {}),
      ...(l.proximalGradNorm !== undefined ? { proximalGradNorm: l.proximalGradNorm } : {}),
    }))
    : [];
  const drift: DriftLog[] = trainDir
    ? (await readJsonl<{ step: number; finished: DriftLog["from"]; drift: number }>(
      `${trainDir}/drift.jsonl`,
    )).map((d, i) => ({ switchIndex: i, step: d.step, from: d.finished, drift: d.drift }))
    : [];
  return {
    method: r.label,
    task: cfg.data.task,
    p: cfg.data.p,
    n: cfg.data.n,
    rho: spec?.proximal ? cfg.method.rho : 0,
    K1: bistate ? cfg.method.alignmentSteps : 0,
    K2: bistate ? cfg.method.finetuneSteps : 0,
    seed: cfg.seed,
    HS: r.harmfulScore,
    FA: r.finetuneAccuracy ?? Number.NaN,
    HSPlus: r.harmfulScorePlus,
    ...(r.incoherenceRate !== undefined ? { incoherenceRate: r.incoherenceRate } : {}),
    refusalRate: r.refusalRate,
    byCategory: r.byCategory,
    ...(r.intervals
      ? {
        intervals: {
          HS: r.intervals.harmfulScore,
          HSPlus: r.intervals.harmfulScorePlus,
          ...(r.intervals.finetuneAccuracy ? { FA: r.intervals.finetuneAccuracy } : {}),
        },
      }
      : {}),
    ...(r.harmfulN !== undefined ? { harmfulN: r.harmfulN, taskN: r.taskN } : {}),
    ...(alignSeconds === undefined ? {} : { alignSeconds }),
    trainSeconds: r.trainSeconds + (r.repairSeconds ?? 0),
    steps,
    drift,
    ...(bistate
      ? {
        gateStep: proximalGateStep(
          r.steps,
          cfg.method.proximalWarmup,
          (s) => stateAt(s, cfg.method.alignmentSteps, cfg.method.finetuneSteps),
        ),
      }
      : {}),
  };
}

/** The report input of a `run`: every evaluated model of one experiment. */
export async function experimentReport(
  cfg: ExperimentConfig,
  runDir: string,
  rows: readonly ModelRow[],
  judgeCard?: JudgeCard,
): Promise<ReportInput> {
  const runs: RunResult[] = [];
  for (const r of rows) {
    const trainDir = r.method ? `${runDir}/finetune-${r.method}/train` : null;
    runs.push(await runResult(cfg, r, trainDir));
  }
  return {
    title: `Harmful fine-tuning: ${cfg.data.task}, p = ${cfg.data.p}, n = ${cfg.data.n}`,
    judge: judgeCard?.name ?? cfg.eval.judge,
    ...(judgeCard ? { judgeCard } : {}),
    runs,
    notes: [
      `HS: % of held-out harmful prompts whose answer the judge flags ` +
      "(lower is better); FA: exact-match fine-tune accuracy (higher is better).",
      settingsNote(cfg, runs),
      ...(rows.some((r) => r.method !== null) ? [COMPOSITION_NOTE] : []),
    ],
  };
}

/**
 * The seed, and the Bi-State settings only where a reported row used them: K1:K2 when a row
 * alternated states (BSO, Lisa), rho when a row had the proximal term. An evaluation of models
 * that were not fine-tuned here names neither.
 */
export function settingsNote(cfg: ExperimentConfig, runs: readonly RunResult[]): string {
  const bistate = runs.some((r) => r.K1 > 0 || r.K2 > 0);
  const proximal = runs.some((r) => r.rho > 0);
  return `Seed ${cfg.seed}` +
    (bistate ? `; K1:K2 = ${cfg.method.alignmentSteps}:${cfg.method.finetuneSteps}` : "") +
    (proximal ? `, rho = ${cfg.method.rho}` : "") + ".";
}

/** How a fine-tuned row is labelled by its alignment, fine-tuning and repair methods. */
export const COMPOSITION_NOTE: string =
  "Fine-tuned rows are labelled alignment+fine-tuning+repair " +
  "(e.g. vaccine+lisa+safelora); SFT alignment and no repair are left out of the label, so " +
  "`lisa` is SFT-aligned, fine-tuned with Lisa, unrepaired.";

/**
 * A training stage's mean loss by state and its drift at every switch, read from its whole
 * log: the same for a stage that was interrupted and resumed as for one that never stopped.
 */
export async function stageLogSummary(trainDir: string): Promise<{
  meanLoss: Record<LisaState, number>;
  drift: Array<{ step: number; finished: string; drift: number }>;
}> {
  const log = await readJsonl<{ state: LisaState; loss: number }>(`${trainDir}/log.jsonl`);
  const mean = (s: LisaState) => {
    const ls = log.filter((l) => l.state === s).map((l) => l.loss);
    return ls.length ? ls.reduce((a, b) => a + b, 0) / ls.length : NaN;
  };
  const drift = await readJsonl<{ step: number; finished: string; drift: number }>(
    `${trainDir}/drift.jsonl`,
  );
  return {
    meanLoss: { alignment: mean("alignment"), finetune: mean("finetune") },
    drift: drift.map((d) => ({ step: d.step, finished: d.finished, drift: d.drift })),
  };
}
