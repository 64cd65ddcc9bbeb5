/**
 * The alignment and fine-tuning stages as Effects over the training engine: build the
 * problem (frozen weights + a fresh LoRA), stream batches, train, and save what the stage
 * produces (the merged aligned model; the fine-tuning adapter in PEFT layout). Every tensor a
 * stage creates belongs to a scope: the method's and the training's close with the stage, the
 * product (aligned weights, fine-tuning adapter) with the caller's scope; nothing leaks on a
 * failure or an interruption.
 *
 * @module
 */
import { relative, resolve } from "node:path";
import { Effect, Scope } from "effect";
import type { Backend } from "../../backends/mod.ts";
import type { ExperimentConfig } from "../config/mod.ts";
import type { Example } from "../data/mod.ts";
import { attemptIO, type IOFailed } from "../io/mod.ts";
import { createAdapter, type LoraAdapter, mergeAdapter, saveAdapter } from "../lora/mod.ts";
import { disposeParams, type ModelConfig, type Params, saveModel } from "../model/mod.ts";
import { saveTokenizer, type TextTokenizer } from "../tokenizer/mod.ts";
import {
  type BatchSource,
  batchSource,
  type FinetuneMethodName,
  type Method,
  type MethodKnobs,
  type MethodName,
  methodSpec,
  type MethodStage,
  train,
  type TrainError,
  TrainOptionInvalid,
  type TrainResult,
} from "../train/mod.ts";
import { lmProblem } from "./problem.ts";
import { collate, type LmArrays, tokenize } from "./tokenize.ts";

/**
 * `path` relative to the working folder (how `base_model_name_or_path` must read for
 * `AutoPeftModelForCausalLM.from_pretrained(adapter)` run from the same folder); "." for it.
 */
export function pathFromCwd(path: string): string {
  return relative(Deno.cwd(), resolve(path)) || ".";
}

/** The model every stage works on. */
export interface LoadedLm {
  /** Its architecture. */
  readonly config: ModelConfig;
  /** Its weights (frozen by every stage). */
  readonly params: Params;
  /** Its tokenizer. */
  readonly tokenizer: TextTokenizer;
}

/** A stage's trained output and its training summary. */
export interface StageResult {
  /** What the training loop returned. */
  readonly result: TrainResult;
  /** Wall-clock seconds of the stage's training. */
  readonly seconds: number;
  /** Optimizer steps of the stage. */
  readonly steps: number;
}

/** Steps for a stage: `maxSteps`, or `epochs` passes over `size` samples. */
export function stageSteps(
  optim: ExperimentConfig["finetune"]["optim"],
  size: number,
): number {
  if (optim.maxSteps > 0) return optim.maxSteps;
  return Math.max(1, Math.ceil(optim.epochs * Math.ceil(size / optim.batchSize)));
}

/** Every method knob of `cfg`, in the registry's terms. */
export function methodKnobs(cfg: ExperimentConfig): MethodKnobs {
  const a = cfg.alignment;
  return {
    ...cfg.method,
    vaccineRho: a.vaccineRho,
    boosterLambda: a.boosterLambda,
    boosterAlpha: a.boosterAlpha,
    repnoiseAlpha: a.repnoiseAlpha,
    repnoiseBeta: a.repnoiseBeta,
    tvaccineRho: a.tvaccineRho,
    tvaccineLayers: a.tvaccineLayers,
    tvaccineResample: a.tvaccineResample,
    tvaccineRefresh: a.tvaccineRefresh,
    seed: cfg.seed,
  };
}

/**
 * The method `name` built from the config's knobs for `stage`, owned by the current scope
 * (EWC's Fisher and w0 are freed with it).
 */
export function acquireMethod(
  cfg: ExperimentConfig,
  name: MethodName,
  stage: MethodStage,
): Effect.Effect<Method, TrainOptionInvalid, Scope.Scope> {
  return Effect.acquireRelease(
    Effect.try({
      try: () => methodSpec(name).build(methodKnobs(cfg), stage),
      catch: (e) =>
        e instanceof TrainOptionInvalid ? e : new TrainOptionInvalid({
          field: `method ${name}`,
          expected: "valid options",
          found: String(e),
        }),
    }),
    (m) => Effect.sync(() => m.dispose?.()),
  );
}

/** A fresh LoRA adapter owned by the current scope. */
function acquireAdapter(
  config: ModelConfig,
  lora: ExperimentConfig["finetune"]["lora"],
  seed: number,
): Effect.Effect<LoraAdapter, never, Scope.Scope> {
  return Effect.acquireRelease(
    Effect.sync(() => createAdapter(config, lora, seed)),
    (a) => Effect.sync(() => a.dispose()),
  );
}

function source(
  cfg: ExperimentConfig,
  lm: LoadedLm,
  examples: readonly Example[],
  batchSize: number,
  seedLabel: number,
): Effect.Effect<BatchSource<LmArrays>> {
  return Effect.map(tokenize({ tokenizer: lm.tokenizer, examples }), (items) =>
    batchSource(items, {
      batchSize,
      seed: cfg.seed * 7919 + seedLabel,
      collate: (xs) => collate(xs, lm.tokenizer.padId, cfg.model.maxLength),
    }));
}

/** The examples a stage trains on. */
export interface StageData {
  /** Alignment data (harmful prompt + safe answer). */
  readonly alignment: readonly Example[];
  /** The user's (mixed) fine-tuning data. */
  readonly user: readonly Example[];
  /** The provider's harmful data, for methods that draw harmful batches (Booster, ...). */
  readonly harmful?: readonly Example[];
}

