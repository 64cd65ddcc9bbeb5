import { Data } from "effect";

/** The architectures this decoder implements. */
export const SUPPORTED_ARCHITECTURES = [
  "LlamaForCausalLM",
  "MistralForCausalLM",
  "Qwen2ForCausalLM",
] as const;

/** A model `config.json` is missing a field, has a wrong type, or names an unsupported model. */
export class ModelConfigInvalid extends Data.TaggedError("ModelConfigInvalid")<{
  readonly file: string;
  readonly field: string;
  readonly expected: string;
  readonly found: string;
}> {
  /** One line: file, field, expected vs found. */
  override get message(): string {
    return `${this.file}: field '${this.field}': expected ${this.expected}, found ${this.found}`;
  }
}

/** A model folder's weights do not match its config (missing tensor, wrong shape). */
export class ModelWeightsInvalid extends Data.TaggedError("ModelWeightsInvalid")<{
  readonly file: string;
  readonly tensor: string;
  readonly expected: string;
  readonly found: string;
}> {
  /** One line: file, tensor, expected vs found. */
  override get message(): string {
    return `${this.file}: tensor '${this.tensor}': expected ${this.expected}, found ${this.found}`;
  }
}
