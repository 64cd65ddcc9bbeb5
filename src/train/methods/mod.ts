/**
 * Every training method behind one interface, and a factory from a config's name and options.
 *
 * @module
 */
import { Effect } from "effect";
import { ConfigInvalid } from "../errors.ts";
import { bso, type BsoOptions } from "./bso.ts";
import { ewc, type EwcOptions } from "./ewc.ts";
import { kl, type KlOptions } from "./kl.ts";
import { lisa, type LisaOptions } from "./lisa.ts";
import { naSft } from "./na_sft.ts";
import { sft, type SftOptions } from "./sft.ts";
import { vaccine, type VaccineOptions } from "./vaccine.ts";
import { vlguard, type VlguardOptions } from "./vlguard.ts";
import { type Method, METHOD_NAMES, type MethodName } from "./types.ts";

export * from "./types.ts";
export { bso, ewc, kl, lisa, naSft, sft, vaccine, vlguard };
export type {
  BsoOptions,
  EwcOptions,
  KlOptions,
  LisaOptions,
  SftOptions,
  VaccineOptions,
  VlguardOptions,
};
export { LISA_DEFAULTS } from "./lisa.ts";
export { diagonalFisher } from "./ewc.ts";
export { klDivergence } from "./kl.ts";
export { hiddenGradients, vaccinePerturbation } from "./vaccine.ts";

/** Options of any method, keyed loosely; each factory reads the ones it knows. */
export type MethodOptions =
  & SftOptions
  & LisaOptions
  & VlguardOptions
  & EwcOptions
  & VaccineOptions;

const KNOWN: Record<MethodName, readonly string[]> = {
  "sft": ["stage"],
  "na-sft": [],
  "bso": ["alignmentSteps", "finetuneSteps"],
  "lisa": ["alignmentSteps", "finetuneSteps", "rho", "proximalWarmup"],
  "vlguard": ["alignmentSamples"],
  "ewc": ["lambda"],
  "kl": ["lambda"],
  "vaccine": ["rho"],
};

/**
 * Build the method `name` from `options`, throwing {@link ConfigInvalid} for an unknown name,
 * an option the method does not take, or a value out of range.
 *
 * @example
 * ```ts
 * const m = createMethod("lisa", { alignmentSteps: 100, finetuneSteps: 900, rho: 1 });
 * ```
 */
export function createMethod(name: string, options: Record<string, unknown> = {}): Method {
  if (!(METHOD_NAMES as readonly string[]).includes(name)) {
    throw new ConfigInvalid({
      field: "method",
      expected: `one of ${METHOD_NAMES.join(", ")}`,
      found: name,
    });
  }
  const m = name as MethodName;
  for (const key of Object.keys(options)) {
    if (!KNOWN[m].includes(key)) {
      throw new ConfigInvalid({
        field: `${m}.${key}`,
        expected: KNOWN[m].length ? `one of ${KNOWN[m].join(", ")}` : "no options",
        found: key,
      });
    }
  }
  const o = options as MethodOptions;
  switch (m) {
    case "sft":
      return sft(o);
    case "na-sft":
      return naSft();
    case "bso":
      return bso(o);
    case "lisa":
      return lisa(o);
    case "vlguard":
      return vlguard(o);
    case "ewc":
      return ewc(o);
    case "kl":
      return kl(o);
    case "vaccine":
      return vaccine(o);
  }
}

/** {@link createMethod} as an Effect failing with {@link ConfigInvalid}. */
export function methodEffect(
  name: string,
  options: Record<string, unknown> = {},
): Effect.Effect<Method, ConfigInvalid> {
  return Effect.try({
    try: () => createMethod(name, options),
    catch: (e) =>
      e instanceof ConfigInvalid
        ? e
        : new ConfigInvalid({ field: "method", expected: "valid options", found: String(e) }),
  });
}
