/**
 * Validation first: the one place where every input of an experiment is checked, and every
 * long-lived resource acquired, before anything trains. A bad data file, a method whose
 * options cannot work, a model folder that does not load, an adapter that does not fit or a
 * judge that cannot start fails here, in seconds, with its typed error; nothing has been
 * written to the run folder's stages yet. Add new pre-training checks here.
 *
 * The order is cheapest first: datasets (no tensors), method options, then the model (the
 * largest allocation), the evaluation adapter and the judge. Everything acquired belongs to
 * the caller's scope.
 *
 * @module
 */
import { Effect, type Scope } from "effect";
import type { Backend } from "../../backends/mod.ts";
import type { ExperimentConfig } from "../config/mod.ts";
import type { Judge, JudgeError } from "../eval/mod.ts";
import type { LinearAdapter } from "../model/mod.ts";
import type { FinetuneMethodName, TrainOptionInvalid } from "../train/mod.ts";
import { type AssetInvalid, loadAdapterFor, loadLm, modelDir } from "./assets.ts";
import { loadJudge } from "./judges.ts";
import { type DataError, datasetNeeds, type Datasets, loadDatasets, userData } from "./datasets.ts";
import type { PipelineCommand } from "./experiment.ts";
import { acquireMethod, type LoadedLm } from "./stages.ts";
import { checkRepairData, checkRepairs } from "./repair.ts";

/** Everything an experiment runs on, checked and acquired. */
export interface Prepared {
  /** The datasets the command uses. */
  readonly ds: Datasets;
  /** The model and tokenizer (owned by the caller's scope). */
  readonly lm: LoadedLm;
  /** `eval` with `eval.adapterPath`: the adapter (owned by the caller's scope), else none. */
  readonly adapters: readonly LinearAdapter[];
  /** The harmfulness judge, or null for `align` (which evaluates nothing). */
  readonly judge: Judge | null;
  /** The fine-tuning methods to run, in order. */
  readonly methods: readonly FinetuneMethodName[];
  /** Dataset sizes (skipped rows and invalid UTF-8 per file), for `metrics.json`. */
  readonly dataSummary: Readonly<Record<string, unknown>>;
}

/** Every way the checks can fail. */
export type PrepareError = DataError | AssetInvalid | JudgeError | TrainOptionInvalid;

/** The fine-tuning methods a config runs: `method.compare`, or `method.name`. */
export function configuredMethods(cfg: ExperimentConfig): readonly FinetuneMethodName[] {
  return cfg.method.compare.length ? [...cfg.method.compare] : [cfg.method.name];
}

/** Check every input of `command` under `cfg` and acquire what it runs on. */
export function prepareExperiment(
  cfg: ExperimentConfig,
  command: PipelineCommand,
): Effect.Effect<Prepared, PrepareError, Backend | Scope.Scope> {
  return Effect.gen(function* () {
    const ds = yield* loadDatasets(cfg, datasetNeeds(command));
    const methods = configuredMethods(cfg);
    // Build (and free) every method the command will train, so an option that cannot work
    // (K1 + K2 = 0 for a method named only in --method.compare) fails now, not after alignment.
    yield* Effect.scoped(Effect.gen(function* () {
      if (command === "run" || command === "align") {
        yield* acquireMethod(cfg, cfg.alignment.method, "alignment");
      }
      if (command === "run" || command === "finetune") {
        for (const m of methods) yield* acquireMethod(cfg, m, "finetune");
      }
    }));
    // Mix every method's user data now (cheap), so a file with fewer rows than data.n asks
    // for fails here, naming the file and the settings, not after the alignment stage.
    if (command === "run" || command === "finetune") {
      for (const m of methods) yield* userData(cfg, ds, m);
    }
    yield* checkRepairs(cfg, command, methods, [cfg.repair.method]);
    if (command === "run" || command === "finetune") {
      yield* checkRepairData(cfg, ds, [cfg.repair.method]);
    }
    const lm = yield* loadLm(modelDir(cfg));
    const adapters = command === "eval" && cfg.eval.adapterPath
      ? [yield* loadAdapterFor(cfg.eval.adapterPath, lm.config)]
      : [];
    const judge = command === "align" ? null : yield* loadJudge(cfg);
    const dataSummary = {
      alignment: ds.alignment.length,
      harmful: ds.harmful.length,
      alignmentHarmful: ds.alignmentHarmful.length,
      harmfulEval: ds.harmfulEval.length,
      taskTrain: ds.taskTrain.length,
      taskTest: ds.taskTest.length,
      skipped: ds.skipped,
      ...(Object.keys(ds.invalidUtf8 ?? {}).length ? { invalidUtf8: ds.invalidUtf8 } : {}),
    };
    return { ds, lm, adapters, judge, methods, dataSummary };
  });
}
