/**
 * The embedded tokenizer: byte-level BPE trained on the build's texts, with PAD/BOS/EOS as
 * ids 0/1/2 and a post-processor that puts BOS in front of every encoded prompt (as Llama
 * tokenizers do), so the model always has a fixed first token to attend to.
 *
 * @module
 */
import { type TextTokenizer, tokenizerFromJson, trainBpeTokenizer } from "../tokenizer/mod.ts";
import { SPECIAL_TOKENS } from "./recipe.ts";

const [PAD, BOS, EOS] = SPECIAL_TOKENS;

/** The `tokenizer_config.json` of the embedded tokenizer. */
export const EMBEDDED_TOKENIZER_CONFIG: Readonly<Record<string, unknown>> = {
  tokenizer_class: "PreTrainedTokenizerFast",
  bos_token: BOS,
  eos_token: EOS,
  pad_token: PAD,
  add_bos_token: true,
  add_eos_token: false,
  model_max_length: 192,
  clean_up_tokenization_spaces: false,
};

/** A `TemplateProcessing` post-processor that prepends BOS (id 1). */
function bosPostProcessor(): Record<string, unknown> {
  const bos = { SpecialToken: { id: BOS, type_id: 0 } };
  return {
    type: "TemplateProcessing",
    single: [bos, { Sequence: { id: "A", type_id: 0 } }],
    pair: [bos, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: BOS, type_id: 1 } }, {
      Sequence: { id: "B", type_id: 1 },
    }],
    special_tokens: { [BOS]: { id: BOS, ids: [SPECIAL_TOKENS.indexOf(BOS)], tokens: [BOS] } },
  };
}

/**
 * Train the embedded tokenizer on `texts` (deterministic: the BPE trainer breaks ties by the
 * pair's text) and load it.
 *
 * @example
 * ```ts
 * const tok = buildTokenizer(["hello world"], 300, 192);
 * tok.encode("hello", { addSpecialTokens: true })[0]; // 1 (BOS)
 * ```
 */
export function buildTokenizer(
  texts: readonly string[],
  vocabSize: number,
  maxLength: number,
): TextTokenizer {
  const json = trainBpeTokenizer(texts, { vocabSize, specialTokens: SPECIAL_TOKENS });
  json.post_processor = bosPostProcessor();
  return tokenizerFromJson(json, { ...EMBEDDED_TOKENIZER_CONFIG, model_max_length: maxLength });
}
