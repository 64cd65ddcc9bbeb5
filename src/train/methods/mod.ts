/**
 * Every training method behind one interface, and a factory from a config's name and options.
 *
 * @module
 */
import { Effect } from "effect";
import { TrainOptionInvalid } from "../errors.ts";
import { booster, type BoosterOptions } from "./booster.ts";
import { bso, type BsoOptions } from "./bso.ts";
import { ewc, type EwcOptions } from "./ewc.ts";
import { kl, type KlOptions } from "./kl.ts";
import { ldifs, type LdifsOptions } from "./ldifs.ts";
import { lisa, type LisaOptions } from "./lisa.ts";
import { naSft } from "./na_sft.ts";
import { repnoise, type RepNoiseOptions } from "./repnoise.ts";
import { sft, type SftOptions } from "./sft.ts";
import { tVaccine, type TVaccineOptions } from "./t_vaccine.ts";
import { vaccine, type VaccineOptions } from "./vaccine.ts";
import { vlguard, type VlguardOptions } from "./vlguard.ts";
import { isMethodName, METHOD_NAMES, methodSpec } from "./registry.ts";
import type { Method } from "./types.ts";

export * from "./types.ts";
export * from "./registry.ts";
export { booster, bso, ewc, kl, ldifs, lisa, naSft, repnoise, sft, tVaccine, vaccine, vlguard };
export type {
  BoosterOptions,
  BsoOptions,
  EwcOptions,
  KlOptions,
  LdifsOptions,
  LisaOptions,
  RepNoiseOptions,
  SftOptions,
  TVaccineOptions,
  VaccineOptions,
  VlguardOptions,
};
export { LISA_DEFAULTS } from "./lisa.ts";
export { diagonalFisher } from "./ewc.ts";
export { klDivergence } from "./kl.ts";
export { hiddenGradients, vaccinePerturbation } from "./vaccine.ts";
export { BOOSTER_DEFAULTS, type HarmfulDrop, harmfulDrop } from "./booster.ts";
export {
  mmd,
  noiseTerm,
  REPNOISE_DEFAULTS,
  type RepNoiseParts,
  repNoiseParts,
} from "./repnoise.ts";
export { drawLayers, layerOf, T_VACCINE_DEFAULTS } from "./t_vaccine.ts";
export { featureDistance, LDIFS_DEFAULTS } from "./ldifs.ts";

/** Options of any method, keyed loosely; each factory reads the ones it knows. */
export type MethodOptions =
  & SftOptions
  & LisaOptions
  & VlguardOptions
  & EwcOptions
  & VaccineOptions
  & BoosterOptions
  & RepNoiseOptions
  & TVaccineOptions
  & LdifsOptions;

/**
 * Build the method `name` from `options`, throwing {@link TrainOptionInvalid} for an unknown
 * name, an option the method does not take, or a value out of range.
 *
 * @example
 * ```ts
 * const m = createMethod("lisa", { alignmentSteps: 100, finetuneSteps: 900, rho: 1 });
 * ```
 */
export function createMethod(name: string, options: Record<string, unknown> = {}): Method {
  if (!isMethodName(name)) {
    throw new TrainOptionInvalid({
      field: "method",
      expected: `one of ${METHOD_NAMES.join(", ")}`,
      found: name,
    });
  }
  const spec = methodSpec(name);
  for (const key of Object.keys(options)) {
    if (!spec.options.includes(key)) {
      throw new TrainOptionInvalid({
        field: `${name}.${key}`,
        expected: spec.options.length ? `one of ${spec.options.join(", ")}` : "no options",
        found: key,
      });
    }
  }
  return spec.create(options);
}

/** {@link createMethod} as an Effect failing with {@link TrainOptionInvalid}. */
export function methodEffect(
  name: string,
  options: Record<string, unknown> = {},
): Effect.Effect<Method, TrainOptionInvalid> {
  return Effect.try({
    try: () => createMethod(name, options),
    catch: (e) =>
      e instanceof TrainOptionInvalid
        ? e
        : new TrainOptionInvalid({ field: "method", expected: "valid options", found: String(e) }),
  });
}
