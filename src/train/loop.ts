/**
 * The training loop as an Effect program over a {@link makeTrainer} trainer: per step the
 * trainer refreshes anchors at a switch, draws the state's batch and runs {@link biStateStep};
 * the loop logs (when it has a run folder), reports progress (when a `Progress` layer is
 * provided), calls `onStep`, and checkpoints every N steps, at the end, and when it is
 * interrupted. A run resumes from its newest checkpoint and ends with the same weights as a
 * run that never stopped. Without `runDir` it runs in memory and writes nothing.
 *
 * The user data advances only in fine-tune steps and the alignment data only in alignment
 * steps. (The reference trainer also draws and discards a user batch in each alignment step;
 * we do not.)
 *
 * @module
 */
import { Effect, Stream } from "effect";
import type { Backend } from "../../backends/mod.ts";
import { appendLine, errorText, IOFailed, makeDir, writeJsonFile } from "../io/mod.ts";
import { loadNewestIntact, saveCheckpoint } from "./checkpoint.ts";
import {
  type CheckpointCorrupt,
  NonFiniteLoss,
  RunDirExists,
  type SourceExhausted,
  type TrainOptionInvalid,
} from "./errors.ts";
import type { Method } from "./methods/types.ts";
import type { TrainingProblem } from "./problem.ts";
import { Progress } from "./progress.ts";
import { squaredDistance } from "./proximal.ts";
import type { LisaState } from "./schedule.ts";
import type { StepRecord } from "./step.ts";
import {
  type DriftRecord,
  makeTrainer,
  type StepEvent,
  type TrainerOptions,
  type TrainSources,
} from "./trainer.ts";
import { validateTrainOptions } from "./validate.ts";

/** Loop options: the trainer's, plus where (and whether) the run is recorded. */
export interface TrainOptions extends TrainerOptions {
  /** Name shown on the progress bar (default: the method's name). */
  readonly label?: string;
  /** Folder of this run (log, drift, checkpoints); absent: the run stays in memory. */
  readonly runDir?: string;
  /** Save a checkpoint every N steps (default 0: only at the end and on interruption). */
  readonly checkpointEvery?: number;
  /** Checkpoints kept (default 2). */
  readonly keepCheckpoints?: number;
  /**
   * Continue the run in `runDir` from its newest intact checkpoint (the previous one when the
   * newest fails its checks), or from the start when it has none; the logs are cut back to
   * where it continues.
   */
  readonly resume?: boolean;
  /** Where warnings go (a skipped damaged checkpoint); default: `warning: ...` on stderr. */
  readonly onWarning?: (message: string) => void;
  /** Replace a run already in `runDir`. */
  readonly overwrite?: boolean;
  /** Stop after this many steps of this invocation, without a final checkpoint. */
  readonly haltAfter?: number;
  /** Recorded in `run.json` and every checkpoint (the resolved config). */
  readonly meta?: unknown;
  /** Called after every step (e.g. to collect records or stop a search early). */
  readonly onStep?: (event: StepEvent) => Effect.Effect<void>;
}

/** What a run returns. */
export interface TrainResult {
  /** Steps completed in total (including resumed ones). */
  readonly steps: number;
  /** The records of the steps run by this invocation. */
  readonly records: readonly StepRecord[];
  /** Drift at each switch of this invocation. */
  readonly drift: readonly DriftRecord[];
  /** Mean loss by state over this invocation's steps (NaN when a state had none). */
  readonly meanLoss: Readonly<Record<LisaState, number>>;
  /** The newest checkpoint written, if any. */
  readonly checkpoint: string | null;
}

/** Every failure a run can end with. */
export type TrainError =
  | TrainOptionInvalid
  | NonFiniteLoss
  | CheckpointCorrupt
  | RunDirExists
  | SourceExhausted
  | IOFailed;

