/**
 * The training loop's state machine, for loops of your own: a scoped trainer owns the one AdamW,
 * the anchors (where the current state began), the data cursors and the batch streams, and
 * `step` runs the next optimizer step with everything Lisa needs around it (anchors refreshed
 * and drift measured at a switch, the state's source drawn, {@link biStateStep}). Closing the
 * scope frees every tensor it holds, however the loop ends. `train` (loop.ts) is this plus
 * logging, checkpoints and progress.
 *
 * @module
 */
import { Effect, Pull, type Scope, Stream } from "effect";
import { Backend, type Tf } from "../../backends/mod.ts";
import type { CheckpointData, LoadedCheckpoint } from "./checkpoint.ts";
import { disposeCheckpoint } from "./checkpoint.ts";
import {
  CheckpointCorrupt,
  NonFiniteLoss,
  SourceExhausted,
  type TrainOptionInvalid,
} from "./errors.ts";
import { validateTrainerOptions } from "./validate.ts";
import type { LrSchedule } from "./lr_schedule.ts";
import type { Method } from "./methods/types.ts";
import { type AdamW, createAdamW } from "./optimizer.ts";
import type { TrainingProblem } from "./problem.ts";
import { type Anchors, disposeAll, snapshot, squaredDistance } from "./proximal.ts";
import { isSwitch, type LisaState } from "./schedule.ts";
import {
  type Cursor,
  type Drawn,
  drawStream,
  isStreamSource,
  START,
  type TrainSource,
} from "./sources.ts";
import { biStateStep, type StepRecord } from "./step.ts";

/** What a trainer needs to know about the run; defaults are the spec's fine-tuning reference. */
export interface TrainerOptions {
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
  /** Batches of alignment data for EWC's Fisher (default: one epoch of a BatchSource). */
  readonly fisherBatches?: number;
}

/**
 * The data sources: the method's schedule decides which of alignment and user data each step
 * trains on; the harmful source feeds the extra harmful batch some methods take per step.
 */
export interface TrainSources<B, E = never> {
  /** Alignment data (needed by alignment steps and EWC's Fisher). */
  readonly alignment?: TrainSource<B, E>;
  /** User (fine-tuning) data. */
  readonly user?: TrainSource<B, E>;
  /**
   * The provider's harmful data (harmful prompt + harmful answer), for methods that draw a
   * harmful batch beside their training batch (Booster, RepNoise, T-Vaccine).
   */
  readonly harmful?: TrainSource<B, E>;
}

/** Squared distance moved in the state that just finished. */
export interface DriftRecord {
  /** The step that begins the new state (the total step count for the run's last state). */
  readonly step: number;
  /** The state that finished. */
  readonly finished: LisaState;
  /** `||w_end - w_start||^2` over that state. */
  readonly drift: number;
}

/** One finished step: its record, its throughput, and the drift when it began a new state. */
export interface StepEvent extends StepRecord {
  /** Tokens (or examples) per second of this step. */
  readonly tokensPerSec: number;
  /** Drift of the state that ended just before this step, when this step began a new one. */
  readonly drift: DriftRecord | null;
}

/**
 * Data cursors by the state that consumes them (user data is the fine-tune state's), and of
 * the harmful source.
 */
export type Cursors = Readonly<Record<LisaState | "harmful", Cursor>>;

/** A running training state machine (see the module doc); `E` is the sources' error. */
export interface Trainer<E = never> {
  /** Optimizer steps of the whole run. */
  readonly totalSteps: number;
  /** Steps done so far (the next step's index). */
  readonly stepsDone: () => number;
  /** The data cursors now. */
  readonly cursors: () => Cursors;
  /** The anchors now (owned by the trainer: clone them to keep them past the next switch). */
  readonly anchors: () => Anchors | null;
  /**
   * Run the next step. Fails with {@link NonFiniteLoss} (the update skipped, the weights those
   * of the last good step) or when a Stream source fails or runs out. Uninterruptible: an
   * interruption lands between steps.
   */
  readonly step: Effect.Effect<StepEvent, NonFiniteLoss | SourceExhausted | E, Backend>;
  /** Everything a checkpoint needs, now (tensors owned by the trainer; written, not kept). */
  readonly checkpointData: (meta?: unknown) => CheckpointData;
}

type Draw<B, E> = Effect.Effect<Drawn<B>, E | SourceExhausted>;

