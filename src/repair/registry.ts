/**
 * The repair methods: what runs after fine-tuning and before evaluation, on the fine-tuned
 * adapter. The config schema reads the names from here and the pipeline applies them through
 * here; adding a repair method means one file beside this one and one entry below.
 *
 * @module
 */
import { Effect } from "effect";
import type { Backend } from "../../backends/mod.ts";
import type { LoraAdapter } from "../lora/mod.ts";
import type { ModelConfig, Params } from "../model/mod.ts";
import type { TokenBatch } from "../tokenizer/mod.ts";
import { antidote } from "./antidote.ts";
import type { RepairFailed } from "./errors.ts";
import { safeLora } from "./safelora.ts";

/** The repair knobs of the experiment config (its `repair` section). */
export interface RepairKnobs {
  /** Safe LoRA's cosine-similarity threshold. */
  readonly safeloraThreshold: number;
  /** Safe LoRA's number of projected modules (0: use the threshold). */
  readonly safeloraLayers: number;
  /** Antidote's share of each row's weights removed. */
  readonly antidoteRatio: number;
}

/** What a repair method works on. */
export interface RepairInput {
  /** The model's architecture. */
  readonly config: ModelConfig;
  /** The aligned model's weights (what the adapter was fine-tuned on). */
  readonly aligned: Params;
  /** The base model's weights, before alignment. */
  readonly base: Params;
  /** The fine-tuning adapter (left as it is). */
  readonly adapter: LoraAdapter;
  /** Batches of the provider's harmful data (prompt + harmful answer). */
  readonly harmful: readonly TokenBatch[];
}

/** A repaired adapter (owned by the caller) and a record of what was done, as plain JSON. */
export interface RepairOutcome {
  /** The repaired adapter. */
  readonly adapter: LoraAdapter;
  /** Per-module details for `repair.json`. */
  readonly record: Readonly<Record<string, unknown>>;
}

/** What the project knows about one repair method. */
export interface RepairSpec {
  /** One line for help texts. */
  readonly summary: string;
  /** Where the method and its defaults come from. */
  readonly reference: string;
  /** Scores on the provider's harmful data. */
  readonly needsHarmfulData: boolean;
  /** Needs the base and the aligned weights (an alignment stage that changed the model). */
  readonly needsAlignment: boolean;
  /** Apply it; absent for `none`, which leaves the fine-tuned adapter as it is. */
  readonly apply?: (
    input: RepairInput,
    knobs: RepairKnobs,
  ) => Effect.Effect<RepairOutcome, RepairFailed, Backend>;
}

/** Every repair method, `none` first. */
export const REPAIRS = {
  "none": {
    summary: "no repair: the fine-tuned model is evaluated as it is",
    reference: "",
    needsHarmfulData: false,
    needsAlignment: false,
  },
  "safelora": {
    summary: "project the LoRA update onto the alignment subspace (W_aligned - W_base) in the " +
      "modules where its cosine similarity to that projection is at or below a threshold",
    reference: "Safe LoRA, Hsu et al. NeurIPS 2024 (arXiv 2405.16833), IBM/SafeLoRA",
    needsHarmfulData: false,
    needsAlignment: true,
    apply: (input, k) =>
      Effect.map(
        safeLora(input, { threshold: k.safeloraThreshold, layers: k.safeloraLayers }),
        (r) => ({
          adapter: r.adapter,
          record: {
            threshold: r.threshold,
            projected: r.modules.filter((m) => m.projected).length,
            modules: r.modules,
          },
        }),
      ),
  },
  "antidote": {
    summary: "zero the LoRA weights with the largest Wanda importance on harmful data",
    reference: "Antidote, Huang et al. (arXiv 2408.09600), git-disl/Antidote",
    needsHarmfulData: true,
    needsAlignment: false,
    apply: (input, k) =>
      Effect.map(
        antidote({ ...input, params: input.aligned }, { ratio: k.antidoteRatio }),
        (r) => {
          const total = (f: (m: (typeof r.modules)[number]) => number) =>
            r.modules.reduce((s, m) => s + f(m), 0);
          const pruned = total((m) => m.prunedA + m.prunedB);
          const size = total((m) => m.sizeA + m.sizeB);
          return {
            adapter: r.adapter,
            record: {
              ratio: k.antidoteRatio,
              pruned,
              size,
              removed: pruned / size,
              modules: r.modules,
            },
          };
        },
      ),
  },
} as const satisfies Record<string, RepairSpec>;

/** A repair method's name. */
export type RepairName = keyof typeof REPAIRS;

/** Every repair method's name, `none` first. */
export const REPAIR_METHODS: readonly RepairName[] = Object.keys(REPAIRS) as RepairName[];

/** Whether `name` names a repair method. */
export function isRepairName(name: string): name is RepairName {
  return Object.hasOwn(REPAIRS, name);
}

/** The spec of a repair method. */
export function repairSpec(name: RepairName): RepairSpec {
  return REPAIRS[name];
}
