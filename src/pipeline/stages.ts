/**
 * The alignment and fine-tuning stages as Effects over the training engine: build the
 * problem (frozen weights + a fresh LoRA), stream batches, train, and save what the stage
 * produces (the merged aligned model; the fine-tuning adapter in PEFT layout).
 *
 * @module
 */
import { relative, resolve } from "node:path";
import { Effect } from "effect";
import type { ExperimentConfig } from "../config/mod.ts";
import type { Example } from "../data/mod.ts";
import { createAdapter, type LoraAdapter, mergeAdapter, saveAdapter } from "../lora/mod.ts";
import { type ModelConfig, type Params, saveModel } from "../model/mod.ts";
import { saveTokenizer, type TextTokenizer } from "../tokenizer/mod.ts";
import {
  batchSource,
  createMethod,
  type FinetuneMethodName,
  type Method,
  type MethodName,
  methodSpec,
  type MethodStage,
  type Progress,
  train,
  type TrainError,
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
  readonly config: ModelConfig;
  readonly params: Params;
  readonly tokenizer: TextTokenizer;
}

/** A stage's trained output and its training summary. */
export interface StageResult {
  readonly result: TrainResult;
  readonly seconds: number;
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

function source(
  cfg: ExperimentConfig,
  lm: LoadedLm,
  examples: readonly Example[],
  batchSize: number,
  seedLabel: number,
) {
  const items = tokenize(lm.tokenizer, examples);
  return batchSource(items, {
    batchSize,
    seed: cfg.seed * 7919 + seedLabel,
    collate: (xs) => collate(xs, lm.tokenizer.padId, cfg.model.maxLength),
  });
}

function trainAdapter(
  cfg: ExperimentConfig,
  lm: LoadedLm,
  frozen: Params,
  adapter: LoraAdapter,
  method: Method,
  data: { alignment: readonly Example[]; user: readonly Example[] },
  optim: ExperimentConfig["finetune"]["optim"],
  runDir: string,
  resume: boolean,
): Effect.Effect<StageResult, TrainError, Progress> {
  return Effect.gen(function* () {
    const problem = lmProblem({ config: lm.config, base: frozen, adapter, dropoutSeed: cfg.seed });
    const sources = {
      ...(data.alignment.length
        ? { alignment: source(cfg, lm, data.alignment, optim.batchSize, 1) }
        : {}),
      ...(data.user.length ? { user: source(cfg, lm, data.user, optim.batchSize, 2) } : {}),
    } as { alignment?: ReturnType<typeof source>; user?: ReturnType<typeof source> };
    const size = method.stage === "alignment" ? data.alignment.length : data.user.length;
    const steps = stageSteps(optim, size);
    const t0 = performance.now();
    const result = yield* train<LmArrays>(problem, method, sources, {
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
 * alignment data with SFT or Vaccine, merge it, and save the aligned model to `outDir`.
 * Returns the aligned weights (owned by the caller).
 */
export function alignStage(
  cfg: ExperimentConfig,
  lm: LoadedLm,
  alignment: readonly Example[],
  runDir: string,
  outDir: string,
  resume: boolean,
): Effect.Effect<{ aligned: Params; stage: StageResult }, TrainError, Progress> {
  return Effect.gen(function* () {
    const a = cfg.alignment;
    const method = createMethod(a.method, methodOptions(cfg, a.method, "alignment"));
    const adapter = createAdapter(lm.config, a.lora, cfg.seed * 31 + 1);
    const stage = yield* trainAdapter(
      cfg,
      lm,
      lm.params,
      adapter,
      method,
      { alignment, user: [] },
      a.optim,
      runDir,
      resume,
    ).pipe(Effect.ensuring(Effect.sync(() => method.dispose?.())));
    const aligned = mergeAdapter(lm.params, adapter);
    adapter.dispose();
    // A complete Hugging Face folder: the aligned weights with the tokenizer beside them.
    yield* Effect.promise(async () => {
      await saveModel(outDir, lm.config, aligned);
      await saveTokenizer(outDir, lm.tokenizer);
    });
    return { aligned, stage };
  });
}

/** The `createMethod` options of `name` from the config's knobs, for `stage`. */
export function methodOptions(
  cfg: ExperimentConfig,
  name: MethodName,
  stage: MethodStage,
): Record<string, unknown> {
  return methodSpec(name).fromConfig(
    { ...cfg.method, vaccineRho: cfg.alignment.vaccineRho },
    stage,
  );
}

/**
 * The fine-tuning stage: a fresh LoRA (reference r=8, alpha=4, q and v) on the frozen
 * aligned (or, for NA-SFT, base) model, trained by the method on the user data (and the
 * alignment data for Lisa/BSO/EWC). Saves the adapter in PEFT layout to `adapterDir`, naming
 * `frozenDir` as its base model, and returns it (owned by the caller).
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
): Effect.Effect<{ adapter: LoraAdapter; stage: StageResult }, TrainError, Progress> {
  return Effect.gen(function* () {
    const method = createMethod(methodName, methodOptions(cfg, methodName, "finetune"));
    const adapter = createAdapter(lm.config, cfg.finetune.lora, cfg.seed * 31 + 2);
    const stage = yield* trainAdapter(
      cfg,
      lm,
      frozen,
      adapter,
      method,
      { alignment: method.needsAlignmentData ? data.alignment : [], user: data.user },
      cfg.finetune.optim,
      runDir,
      resume,
    ).pipe(
      Effect.ensuring(Effect.sync(() => method.dispose?.())),
      Effect.tapError(() => Effect.sync(() => adapter.dispose())),
    );
    yield* Effect.promise(() =>
      saveAdapter(adapterDir, adapter, { baseModel: pathFromCwd(frozenDir) })
    );
    return { adapter, stage };
  });
}
