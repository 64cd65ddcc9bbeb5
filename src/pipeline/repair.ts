/**
 * The repair stage: after fine-tuning and before evaluation, a repair method (Safe LoRA,
 * Antidote) turns the fine-tuned adapter into a repaired one, saved in PEFT layout beside a
 * `repair.json` record of what it changed. Also the one place that checks a configuration's
 * repair choices before anything trains.
 *
 * @module
 */
import { Effect, type Scope } from "effect";
import type { Backend } from "../../backends/mod.ts";
import type { ExperimentConfig } from "../config/mod.ts";
import { type Example, SourceTooSmall } from "../data/mod.ts";
import type { Datasets } from "./datasets.ts";
import { attemptIO, type IOFailed, writeJsonFile } from "../io/mod.ts";
import { type LoraAdapter, saveAdapter } from "../lora/mod.ts";
import type { Params } from "../model/mod.ts";
import { type RepairFailed, type RepairName, repairSpec } from "../repair/mod.ts";
import { type FinetuneMethodName, methodSpec, TrainOptionInvalid } from "../train/mod.ts";
import type { LoadedLm } from "./stages.ts";
import { pathFromCwd } from "./stages.ts";
import { collate, tokenize } from "./tokenize.ts";

/** The commands a repair can run in (it follows a fine-tuning stage). */
export type RepairCommand = "run" | "finetune" | "sweep" | "align" | "eval";

/**
 * Check that every repair in `repairs` can work with the configuration: not for `eval`
 * (nothing is fine-tuned there; `align` ignores the repair); Safe LoRA needs the base and the aligned weights (the `run`
 * or `sweep` command with the alignment stage on, fine-tuning methods that tune the aligned
 * model, and an alignment LoRA on every module the fine-tuning LoRA adapts); Antidote needs
 * enough of the provider's harmful data.
 */
export function checkRepairs(
  cfg: ExperimentConfig,
  command: RepairCommand,
  methods: readonly FinetuneMethodName[],
  repairs: readonly RepairName[],
): Effect.Effect<void, TrainOptionInvalid> {
  const bad = (field: string, expected: string, found: unknown) =>
    Effect.fail(new TrainOptionInvalid({ field, expected, found }));
  for (const r of repairs) {
    if (r === "none") continue;
    if (command === "eval" || command === "align") {
      return bad(
        "repair.method",
        `none for the ${command} command (a repair follows fine-tuning)`,
        r,
      );
    }
    const spec = repairSpec(r);
    if (spec.needsAlignment) {
      if (command === "finetune") {
        return bad(
          "repair.method",
          `a repair the finetune command can apply (${r} needs the base model's weights beside ` +
            "the aligned model's: use the run or sweep command)",
          r,
        );
      }
      if (!cfg.alignment.enabled) {
        return bad(
          "alignment.enabled",
          `true (repair ${r} projects onto what alignment changed)`,
          false,
        );
      }
      const onBase = methods.find((m) => !methodSpec(m).needsAlignedModel);
      if (onBase) {
        return bad(
          "method.compare",
          `fine-tuning methods that tune the aligned model (repair ${r} needs it; ${onBase} ` +
            "tunes the base model)",
          onBase,
        );
      }
      const missing = cfg.finetune.lora.targets.filter((t) =>
        !cfg.alignment.lora.targets.includes(t)
      );
      if (missing.length) {
        return bad(
          "alignment.lora.targets",
          `every module the fine-tuning LoRA adapts (repair ${r} projects onto the alignment ` +
            `change of each; missing: ${missing.join(", ")})`,
          cfg.alignment.lora.targets,
        );
      }
    }
    if (spec.needsHarmfulData && cfg.repair.antidoteSamples > cfg.data.alignmentHarmfulN) {
      return bad(
        "repair.antidoteSamples",
        `at most data.alignmentHarmfulN (${cfg.data.alignmentHarmfulN}), the provider's harmful ` +
          "samples it scores on",
        cfg.repair.antidoteSamples,
      );
    }
  }
  return Effect.void;
}

/** Fail when a repair in `repairs` needs more of the provider's harmful data than was loaded. */
export function checkRepairData(
  cfg: ExperimentConfig,
  ds: Datasets,
  repairs: readonly RepairName[],
): Effect.Effect<void, SourceTooSmall> {
  const needed = repairs.some((r) => repairSpec(r).needsHarmfulData)
    ? cfg.repair.antidoteSamples
    : 0;
  return ds.alignmentHarmful.length < needed
    ? Effect.fail(
      new SourceTooSmall({
        source: "the provider's harmful data (repair.antidoteSamples)",
        needed,
        available: ds.alignmentHarmful.length,
      }),
    )
    : Effect.void;
}

/** What {@link repairStage} works on. */
export interface RepairStageInput {
  /** The fine-tuned adapter (left as it is). */
  readonly adapter: LoraAdapter;
  /** The weights it was fine-tuned on (the aligned model). */
  readonly aligned: Params;
  /** The provider's harmful data (Antidote scores on its first `repair.antidoteSamples`). */
  readonly harmful: readonly Example[];
}

/**
 * Apply repair `name` to the fine-tuned adapter and save the result in `dir` (`adapter/`,
 * naming `frozenDir` as its base model, and `repair.json`). The repaired adapter belongs to
 * the caller's scope.
 */
export function repairStage(
  cfg: ExperimentConfig,
  lm: LoadedLm,
  input: RepairStageInput,
  name: RepairName,
  dir: string,
  frozenDir: string,
): Effect.Effect<
  { adapter: LoraAdapter; seconds: number },
  RepairFailed | IOFailed,
  Backend | Scope.Scope
> {
  return Effect.gen(function* () {
    const spec = repairSpec(name);
    if (!spec.apply) return yield* Effect.die(new Error(`repair ${name} changes nothing`));
    const apply = spec.apply;
    const t0 = performance.now();
    const examples = spec.needsHarmfulData
      ? input.harmful.slice(0, cfg.repair.antidoteSamples)
      : [];
    const items = yield* tokenize({ tokenizer: lm.tokenizer, examples });
    const size = cfg.eval.batchSize;
    const harmful = Array.from(
      { length: Math.ceil(items.length / size) },
      (_, i) =>
        collate(items.slice(i * size, (i + 1) * size), lm.tokenizer.padId, cfg.model.maxLength),
    );
    const outcome = yield* Effect.acquireRelease(
      apply(
        {
          config: lm.config,
          aligned: input.aligned,
          base: lm.params,
          adapter: input.adapter,
          harmful,
        },
        cfg.repair,
      ),
      (o) => Effect.sync(() => o.adapter.dispose()),
    );
    const seconds = (performance.now() - t0) / 1000;
    yield* attemptIO(
      `${dir}/adapter`,
      "save the repaired adapter to",
      () => saveAdapter(`${dir}/adapter`, outcome.adapter, { baseModel: pathFromCwd(frozenDir) }),
    );
    yield* writeJsonFile(`${dir}/repair.json`, {
      method: name,
      reference: spec.reference,
      seconds,
      samples: examples.length,
      ...outcome.record,
    });
    return { adapter: outcome.adapter, seconds };
  });
}