/** A pull over `source` from `from`, drawing one batch per call, closed with the scope. */
function makeDraw<B, E>(
  name: "alignment" | "user" | "harmful",
  source: TrainSource<B, E>,
  from: Cursor,
  stepOf: () => number,
): Effect.Effect<Draw<B, E>, never, Scope.Scope> {
  return Effect.gen(function* () {
    const pull = yield* Stream.toPull(drawStream(source, from));
    const buffered: Drawn<B>[] = [];
    let drawn = 0;
    return Effect.gen(function* () {
      if (buffered.length === 0) {
        const chunk = yield* pull.pipe(
          Pull.catchDone(() =>
            Effect.fail(new SourceExhausted({ source: name, batches: drawn, step: stepOf() }))
          ),
        );
        buffered.push(...chunk);
      }
      drawn++;
      return buffered.shift()!;
    });
  });
}

/** The first `n` batches of a source from its start (EWC's Fisher pass; cursors unaffected). */
function firstBatches<B, E>(source: TrainSource<B, E>, n: number): Effect.Effect<B[], E> {
  return Stream.runCollect(Stream.take(drawStream(source), n)).pipe(
    Effect.map((xs) => xs.map((d) => d.batch)),
  );
}

/** Put a checkpoint's weights, moments, anchors and method tensors in place (takes ownership). */
function restore<B>(
  tf: Tf,
  problem: TrainingProblem<B>,
  method: Method,
  optimizer: AdamW,
  c: LoadedCheckpoint,
): Effect.Effect<Anchors | null, CheckpointCorrupt> {
  for (const [name, w] of Object.entries(problem.trainable)) {
    const saved = c.weights[name];
    if (!saved || saved.size !== w.size) {
      disposeCheckpoint(c);
      return Effect.fail(
        new CheckpointCorrupt({
          file: `${c.dir}/weights.safetensors`,
          reason: `parameter '${name}' is missing or has a different size`,
        }),
      );
    }
  }
  return Effect.sync(() => {
    for (const [name, w] of Object.entries(problem.trainable)) {
      tf.tidy(() => w.assign(tf.reshape(c.weights[name]!, w.shape)));
    }
    disposeAll(c.weights);
    optimizer.setState(c.optimizer);
    if (method.restore) method.restore(c.methodTensors);
    else disposeAll(c.methodTensors);
    if (c.rng !== null && problem.setRngState) problem.setRngState(c.rng);
    return c.anchors;
  });
}

const FRESH: Cursors = { alignment: START, finetune: START, harmful: START };

function cursorsOf(x: unknown): Cursors {
  const isCursor = (c: unknown): c is Cursor =>
    typeof c === "object" && c !== null && "epoch" in c && "position" in c &&
    Number.isInteger(c.epoch) && Number.isInteger(c.position);
  if (typeof x === "object" && x !== null && "alignment" in x && "finetune" in x) {
    const { alignment, finetune } = x;
    // Checkpoints written before the harmful source existed hold no harmful cursor.
    const harmful = "harmful" in x && isCursor(x.harmful) ? x.harmful : START;
    if (isCursor(alignment) && isCursor(finetune)) return { alignment, finetune, harmful };
  }
  return FRESH;
}

/**
 * A trainer for `problem` with `method` over `sources`, fresh or continuing the checkpoint
 * `from` (whose tensors it takes over). Lives as long as its scope.
 *
 * @example
 * ```ts
 * const records = yield* Effect.scoped(Effect.gen(function* () {
 *   const t = yield* makeTrainer(problem, lisa({ rho: 1 }), { alignment, user }, {
 *     totalSteps: 100, lr: 1e-4,
 *   });
 *   const out = [];
 *   while (t.stepsDone() < t.totalSteps) out.push(yield* t.step);
 *   return out;
 * }));
 * ```
 */