function prepareRunDir(
  runDir: string,
  o: TrainOptions,
): Effect.Effect<void, RunDirExists | IOFailed> {
  return Effect.gen(function* () {
    const marker = `${runDir}/run.json`;
    const exists = yield* Effect.sync(() => {
      try {
        Deno.statSync(marker);
        return true;
      } catch {
        return false;
      }
    });
    if (exists && !o.resume && !o.overwrite) return yield* new RunDirExists({ dir: runDir });
    if (exists && o.overwrite && !o.resume) {
      yield* Effect.try({
        try: () => Deno.removeSync(runDir, { recursive: true }),
        catch: (e) => new IOFailed({ path: runDir, operation: "remove", reason: errorText(e) }),
      });
    }
    yield* makeDir(runDir);
    if (!exists || !o.resume) {
      const { onStep: _onStep, onWarning: _onWarning, ...options } = o;
      yield* writeJsonFile(marker, { options, meta: o.meta ?? null });
    }
  });
}

/** Keep only the log lines of steps before `step` (a resumed run rewrites what follows). */
function truncateLog(path: string, step: number): Effect.Effect<void, IOFailed> {
  return Effect.try({
    try: () => {
      let text: string;
      try {
        text = Deno.readTextFileSync(path);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return;
        throw e;
      }
      // A line cut short by a kill mid-append does not parse: it is dropped with what follows.
      const kept = text.split("\n").filter((l) => {
        try {
          return l !== "" && (JSON.parse(l) as { step: number }).step < step;
        } catch {
          return false;
        }
      });
      Deno.writeTextFileSync(path, kept.map((l) => l + "\n").join(""));
    },
    catch: (e) => new IOFailed({ path, operation: "rewrite", reason: errorText(e) }),
  });
}

const meanOf = (records: readonly StepRecord[], s: LisaState): number => {
  const ls = records.filter((r) => r.state === s).map((r) => r.loss);
  return ls.length ? ls.reduce((a, b) => a + b, 0) / ls.length : NaN;
};

/**
 * Train `problem` with `method` over `sources`. Progress goes to the `Progress` service when
 * one is provided, and nowhere otherwise.
 *
 * @example
 * ```ts
 * // In memory, records through a callback:
 * const result = yield* train(problem, lisa(), { alignment, user }, {
 *   totalSteps: 1000, lr: 1e-5, onStep: (e) => Effect.sync(() => console.log(e.step, e.loss)),
 * });
 * // Recorded and resumable:
 * yield* train(problem, lisa(), { alignment, user }, { totalSteps: 1000, lr: 1e-5, runDir: "runs/a" });
 * ```
 */