function trainAdapter(
  cfg: ExperimentConfig,
  lm: LoadedLm,
  frozen: Params,
  adapter: LoraAdapter,
  method: Method,
  data: StageData,
  optim: ExperimentConfig["finetune"]["optim"],
  runDir: string,
  resume: boolean,
): Effect.Effect<StageResult, TrainError, Backend> {
  return Effect.gen(function* () {
    const problem = lmProblem({ config: lm.config, base: frozen, adapter, dropoutSeed: cfg.seed });
    const alignment = data.alignment.length
      ? yield* source(cfg, lm, data.alignment, optim.batchSize, 1)
      : undefined;
    const user = data.user.length
      ? yield* source(cfg, lm, data.user, optim.batchSize, 2)
      : undefined;
    const harmful = data.harmful?.length
      ? yield* source(cfg, lm, data.harmful, optim.batchSize, 3)
      : undefined;
    const size = method.stage === "alignment" ? data.alignment.length : data.user.length;
    const steps = stageSteps(optim, size);
    const t0 = performance.now();
    const result = yield* train<LmArrays>(problem, method, {
      ...(alignment ? { alignment } : {}),
      ...(user ? { user } : {}),
      ...(harmful ? { harmful } : {}),
    }, {
      label: method.stage === "alignment" ? `align (${method.name})` : `finetune ${method.name}`,
      totalSteps: steps,
      lr: optim.lr,
      schedule: optim.schedule,
      warmupRatio: optim.warmupRatio,
      weightDecay: optim.weightDecay,
      maxGradNorm: optim.maxGradNorm,
      runDir,
      checkpointEvery: cfg.output.checkpointEvery,
      resume,
      overwrite: resume || cfg.output.overwrite,
      meta: cfg,
    });
    return { result, steps, seconds: (performance.now() - t0) / 1000 };
  });
}

/**
 * The alignment stage: train a LoRA (reference r=16, alpha=4, all projections) on the
 * alignment data with the configured alignment method (SFT, Vaccine, Booster, RepNoise,
 * T-Vaccine; the last three also draw batches of the provider's harmful data), merge it, and
 * save the aligned model to `outDir`. The aligned weights belong to the caller's scope; the
 * adapter and the method are freed when the stage ends.
 */
export function alignStage(
  cfg: ExperimentConfig,
  lm: LoadedLm,
  data: { readonly alignment: readonly Example[]; readonly harmful: readonly Example[] },
  runDir: string,
  outDir: string,
  resume: boolean,
): Effect.Effect<
  { aligned: Params; stage: StageResult },
  TrainError | IOFailed,
  Backend | Scope.Scope
> {
  return Effect.gen(function* () {
    const outer = yield* Effect.scope;
    return yield* Effect.scoped(Effect.gen(function* () {
      const a = cfg.alignment;
      const method = yield* acquireMethod(cfg, a.method, "alignment");
      const adapter = yield* acquireAdapter(lm.config, a.lora, cfg.seed * 31 + 1);
      const stage = yield* trainAdapter(
        cfg,
        lm,
        lm.params,
        adapter,
        method,
        {
          alignment: data.alignment,
          user: [],
          ...(methodSpec(a.method).needsHarmfulData ? { harmful: data.harmful } : {}),
        },
        a.optim,
        runDir,
        resume,
      );
      const aligned = yield* Effect.acquireRelease(
        Effect.sync(() => mergeAdapter(lm.params, adapter)),
        (p) => Effect.sync(() => disposeParams(p)),
      ).pipe(Scope.provide(outer));
      // A complete Hugging Face folder: the aligned weights with the tokenizer beside them.
      yield* attemptIO(outDir, "save the aligned model to", async () => {
        await saveModel(outDir, lm.config, aligned);
        await saveTokenizer(outDir, lm.tokenizer);
      });
      return { aligned, stage };
    }));
  });
}

/**
 * The fine-tuning stage: a fresh LoRA (reference r=8, alpha=4, q and v) on the frozen
 * aligned (or, for NA-SFT, base) model, trained by the method on the user data (and the
 * alignment data for Lisa/BSO/EWC). Saves the adapter in PEFT layout to `adapterDir`, naming
 * `frozenDir` as its base model, and returns it, owned by the caller's scope.
 */
export function finetuneStage(
  cfg: ExperimentConfig,
  lm: LoadedLm,
  frozen: Params,
  methodName: FinetuneMethodName,
  data: { alignment: readonly Example[]; user: readonly Example[] },
  runDir: string,
  adapterDir: string,
  resume: boolean,
  frozenDir: string,
): Effect.Effect<
  { adapter: LoraAdapter; stage: StageResult },
  TrainError | IOFailed,
  Backend | Scope.Scope
> {
  return Effect.gen(function* () {
    const adapter = yield* acquireAdapter(lm.config, cfg.finetune.lora, cfg.seed * 31 + 2);
    const stage = yield* Effect.scoped(Effect.gen(function* () {
      const method = yield* acquireMethod(cfg, methodName, "finetune");
      return yield* trainAdapter(
        cfg,
        lm,
        frozen,
        adapter,
        method,
        { alignment: method.needsAlignmentData ? data.alignment : [], user: data.user },
        cfg.finetune.optim,
        runDir,
        resume,
      );
    }));
    yield* attemptIO(
      adapterDir,
      "save the adapter to",
      () => saveAdapter(adapterDir, adapter, { baseModel: pathFromCwd(frozenDir) }),
    );
    return { adapter, stage };
  });
}
