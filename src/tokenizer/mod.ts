/**
 * Tokenizers: Hugging Face `tokenizer.json` loading (through `@huggingface/tokenizers`),
 * special tokens with an added PAD when missing, batching helpers, and a small deterministic
 * byte-level BPE trainer that writes a real `tokenizer.json`.
 *
 * @example
 * ```ts
 * import { tokenizerFromJson, trainBpeTokenizer } from "./src/tokenizer/mod.ts";
 * const json = trainBpeTokenizer(["some text", "more text"], { vocabSize: 300, specialTokens: ["<s>", "</s>"] });
 * const tok = tokenizerFromJson(json, { bos_token: "<s>", eos_token: "</s>" });
 * tok.decode(tok.encode("some text")); // "some text"
 * ```
 *
 * @module
 */
export * from "./tokenizer.ts";
export * from "./batch.ts";
export * from "./bpe_train.ts";
