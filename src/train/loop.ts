/**
 * The training loop as an Effect program. Phases per step: pick the state's source and draw a
 * batch → refresh anchors at a switch (logging drift) → {@link biStateStep} → guard against a
 * non-finite loss → log → checkpoint every N steps. A run resumes from its newest checkpoint and
 * ends with the same weights as a run that never stopped.
 *
 * The user data advances only in fine-tune steps and the alignment data only in alignment
 * steps. (The reference trainer also draws and discards a user batch in each alignment step;
 * we do not.)
 *
 * @module
 */
import { Effect } from "effect";
import { tf } from "../../backends/mod.ts";
import {
  type CheckpointData,
  disposeCheckpoint,
  latestCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from "./checkpoint.ts";
import {
  CheckpointCorrupt,
  NonFiniteLoss,
  RunDirExists,
  type TrainOptionInvalid,
} from "./errors.ts";
import { errorText, IOFailed } from "../io/errors.ts";
import type { LrSchedule } from "./lr_schedule.ts";
import type { Method } from "./methods/types.ts";
import { createAdamW } from "./optimizer.ts";
import type { TrainingProblem } from "./problem.ts";
import { Progress } from "./progress.ts";
import { type Anchors, disposeAll, snapshot, squaredDistance } from "./proximal.ts";
import { isSwitch, type LisaState } from "./schedule.ts";
import { type BatchSource, type Cursor, START } from "./sources.ts";
import { biStateStep, type StepRecord } from "./step.ts";
import { validateTrainOptions } from "./validate.ts";

/** Loop options; defaults are the spec's fine-tuning reference. */
export interface TrainOptions {
  /** Name shown on the progress bar (default: the method's name). */
  readonly label?: string;
  /** Optimizer steps of the whole run. */
  readonly totalSteps: number;
  /** Peak learning rate (reference fine-tuning: 1e-5). */
  readonly lr: number;
  /** `constant` (fine-tuning reference) or `cosine` (alignment reference). */
  readonly schedule?: LrSchedule;
  /** Linear warm-up fraction of all steps (default 0). */
  readonly warmupRatio?: number;
  /** AdamW decoupled weight decay (default 0). */
  readonly weightDecay?: number;
  /** Global-norm gradient clip (default 1.0). */
  readonly maxGradNorm?: number;
  /** Directory of this run: log, drift, checkpoints. */
  readonly runDir: string;
  /** Save a checkpoint every N steps (default 0: only at the end). */
  readonly checkpointEvery?: number;
  /** Checkpoints kept (default 2). */
  readonly keepCheckpoints?: number;
  /** Continue from the newest checkpoint in `runDir`. */
  readonly resume?: boolean;
  /** Replace a run already in `runDir`. */
  readonly overwrite?: boolean;
  /** Batches of alignment data for EWC's Fisher (default: one epoch). */
  readonly fisherBatches?: number;
  /** Stop after this many steps of this invocation, without a final checkpoint. */
  readonly haltAfter?: number;
  /** Recorded in `run.json` and every checkpoint (the resolved config). */
  readonly meta?: unknown;
}

/** The two data sources; the method's schedule decides which each step uses. */
export interface TrainSources<B> {
  /** Alignment data (needed by alignment steps and EWC's Fisher). */
  readonly alignment?: BatchSource<B>;
  /** User (fine-tuning) data. */
  readonly user?: BatchSource<B>;
}

/** Squared distance moved in the state that just finished. */
export interface DriftRecord {
  /** The step that begins the new state. */
  readonly step: number;
  /** The state that finished. */
  readonly finished: LisaState;
  /** `||w_end - w_start||^2` over that state. */
  readonly drift: number;
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
  | IOFailed;

/** Data cursors by the state that consumes them (user data is the fine-tune state's). */
type Cursors = Record<LisaState, Cursor>;

const io = <A>(path: string, f: () => A) =>
  Effect.try({
    try: f,
    catch: (e) => new IOFailed({ path, operation: "write", reason: errorText(e) }),
  });

function prepareRunDir(o: TrainOptions): Effect.Effect<void, RunDirExists | IOFailed> {
  return Effect.gen(function* () {
    const marker = `${o.runDir}/run.json`;
    const exists = yield* io(marker, () => {
      try {
        Deno.statSync(marker);
        return true;
      } catch {
        return false;
      }
    });
    if (exists && !o.resume && !o.overwrite) return yield* new RunDirExists({ dir: o.runDir });
    if (exists && o.overwrite && !o.resume) {
      yield* io(o.runDir, () => Deno.removeSync(o.runDir, { recursive: true }));
    }
    yield* io(o.runDir, () => Deno.mkdirSync(o.runDir, { recursive: true }));
    if (!exists || !o.resume) {
      yield* io(
        marker,
        () =>
          Deno.writeTextFileSync(
            marker,
            JSON.stringify({ options: o, meta: o.meta ?? null }, null, 2),
          ),
      );
    }
  });
}

/** Keep only the log lines of steps before `step` (a resumed run rewrites what follows). */
function truncateLog(path: string, step: number): void {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    return;
  }
  const kept = text.split("\n").filter((l) => l && (JSON.parse(l) as { step: number }).step < step);
  Deno.writeTextFileSync(path, kept.map((l) => l + "\n").join(""));
}

/**
 * Train `problem` with `method` over `sources`. Needs the {@link Progress} service.
 *
 * @example
 * ```ts
 * const result = await Effect.runPromise(
 *   train(problem, lisa(), { alignment, user }, { totalSteps: 1000, lr: 1e-5, runDir: "runs/a" })
 *     .pipe(Effect.provide(Progress.auto())),
 * );
 * ```
 */
export function train<B>(
  problem: TrainingProblem<B>,
  method: Method,
  sources: TrainSources<B>,
  options: TrainOptions,
): Effect.Effect<TrainResult, TrainError, Progress> {
  return Effect.gen(function* () {
    yield* validateTrainOptions(method, sources, options);
    yield* prepareRunDir(options);
    const progress = yield* Progress;
    const o = options;
    const total = o.totalSteps;
    const lrOptions = {
      lr: o.lr,
      schedule: o.schedule ?? "constant",
      warmupRatio: o.warmupRatio ?? 0,
      totalSteps: total,
    } as const;
    const optimizer = createAdamW(problem.trainable, { weightDecay: o.weightDecay ?? 0 });
    let anchors: Anchors | null = null;
    // Moments and anchors are freed however the run ends (done, failure, interruption).
    const release = Effect.sync(() => {
      disposeAll(anchors);
      optimizer.dispose();
    });
    return yield* Effect.gen(function* () {
      let cursors: Cursors = { alignment: START, finetune: START };
      let start = 0;
      let lastCheckpoint: string | null = null;
      const logPath = `${o.runDir}/log.jsonl`;
      const driftPath = `${o.runDir}/drift.jsonl`;

      const resumeFrom = o.resume ? latestCheckpoint(o.runDir) : null;
      if (resumeFrom) {
        const c = yield* loadCheckpoint(resumeFrom);
        for (const [name, w] of Object.entries(problem.trainable)) {
          const saved = c.weights[name];
          if (!saved || saved.size !== w.size) {
            disposeCheckpoint(c);
            return yield* new CheckpointCorrupt({
              file: `${resumeFrom}/weights.safetensors`,
              reason: `parameter '${name}' is missing or has a different size`,
            });
          }
          tf.tidy(() => w.assign(tf.reshape(saved, w.shape)));
        }
        disposeAll(c.weights);
        optimizer.setState(c.optimizer);
        anchors = c.anchors;
        if (method.restore) method.restore(c.methodTensors);
        else disposeAll(c.methodTensors);
        if (c.rng !== null && problem.setRngState) problem.setRngState(c.rng);
        cursors = c.cursors as Cursors;
        start = c.step;
        lastCheckpoint = resumeFrom;
        yield* io(logPath, () => truncateLog(logPath, start));
        yield* io(driftPath, () => truncateLog(driftPath, start));
      } else if (method.prepare && sources.alignment) {
        // EWC's Fisher: its own pass over the alignment data; the training cursor stays put.
        const src = sources.alignment;
        const n = o.fisherBatches ?? src.batchesPerEpoch;
        const batches = function* () {
          let cur = START;
          for (let i = 0; i < n; i++) {
            const next = src.next(cur);
            cur = next.cursor;
            yield next.batch;
          }
        };
        method.prepare(problem, batches());
      }

      const checkpointData = (step: number, state: LisaState): CheckpointData => ({
        step,
        state,
        weights: problem.trainable,
        optimizer: optimizer.state(),
        anchors,
        methodTensors: method.tensors?.() ?? {},
        rng: problem.rngState?.() ?? null,
        cursors,
        meta: o.meta ?? null,
      });

      const records: StepRecord[] = [];
      const drift: DriftRecord[] = [];
      const stop = Math.min(total, start + (o.haltAfter ?? Infinity));
      yield* progress.start(o.label ?? method.name, total);
      const t0 = performance.now();
      for (let step = start; step < stop; step++) {
        const state = method.stateAt(step);
        if (step === 0 || anchors === null || isSwitch(step, method.stateAt)) {
          if (anchors !== null) {
            const d = {
              step,
              finished: method.stateAt(step - 1),
              drift: yield* Effect.promise(() => squaredDistance(anchors!, problem.trainable)),
            };
            drift.push(d);
            yield* io(
              driftPath,
              () => Deno.writeTextFileSync(driftPath, JSON.stringify(d) + "\n", { append: true }),
            );
          }
          disposeAll(anchors);
          anchors = snapshot(problem.trainable);
        }
        const src = state === "alignment" ? sources.alignment! : sources.user!;
        const { batch, cursor } = src.next(cursors[state]);
        cursors = { ...cursors, [state]: cursor };
        const ts = performance.now();
        const rec = yield* Effect.promise(() =>
          biStateStep({
            problem,
            method,
            optimizer,
            batch,
            step,
            lr: lrOptions,
            anchors,
            maxGradNorm: o.maxGradNorm ?? 1.0,
          })
        );
        const sec = Math.max(1e-9, (performance.now() - ts) / 1000);
        if (!rec.finite) {
          return yield* new NonFiniteLoss({
            step,
            state,
            loss: rec.loss + rec.penalty + rec.proximal,
            gradNorm: rec.gradNorm,
            lastCheckpoint,
          });
        }
        const tokensPerSec = (problem.tokens?.(batch) ?? 1) / sec;
        records.push(rec);
        const line = { ...rec, tokensPerSec };
        yield* io(
          logPath,
          () => Deno.writeTextFileSync(logPath, JSON.stringify(line) + "\n", { append: true }),
        );
        const done = step + 1;
        const elapsed = (performance.now() - t0) / 1000;
        yield* progress.update({
          done,
          total,
          state,
          loss: rec.loss,
          tokensPerSec,
          etaSec: (elapsed / (done - start)) * (total - done),
        });
        const every = o.checkpointEvery ?? 0;
        if (done === total || (every > 0 && done % every === 0)) {
          lastCheckpoint = yield* saveCheckpoint(
            o.runDir,
            checkpointData(done, state),
            o.keepCheckpoints ?? 2,
          );
        }
      }
      yield* progress.finish();
      const mean = (s: LisaState) => {
        const ls = records.filter((r) => r.state === s).map((r) => r.loss);
        return ls.length ? ls.reduce((a, b) => a + b, 0) / ls.length : NaN;
      };
      return {
        steps: stop,
        records,
        drift,
        meanLoss: { alignment: mean("alignment"), finetune: mean("finetune") },
        checkpoint: lastCheckpoint,
      };
    }).pipe(Effect.ensuring(release));
  });
}
