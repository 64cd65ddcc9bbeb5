/**
 * The plain records reports are made of: one {@link RunResult} per (method, setting, seed) run,
 * with its metrics and per-step logs, gathered into a {@link ReportInput}.
 *
 * @module
 */
import type { JudgeCard } from "../eval/judge_card.ts";

/** The two Bi-State Optimization states. */
export type TrainState = "alignment" | "finetune";

/** One optimizer step's training loss. */
export interface StepLog {
  /** Global optimizer step, from 0. */
  readonly step: number;
  /** Which state the step belonged to. */
  readonly state: TrainState;
  /** Training loss of the step (the data loss; the proximal term is logged apart). */
  readonly loss: number;
  /** Norm of the data gradient before clipping (absent in older logs). */
  readonly dataGradNorm?: number;
  /** Norm of the proximal gradient `rho (w - anchor)` before clipping (0 when off). */
  readonly proximalGradNorm?: number;
}

/** Drift at one state switch (the paper's excess-drift diagnostic). */
export interface DriftLog {
  /** Switch number, from 1. */
  readonly switchIndex: number;
  /** Global step at which the switch happened. */
  readonly step: number;
  /** The state that just ended. */
  readonly from: TrainState;
  /** `||w_ft_end - w_align_end||^2`: squared distance moved in the state just finished. */
  readonly drift: number;
  /** Optional stationarity: norm of the sum of the two datasets' mean gradients. */
  readonly gradNorm?: number;
}

/** A 95% interval of a percentage (see `wilsonInterval`). */
export interface PercentInterval {
  /** Lower bound, percent. */
  readonly lo: number;
  /** Upper bound, percent. */
  readonly hi: number;
}

/** One finished run: its settings, its metrics and its logs. */
export interface RunResult {
  /** Defense name, e.g. `SFT`, `BSO`, `Lisa`. */
  readonly method: string;
  /** Fine-tuning task, e.g. `sst2`. */
  readonly task: string;
  /** Harmful ratio p. */
  readonly p: number;
  /** Fine-tuning samples n. */
  readonly n: number;
  /** Proximal strength rho (0 for BSO, unused for SFT). */
  readonly rho: number;
  /** Alignment steps per cycle, K1. */
  readonly K1: number;
  /** Fine-tune steps per cycle, K2. */
  readonly K2: number;
  /** Seed of the run. */
  readonly seed: number;
  /** Harmful score, percent. */
  readonly HS: number;
  /** Fine-tune accuracy, percent. */
  readonly FA: number;
  /** HS+ (incoherent answers counted harmful), percent. */
  readonly HSPlus?: number;
  /** Incoherent answers to the harmful prompts, percent. */
  readonly incoherenceRate?: number;
  /** Refusal rate on the harmful prompts, percent. */
  readonly refusalRate?: number;
  /** HS per category, percent. */
  readonly byCategory?: Readonly<Record<string, number>>;
  /** 95% intervals of this run's HS, FA and HS+ over its evaluation prompts. */
  readonly intervals?: {
    readonly HS?: PercentInterval;
    readonly FA?: PercentInterval;
    readonly HSPlus?: PercentInterval;
  };
  /** Harmful prompts and task prompts the run was evaluated on. */
  readonly harmfulN?: number;
  /** Task prompts answered (for the FA interval). */
  readonly taskN?: number;
  /** Wall-clock seconds of the alignment stage behind the model (0 when it has none). */
  readonly alignSeconds?: number;
  /** Wall-clock seconds of the fine-tuning stage plus the repair, when there is one. */
  readonly trainSeconds?: number;
  /** Loss per optimizer step. */
  readonly steps?: readonly StepLog[];
  /** Drift per switch (and at the end of the run, for the last state). */
  readonly drift?: readonly DriftLog[];
  /**
   * Bi-State runs: the step the proximal term switches on for this schedule (for BSO, where
   * rho is 0, the step it would): states starting there or later are compared across methods.
   */
  readonly gateStep?: number;
}

/** The settings a sweep can vary; `K1:K2` varies the pair. */
export type SweepVariable = "p" | "n" | "rho" | "K1" | "K2" | "K1:K2";

/** Everything one report shows. */
export interface ReportInput {
  /** Report title. */
  readonly title: string;
  /** ISO time of creation; the writer fills it in when absent. */
  readonly createdAt?: string;
  /** Name of the judge behind HS (e.g. `classifier`, `http:llama-guard`). */
  readonly judge?: string;
  /** The judge's card: version, what its score means, its measurement on labelled data. */
  readonly judgeCard?: JudgeCard;
  /** The runs. */
  readonly runs: readonly RunResult[];
  /** When set, the runs form a sweep over this variable and the report plots HS/FA against it. */
  readonly sweep?: SweepVariable;
  /** Free notes shown under the title (plain text). */
  readonly notes?: readonly string[];
}
