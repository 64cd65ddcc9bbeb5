/**
 * The one method registry: every training method's name, the stages it trains in, the options
 * it takes, how it is built from the experiment config, and what the report and the sweep
 * need to know about it (does K1:K2 apply? does rho?). The config schema reads its
 * choices from here, `createMethod` builds methods from here, and the report labels runs from
 * here; adding a method means one file beside this one and one entry below.
 *
 * @module
 */
import { booster } from "./booster.ts";
import { bso } from "./bso.ts";
import { ewc } from "./ewc.ts";
import { kl } from "./kl.ts";
import { ldifs } from "./ldifs.ts";
import { lisa } from "./lisa.ts";
import { naSft } from "./na_sft.ts";
import { repnoise } from "./repnoise.ts";
import { sft } from "./sft.ts";
import { tVaccine } from "./t_vaccine.ts";
import { TrainOptionInvalid } from "../errors.ts";
import type { Method } from "./types.ts";
import { vaccine } from "./vaccine.ts";
import { vlguard } from "./vlguard.ts";

/** The two pipeline stages a method can train in. */
export type MethodStage = "alignment" | "finetune";

/**
 * The method knobs of the experiment config: its `method` section, the alignment-stage
 * methods' knobs and the run seed.
 */
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
  /** LDIFS's feature-distance weight. */
  readonly ldifsLambda: number;
  /** Vaccine's perturbation radius. */
  readonly vaccineRho: number;
  /** Booster's weight on the harmful-loss drop. */
  readonly boosterLambda: number;
  /** Booster's simulated harmful step size. */
  readonly boosterAlpha: number;
  /** RepNoise's gradient-ascent weight. */
  readonly repnoiseAlpha: number;
  /** RepNoise's noise (MMD) weight. */
  readonly repnoiseBeta: number;
  /** T-Vaccine's perturbation radius. */
  readonly tvaccineRho: number;
  /** T-Vaccine's layers chosen at a time (S). */
  readonly tvaccineLayers: number;
  /** T-Vaccine's steps between layer draws (J). */
  readonly tvaccineResample: number;
  /** T-Vaccine's steps between layer-weight updates (K). */
  readonly tvaccineRefresh: number;
  /** The run seed (RepNoise's noise, T-Vaccine's layer draws). */
  readonly seed: number;
}

