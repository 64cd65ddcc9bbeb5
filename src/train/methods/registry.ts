/**
 * The one method registry: every training method's name, the stages it trains in, the options
 * it takes, how it is built from the experiment config, and what the report and the sweep
 * need to know about it (does K1:K2 apply? does rho?). The config schema reads its
 * choices from here, `createMethod` builds methods from here, and the report labels runs from
 * here; adding a method means one file beside this one and one entry below.
 *
 * @module
 */
import { bso } from "./bso.ts";
import { ewc } from "./ewc.ts";
import { kl } from "./kl.ts";
import { lisa } from "./lisa.ts";
import { naSft } from "./na_sft.ts";
import { sft } from "./sft.ts";
import { TrainOptionInvalid } from "../errors.ts";
import type { Method } from "./types.ts";
import { vaccine } from "./vaccine.ts";
import { vlguard } from "./vlguard.ts";

/** The two pipeline stages a method can train in. */
export type MethodStage = "alignment" | "finetune";

/** The method knobs of the experiment config (its `method` section and Vaccine's rho). */
export interface MethodKnobs {
  /** K1: alignment-state steps per cycle. */
  readonly alignmentSteps: number;
  /** K2: fine-tune-state steps per cycle. */
  readonly finetuneSteps: number;
  /** Lisa's proximal strength. */
  readonly rho: number;
  /** Fraction of all steps with the proximal term off. */
  readonly proximalWarmup: number;
  /** Vlguard's alignment samples mixed into the user data. */
  readonly vlguardK: number;
  /** EWC's penalty weight. */
  readonly ewcLambda: number;
  /** KL's penalty weight. */
  readonly klLambda: number;
  /** Vaccine's perturbation radius. */
  readonly vaccineRho: number;
}

/** What the project knows about one method. */
export interface MethodSpec {
  /** The stages it may train in. */
  readonly stages: readonly MethodStage[];
  /** One line for help texts. */
  readonly summary: string;
  /** The option keys its factory accepts. */
  readonly options: readonly string[];
  /** Alternates alignment and fine-tune states, so K1:K2 applies. */
  readonly bistate: boolean;
  /** Uses Lisa's proximal term, so rho applies. */
  readonly proximal: boolean;
  /** Fine-tunes the aligned model (false: the base model, no alignment stage). */
  readonly needsAlignedModel: boolean;
  /** Mixes alignment samples into the user data before training (Vlguard). */
  readonly mixesAlignmentData: boolean;
  /** Build it from the config's knobs, for the stage it trains in (typed, no re-parsing). */
  readonly build: (k: MethodKnobs, stage: MethodStage) => Method;
  /**
   * Build it from loosely typed options (`createMethod`); a value of the wrong type or out of
   * range throws `TrainOptionInvalid`.
   */
  readonly create: (options: Record<string, unknown>) => Method;
}

/** The numeric options `keys` of `o`; a present non-number is a {@link TrainOptionInvalid}. */
function numbers<K extends string>(
  method: string,
  o: Record<string, unknown>,
  keys: readonly K[],
): { [P in K]?: number } {
  const out: { [P in K]?: number } = {};
  for (const k of keys) {
    const v = o[k];
    if (v === undefined) continue;
    if (typeof v !== "number") {
      throw new TrainOptionInvalid({ field: `${method}.${k}`, expected: "a number", found: v });
    }
    out[k] = v;
  }
  return out;
}