export function makeTrainer<B, E = never>(
  problem: TrainingProblem<B>,
  method: Method,
  sources: TrainSources<B, E>,
  options: TrainerOptions,
  from: LoadedCheckpoint | null = null,
): Effect.Effect<Trainer<E>, TrainOptionInvalid | CheckpointCorrupt | E, Backend | Scope.Scope> {
  return Effect.gen(function* () {
    yield* validateTrainerOptions(method, sources, options);
    const { tf } = yield* Backend;
    const o = options;
    const total = o.totalSteps;
    const lr = {
      lr: o.lr,
      schedule: o.schedule ?? "constant",
      warmupRatio: o.warmupRatio ?? 0,
      totalSteps: total,
    } as const;
    const optimizer = yield* Effect.acquireRelease(
      Effect.sync(() => createAdamW(problem.trainable, { weightDecay: o.weightDecay ?? 0 })),
      (opt) => Effect.sync(() => opt.dispose()),
    );
    let anchors: Anchors | null = null;
    yield* Effect.addFinalizer(() => Effect.sync(() => disposeAll(anchors)));
    let step = 0;
    let cursors: Cursors = FRESH;
    if (from) {
      anchors = yield* restore(tf, problem, method, optimizer, from).pipe(Effect.uninterruptible);
      cursors = cursorsOf(from.cursors);
      step = from.step;
    } else if (method.prepare && sources.alignment) {
      // EWC's Fisher: its own pass over the alignment data; the training cursor stays put.
      const src = sources.alignment;
      const n = o.fisherBatches ?? (isStreamSource(src) ? 0 : src.batchesPerEpoch);
      const batches = yield* firstBatches(src, n);
      method.prepare(problem, batches);
    }
    const stepOf = () => step;
    const draws: Partial<Record<LisaState, Draw<B, E>>> = {};
    if (sources.alignment) {
      draws.alignment = yield* makeDraw("alignment", sources.alignment, cursors.alignment, stepOf);
    }
    if (sources.user) {
      draws.finetune = yield* makeDraw("user", sources.user, cursors.finetune, stepOf);
    }
    const drawHarmful = sources.harmful
      ? yield* makeDraw("harmful", sources.harmful, cursors.harmful, stepOf)
      : null;

    const next: Effect.Effect<StepEvent, NonFiniteLoss | SourceExhausted | E, Backend> = Effect
      .gen(function* () {
        if (step >= total) {
          return yield* Effect.die(new RangeError(`the trainer has run all ${total} steps`));
        }
        const state = method.stateAt(step);
        let drift: DriftRecord | null = null;
        if (step === 0 || anchors === null || isSwitch(step, method.stateAt)) {
          if (anchors !== null) {
            const d = yield* squaredDistance(anchors, problem.trainable);
            drift = { step, finished: method.stateAt(step - 1), drift: d };
          }
          disposeAll(anchors);
          anchors = snapshot(problem.trainable);
        }
        const draw = draws[state];
        if (!draw) return yield* Effect.die(new Error(`no ${state} source (validated before)`));
        const drawn = yield* draw;
        cursors = { ...cursors, [state]: drawn.cursor };
        let harmfulBatch: B | undefined;
        if (method.harmfulBatchAt?.(step)) {
          if (!drawHarmful) return yield* Effect.die(new Error("no harmful source (validated)"));
          const h = yield* drawHarmful;
          cursors = { ...cursors, harmful: h.cursor };
          harmfulBatch = h.batch;
        }
        const t0 = performance.now();
        const ctx = {
          problem,
          batch: drawn.batch,
          state,
          step,
          ...(harmfulBatch === undefined ? {} : { harmfulBatch }),
        };
        if (method.beforeStep) yield* method.beforeStep(ctx);
        const rec = yield* biStateStep({
          problem,
          method,
          optimizer,
          batch: drawn.batch,
          ...(harmfulBatch === undefined ? {} : { harmfulBatch }),
          step,
          lr,
          anchors,
          maxGradNorm: o.maxGradNorm ?? 1.0,
        });
        const sec = Math.max(1e-9, (performance.now() - t0) / 1000);
        if (!rec.finite) {
          return yield* new NonFiniteLoss({
            step,
            state,
            loss: rec.loss + rec.penalty + rec.proximal,
            gradNorm: rec.gradNorm,
            lastCheckpoint: null,
          });
        }
        step++;
        return { ...rec, tokensPerSec: (problem.tokens?.(drawn.batch) ?? 1) / sec, drift };
      }).pipe(
        Effect.uninterruptible,
        // Let the event loop run before each step: a Ctrl-C (or any timer) is delivered here,
        // between steps, even when the backend's reads resolve without a macrotask (cpu, wasm).
        (step) => Effect.andThen(Effect.yieldNow, step),
      );

    return {
      totalSteps: total,
      stepsDone: () => step,
      cursors: () => cursors,
      anchors: () => anchors,
      step: next,
      checkpointData: (meta?: unknown): CheckpointData => ({
        step,
        state: method.stateAt(Math.max(0, step - 1)),
        weights: problem.trainable,
        optimizer: optimizer.state(),
        anchors,
        methodTensors: method.tensors?.() ?? {},
        rng: problem.rngState?.() ?? null,
        cursors,
        meta: meta ?? null,
      }),
    };
  });
}