/** What the project knows about one method. */
export interface MethodSpec {
  /** The stages it may train in. */
  readonly stages: readonly MethodStage[];
  /** One line for help texts. */
  readonly summary: string;
  /** Where the method and its default settings come from (paper, authors' code). */
  readonly reference: string;
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
  /** Draws batches of the provider's harmful data (prompt + harmful answer) while training. */
  readonly needsHarmfulData: boolean;
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
    reference: "the common baseline (Lisa spec)",
    options: ["stage"],
    bistate: false,
    proximal: false,
    needsAlignedModel: true,
    mixesAlignmentData: false,
    needsHarmfulData: false,
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
    reference: "Lisa, Huang et al. NeurIPS 2024, Table 3 baseline",
    options: [],
    bistate: false,
    proximal: false,
    needsAlignedModel: false,
    mixesAlignmentData: false,
    needsHarmfulData: false,
    build: () => naSft(),
    create: () => naSft(),
  },
  "bso": {
    stages: ["finetune"],
    summary: "Bi-State Optimization: K1 alignment steps, K2 fine-tune steps, repeating",
    reference: "Lisa, Huang et al. NeurIPS 2024 (arXiv 2405.18641), git-disl/Lisa",
    options: ["alignmentSteps", "finetuneSteps"],
    bistate: true,
    proximal: false,
    needsAlignedModel: true,
    mixesAlignmentData: false,
    needsHarmfulData: false,
    build: (k) => bso({ alignmentSteps: k.alignmentSteps, finetuneSteps: k.finetuneSteps }),
    create: (o) => bso(numbers("bso", o, ["alignmentSteps", "finetuneSteps"])),
  },
  "lisa": {
    stages: ["finetune"],
    summary: "BSO plus the proximal term rho/2 ||w - w_anchor||^2",
    reference: "Lisa, Huang et al. NeurIPS 2024 (arXiv 2405.18641), git-disl/Lisa",
    options: ["alignmentSteps", "finetuneSteps", "rho", "proximalWarmup"],
    bistate: true,
    proximal: true,
    needsAlignedModel: true,
    mixesAlignmentData: false,
    needsHarmfulData: false,
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
    reference: "VLGuard, Zong et al. ICML 2024; guide-data mixing as in git-disl/Booster",
    options: ["alignmentSamples"],
    bistate: false,
    proximal: false,
    needsAlignedModel: true,
    mixesAlignmentData: true,
    needsHarmfulData: false,
    build: (k) => vlguard({ alignmentSamples: k.vlguardK }),
    create: (o) => vlguard(numbers("vlguard", o, ["alignmentSamples"])),
  },
  "ewc": {
    stages: ["finetune"],
    summary: "loss + lambda * sum F (w - w0)^2, Fisher from the alignment data",
    reference: "EWC, Kirkpatrick et al. PNAS 2017; lamb as in git-disl/Booster scripts",
    options: ["lambda"],
    bistate: false,
    proximal: false,
    needsAlignedModel: true,
    mixesAlignmentData: false,
    needsHarmfulData: false,
    build: (k) => ewc({ lambda: k.ewcLambda }),
    create: (o) => ewc(numbers("ewc", o, ["lambda"])),
  },
  "kl": {
    stages: ["finetune"],
    summary: "loss + lambda * KL to the aligned model's token distribution",
    reference: "KL-to-aligned-model regulariser (KLTrainer in Lslland/T-Vaccine)",
    options: ["lambda"],
    bistate: false,
    proximal: false,
    needsAlignedModel: true,
    mixesAlignmentData: false,
    needsHarmfulData: false,
    build: (k) => kl({ lambda: k.klLambda }),
    create: (o) => kl(numbers("kl", o, ["lambda"])),
  },
  "vaccine": {
    stages: ["alignment"],
    summary: "alignment with a per-layer hidden-state perturbation (two passes per step)",
    reference: "Vaccine, Huang et al. NeurIPS 2024 (arXiv 2402.01109), git-disl/Vaccine",
    options: ["rho"],
    bistate: false,
    proximal: false,
    needsAlignedModel: true,
    mixesAlignmentData: false,
    needsHarmfulData: false,
    build: (k) => vaccine({ rho: k.vaccineRho }),
    create: (o) => vaccine(numbers("vaccine", o, ["rho"])),
  },
  "booster": {
    stages: ["alignment"],
    summary: "alignment + lambda [h(w) - h(w - alpha g_h/||g_h||)], h the harmful loss",
    reference: "Booster, Huang et al. ICLR 2025 (arXiv 2409.01586), git-disl/Booster",
    options: ["lambda", "alpha"],
    bistate: false,
    proximal: false,
    needsAlignedModel: true,
    mixesAlignmentData: false,
    needsHarmfulData: true,
    build: (k) => booster({ lambda: k.boosterLambda, alpha: k.boosterAlpha }),
    create: (o) => booster(numbers("booster", o, ["lambda", "alpha"])),
  },
  "repnoise": {
    stages: ["alignment"],
    summary: "retain loss + beta * MMD(harmful representations, noise) - alpha log(1 + harmful)",
    reference:
      "RepNoise, Rosati et al. NeurIPS 2024 (arXiv 2405.14577), re-run in git-disl/Booster",
    options: ["alpha", "beta", "seed"],
    bistate: false,
    proximal: false,
    needsAlignedModel: true,
    mixesAlignmentData: false,
    needsHarmfulData: true,
    build: (k) => repnoise({ alpha: k.repnoiseAlpha, beta: k.repnoiseBeta, seed: k.seed }),
    create: (o) => repnoise(numbers("repnoise", o, ["alpha", "beta", "seed"])),
  },
  "t-vaccine": {
    stages: ["alignment"],
    summary: "Vaccine on S layers drawn by harmful-gradient norm; only those layers train",
    reference: "T-Vaccine, Liu et al. (arXiv 2410.09760), Lslland/T-Vaccine",
    options: ["rho", "layers", "resample", "refresh", "seed"],
    bistate: false,
    proximal: false,
    needsAlignedModel: true,
    mixesAlignmentData: false,
    needsHarmfulData: true,
    build: (k) =>
      tVaccine({
        rho: k.tvaccineRho,
        layers: k.tvaccineLayers,
        resample: k.tvaccineResample,
        refresh: k.tvaccineRefresh,
        seed: k.seed,
      }),
    create: (o) =>
      tVaccine(numbers("t-vaccine", o, ["rho", "layers", "resample", "refresh", "seed"])),
  },
  "ldifs": {
    stages: ["finetune"],
    summary: "loss + lambda/2 * sum over layers of ||features - aligned features||^2",
    reference: "LDIFS, Mukhoti et al. TMLR 2024 (arXiv 2308.13320), re-run in git-disl/Booster",
    options: ["lambda"],
    bistate: false,
    proximal: false,
    needsAlignedModel: true,
    mixesAlignmentData: false,
    needsHarmfulData: false,
    build: (k) => ldifs({ lambda: k.ldifsLambda }),
    create: (o) => ldifs(numbers("ldifs", o, ["lambda"])),
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

/**
 * The label of a model made by an alignment method, a fine-tuning method and a repair method:
 * the three joined by `+` (`vaccine+lisa+safelora`), leaving out the plain choices (SFT
 * alignment, no repair) so the common cases read as before (`lisa`, `vaccine+lisa`,
 * `lisa+antidote`). `alignment` is null for a model fine-tuned without an alignment stage.
 *
 * @example
 * ```ts
 * compositionLabel("sft", "lisa"); // "lisa"
 * compositionLabel("booster", "lisa", "safelora"); // "booster+lisa+safelora"
 * ```
 */
export function compositionLabel(
  alignment: string | null,
  finetune: string,
  repair: string | null = null,
): string {
  return [
    alignment && alignment !== "sft" ? alignment : null,
    finetune,
    repair && repair !== "none" ? repair : null,
  ].filter((x) => x !== null).join("+");
}