export function train<B, E = never>(
  problem: TrainingProblem<B>,
  method: Method,
  sources: TrainSources<B, E>,
  options: TrainOptions,
): Effect.Effect<TrainResult, TrainError | E, Backend> {
  return Effect.scoped(Effect.gen(function* () {
    const o = options;
    yield* validateTrainOptions(method, sources, o);
    const runDir = o.runDir;
    if (runDir !== undefined) yield* prepareRunDir(runDir, o);
    // Resuming: the newest checkpoint that passes its checks (a damaged newest one is skipped
    // for the one before, with a warning), or none (killed before the first): start afresh.
    const warn = o.onWarning ?? ((m: string) => console.error(`warning: ${m}`));
    const loaded = runDir !== undefined && o.resume ? yield* loadNewestIntact(runDir, warn) : null;
    const resumeFrom = loaded?.dir ?? null;
    const trainer = yield* makeTrainer(problem, method, sources, o, loaded);
    const progress = yield* Progress.current;
    const total = trainer.totalSteps;
    const start = trainer.stepsDone();
    const logPath = runDir === undefined ? null : `${runDir}/log.jsonl`;
    const driftPath = runDir === undefined ? null : `${runDir}/drift.jsonl`;
    if (o.resume && logPath && driftPath) {
      yield* truncateLog(logPath, start);
      yield* truncateLog(driftPath, start);
    }
    let lastCheckpoint: string | null = resumeFrom;
    let lastSaved = loaded?.step ?? -1;
    const keep = o.keepCheckpoints ?? 2;
    const checkpointNow = Effect.gen(function* () {
      if (runDir === undefined || trainer.stepsDone() === lastSaved) return;
      lastCheckpoint = yield* saveCheckpoint(runDir, trainer.checkpointData(o.meta), keep);
      lastSaved = trainer.stepsDone();
    });
    const records: StepRecord[] = [];
    const drift: DriftRecord[] = [];
    const stop = Math.min(total, start + (o.haltAfter ?? Infinity));
    yield* progress.start(o.label ?? method.name, total);
    const t0 = performance.now();
    const loop = Effect.gen(function* () {
      while (trainer.stepsDone() < stop) {
        const ev = yield* trainer.step.pipe(
          Effect.mapError((e) =>
            e instanceof NonFiniteLoss
              ? new NonFiniteLoss({
                step: e.step,
                state: e.state,
                loss: e.loss,
                gradNorm: e.gradNorm,
                lastCheckpoint,
              })
              : e
          ),
        );
        // A finished step is recorded whole (log, drift, callback, progress, its checkpoint):
        // an interruption lands before the next step, never halfway through this bookkeeping.
        yield* Effect.uninterruptible(Effect.gen(function* () {
          const { drift: d, ...rec } = ev;
          records.push(rec);
          if (d) {
            drift.push(d);
            if (driftPath) yield* appendLine(driftPath, JSON.stringify(d));
          }
          if (logPath) yield* appendLine(logPath, JSON.stringify(rec));
          if (o.onStep) yield* o.onStep(ev);
          const done = trainer.stepsDone();
          const elapsed = (performance.now() - t0) / 1000;
          yield* progress.update({
            done,
            total,
            state: rec.state,
            loss: rec.loss,
            tokensPerSec: rec.tokensPerSec,
            etaSec: (elapsed / (done - start)) * (total - done),
          });
          const every = o.checkpointEvery ?? 0;
          if (done === total || (every > 0 && done % every === 0)) yield* checkpointNow;
        }));
      }
    });
    // Interrupted (Ctrl-C, a timeout, a parent fiber): save where the run stands, so that
    // `--resume` continues from exactly this step.
    yield* loop.pipe(Effect.onInterrupt(() => Effect.ignore(checkpointNow)));
    const endAnchors = trainer.anchors();
    if (stop === total && total > 0 && endAnchors !== null) {
      // The last state ends with the run, not at a switch: log its drift too.
      const d: DriftRecord = {
        step: total,
        finished: method.stateAt(total - 1),
        drift: yield* squaredDistance(endAnchors, problem.trainable),
      };
      drift.push(d);
      if (driftPath) yield* appendLine(driftPath, JSON.stringify(d));
    }
    yield* progress.finish();
    return {
      steps: trainer.stepsDone(),
      records,
      drift,
      meanLoss: { alignment: meanOf(records, "alignment"), finetune: meanOf(records, "finetune") },
      checkpoint: lastCheckpoint,
    };
  }));
}

/**
 * The steps of a run in memory as an Effect Stream of {@link StepEvent}s: the trainer is
 * acquired when the stream starts and freed when it ends or is interrupted.
 *
 * @example
 * ```ts
 * const losses = yield* Stream.runCollect(
 *   trainSteps(problem, sft(), { user }, { totalSteps: 50, lr: 1e-3 }).pipe(
 *     Stream.map((e) => e.loss),
 *   ),
 * );
 * ```
 */
export function trainSteps<B, E = never>(
  problem: TrainingProblem<B>,
  method: Method,
  sources: TrainSources<B, E>,
  options: TrainerOptions,
): Stream.Stream<
  StepEvent,
  TrainOptionInvalid | CheckpointCorrupt | NonFiniteLoss | SourceExhausted | E,
  Backend
> {
  return Stream.unwrap(
    Effect.map(
      makeTrainer(problem, method, sources, options),
      (t) => Stream.take(Stream.fromEffectRepeat(t.step), t.totalSteps),
    ),
  );
}
