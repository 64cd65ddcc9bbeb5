/**
 * LoRA hyper-parameters with PEFT's meaning, and the error for a bad adapter config or file.
 *
 * @module
 */
import { Data } from "effect";
import { LINEAR_MODULES, type LinearModule } from "../model/mod.ts";

/** A LoRA configuration (PEFT's `r`, `lora_alpha`, `lora_dropout`, `target_modules`). */
export interface LoraConfig {
  /** Rank of the update. */
  readonly r: number;
  /** The update is scaled by alpha / r. */
  readonly alpha: number;
  /** Dropout on the adapter's input during training, in [0, 1). */
  readonly dropout: number;
  /** Short names of the targeted linears (`q_proj`, `v_proj`, ...). */
  readonly targets: readonly string[];
  /** rsLoRA scaling alpha / sqrt(r) (PEFT `use_rslora`). Default false. */
  readonly useRslora?: boolean;
}

/** An adapter config or adapter file is not what was expected. */
export class AdapterInvalid extends Data.TaggedError("AdapterInvalid")<{
  readonly file: string;
  readonly field: string;
  readonly expected: string;
  readonly found: string;
}> {
  /** One line: file, field, expected vs found. */
  override get message(): string {
    return `${this.file}: ${this.field}: expected ${this.expected}, found ${this.found}`;
  }
}

/** The scaling factor the update is multiplied by: alpha / r, or alpha / sqrt(r) with rsLoRA. */
export function loraScaling(c: Pick<LoraConfig, "r" | "alpha" | "useRslora">): number {
  return c.useRslora ? c.alpha / Math.sqrt(c.r) : c.alpha / c.r;
}

/** Check a LoRA config, returning its targets as linear module names. */
export function validateLoraConfig(c: LoraConfig, file = "<lora config>"): LinearModule[] {
  const bad = (field: string, expected: string, found: unknown): never => {
    throw new AdapterInvalid({ file, field, expected, found: JSON.stringify(found) });
  };
  if (!Number.isInteger(c.r) || c.r <= 0) bad("r", "a positive integer", c.r);
  if (!(typeof c.alpha === "number" && c.alpha > 0)) bad("alpha", "a positive number", c.alpha);
  if (!(c.dropout >= 0 && c.dropout < 1)) bad("dropout", "a number in [0, 1)", c.dropout);
  if (c.targets.length === 0) bad("targets", "at least one module", c.targets);
  for (const t of c.targets) {
    if (!(LINEAR_MODULES as readonly string[]).includes(t)) {
      bad("targets", `names among ${LINEAR_MODULES.join(", ")}`, t);
    }
  }
  return c.targets as LinearModule[];
}