/** Every method, in the order help texts and the config list them. */
export const METHODS = {
  "sft": {
    stages: ["alignment", "finetune"],
    summary: "plain LoRA training on one data source (user data, or alignment data)",
    options: ["stage"],
    bistate: false,
    proximal: false,
    needsAlignedModel: true,
    mixesAlignmentData: false,
    build: (_k, stage) => sft({ stage }),
    create: (o) => {
      if (o.stage !== undefined && o.stage !== "alignment" && o.stage !== "finetune") {
        throw new TrainOptionInvalid({
          field: "sft.stage",
          expected: "alignment or finetune",
          found: o.stage,
        });
      }
      return sft(o.stage === undefined ? {} : { stage: o.stage });
    },
  },
  "na-sft": {
    stages: ["finetune"],
    summary: "SFT on the base model, no alignment stage",
    options: [],
    bistate: false,
    proximal: false,
    needsAlignedModel: false,
    mixesAlignmentData: false,
    build: () => naSft(),
    create: () => naSft(),
  },
  "bso": {
    stages: ["finetune"],
    summary: "Bi-State Optimization: K1 alignment steps, K2 fine-tune steps, repeating",
    options: ["alignmentSteps", "finetuneSteps"],
    bistate: true,
    proximal: false,
    needsAlignedModel: true,
    mixesAlignmentData: false,
    build: (k) => bso({ alignmentSteps: k.alignmentSteps, finetuneSteps: k.finetuneSteps }),
    create: (o) => bso(numbers("bso", o, ["alignmentSteps", "finetuneSteps"])),
  },
  "lisa": {
    stages: ["finetune"],
    summary: "BSO plus the proximal term rho/2 ||w - w_anchor||^2",
    options: ["alignmentSteps", "finetuneSteps", "rho", "proximalWarmup"],
    bistate: true,
    proximal: true,
    needsAlignedModel: true,
    mixesAlignmentData: false,
    build: (k) =>
      lisa({
        alignmentSteps: k.alignmentSteps,
        finetuneSteps: k.finetuneSteps,
        rho: k.rho,
        proximalWarmup: k.proximalWarmup,
      }),
    create: (o) =>
      lisa(numbers("lisa", o, ["alignmentSteps", "finetuneSteps", "rho", "proximalWarmup"])),
  },
  "vlguard": {
    stages: ["finetune"],
    summary: "k alignment samples mixed into the user data, then SFT",
    options: ["alignmentSamples"],
    bistate: false,
    proximal: false,
    needsAlignedModel: true,
    mixesAlignmentData: true,
    build: (k) => vlguard({ alignmentSamples: k.vlguardK }),
    create: (o) => vlguard(numbers("vlguard", o, ["alignmentSamples"])),
  },
  "ewc": {
    stages: ["finetune"],
    summary: "loss + lambda * sum F (w - w0)^2, Fisher from the alignment data",
    options: ["lambda"],
    bistate: false,
    proximal: false,
    needsAlignedModel: true,
    mixesAlignmentData: false,
    build: (k) => ewc({ lambda: k.ewcLambda }),
    create: (o) => ewc(numbers("ewc", o, ["lambda"])),
  },
  "kl": {
    stages: ["finetune"],
    summary: "loss + lambda * KL to the aligned model's token distribution",
    options: ["lambda"],
    bistate: false,
    proximal: false,
    needsAlignedModel: true,
    mixesAlignmentData: false,
    build: (k) => kl({ lambda: k.klLambda }),
    create: (o) => kl(numbers("kl", o, ["lambda"])),
  },
  "vaccine": {
    stages: ["alignment"],
    summary: "alignment with a per-layer hidden-state perturbation (two passes per step)",
    options: ["rho"],
    bistate: false,
    proximal: false,
    needsAlignedModel: true,
    mixesAlignmentData: false,
    build: (k) => vaccine({ rho: k.vaccineRho }),
    create: (o) => vaccine(numbers("vaccine", o, ["rho"])),
  },
} as const satisfies Record<string, MethodSpec>;

/** A method name. */
export type MethodName = keyof typeof METHODS;

/** Every method name, in registry order. */
export const METHOD_NAMES: readonly MethodName[] = Object.keys(METHODS).filter(isMethodName);

/** Whether `name` names a registered method. */
export function isMethodName(name: string): name is MethodName {
  return Object.hasOwn(METHODS, name);
}

/** The spec of a registered method. */
export function methodSpec(name: MethodName): MethodSpec {
  return METHODS[name];
}

type StageMethods<S extends MethodStage> = {
  [K in MethodName]: S extends (typeof METHODS)[K]["stages"][number] ? K : never;
}[MethodName];

/** A method of the fine-tuning stage (defenses and baselines). */
export type FinetuneMethodName = StageMethods<"finetune">;

/** A method of the alignment stage. */
export type AlignmentMethodName = StageMethods<"alignment">;

const trainsIn = <S extends MethodStage>(stage: S) => (n: MethodName): n is StageMethods<S> =>
  (METHODS[n].stages as readonly MethodStage[]).includes(stage);

/** Fine-tuning-stage methods, in registry order. */
export const FINETUNE_METHODS: readonly FinetuneMethodName[] = METHOD_NAMES.filter(
  trainsIn("finetune"),
);

/** Alignment-stage methods, in registry order. */
export const ALIGNMENT_METHODS: readonly AlignmentMethodName[] = METHOD_NAMES.filter(
  trainsIn("alignment"),
);
