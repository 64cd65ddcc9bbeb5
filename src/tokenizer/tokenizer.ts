/**
 * Hugging Face `tokenizer.json` (+ `tokenizer_config.json`) loading through
 * `@huggingface/tokenizers`, with BOS/EOS/PAD resolved from the config and a PAD token added
 * when the tokenizer has none.
 *
 * @module
 */
import { Tokenizer } from "@huggingface/tokenizers";
import { Data } from "effect";
import {
  MAX_CONFIG_JSON_BYTES,
  MAX_TOKENIZER_JSON_BYTES,
  pathExistsSync,
  readTextChecked,
  writeFileAtomic,
} from "../io/mod.ts";

/** A tokenizer file or config is malformed or lacks something required. */
export class TokenizerInvalid extends Data.TaggedError("TokenizerInvalid")<{
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

/** Model types the loader accepts (WordLevel is refused: unknown words would lose their id). */
export const SUPPORTED_TOKENIZER_MODELS = ["BPE", "Unigram", "WordPiece"] as const;

/** A loaded tokenizer with resolved special ids. */
export interface TextTokenizer {
  /** Largest id + 1, added tokens included: the embedding needs at least this many rows. */
  readonly vocabSize: number;
  /** Beginning-of-sequence id, or null when the tokenizer has none. */
  readonly bosId: number | null;
  /** End-of-sequence id. */
  readonly eosId: number;
  /** Padding id (an added PAD token when the tokenizer had none). */
  readonly padId: number;
  /** True when PAD was missing and this loader added it. */
  readonly addedPad: boolean;
  /** The tokenizer.json object in use (with the added PAD, if any). */
  readonly json: Readonly<Record<string, unknown>>;
  /** The tokenizer_config.json object in use (with `pad_token` set). */
  readonly config: Readonly<Record<string, unknown>>;
  /** Token ids of `text`; `addSpecialTokens` applies the post-processor (e.g. BOS). */
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  /** Text of `ids`; special tokens are skipped by default. */
  decode(ids: readonly number[], opts?: { skipSpecialTokens?: boolean }): string;
  /** The id of a token string, or undefined. */
  tokenToId(token: string): number | undefined;
}

const tokenText = (v: unknown): string | null =>
  typeof v === "string" ? v : (typeof v === "object" && v !== null &&
      typeof (v as { content?: unknown }).content === "string")
    ? (v as { content: string }).content
    : null;

/** Options of {@link tokenizerFromJson} and {@link loadTokenizer}. */
export interface TokenizerOptions {
  /** Ids must stay below this (the model's `vocab_size`); decides how a missing PAD is made. */
  readonly vocabLimit?: number;
}

/** The PAD token text added when a tokenizer has none. */
export const ADDED_PAD = "<pad>";

/**
 * Build a tokenizer from `tokenizer.json` and `tokenizer_config.json` objects. Without a PAD
 * token one is added after the largest id, unless that id would not fit `opts.vocabLimit`
 * (the model's embedding rows, e.g. Llama 3's 128256): then EOS doubles as PAD, which is safe
 * because padding is excluded by the attention mask and the labels, never by its id.
 *
 * @throws {TokenizerInvalid} for a malformed tokenizer.json, an unsupported model type, or a
 *   missing/unknown EOS token
 */
export function tokenizerFromJson(
  json: unknown,
  config: Record<string, unknown> = {},
  file = "tokenizer.json",
  opts: TokenizerOptions = {},
): TextTokenizer {
  const bad = (field: string, expected: string, found: unknown, f = file): never => {
    throw new TokenizerInvalid({
      file: f,
      field,
      expected,
      found: JSON.stringify(found) ?? "nothing",
    });
  };
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    bad("<root>", "a JSON object", json);
  }
  const j = json as Record<string, unknown>;
  const model = j.model as Record<string, unknown> | undefined;
  if (typeof model !== "object" || model === null) bad("model", "an object", model);
  if (!(SUPPORTED_TOKENIZER_MODELS as readonly unknown[]).includes(model!.type)) {
    bad("model.type", SUPPORTED_TOKENIZER_MODELS.join(" | "), model!.type);
  }
  if (typeof model!.vocab !== "object" || model!.vocab === null) {
    bad("model.vocab", "a vocabulary", model!.vocab);
  }
  const added = j.added_tokens ?? [];
  if (!Array.isArray(added)) bad("added_tokens", "a list", added);
  const cfgFile = "tokenizer_config.json";
  const eosText = tokenText(config.eos_token);
  const bosText = tokenText(config.bos_token);
  let padText = tokenText(config.pad_token);
  let tokenJson: Record<string, unknown> = j;
  let tok = construct(tokenJson, config, file);
  const allIds = () => [...tok.get_vocab(true).values()];
  if (eosText === null) bad("eos_token", "a token", config.eos_token, cfgFile);
  const eosId = tok.token_to_id(eosText!);
  if (eosId === undefined) bad("eos_token", "a token in the vocabulary", eosText, cfgFile);
  const bosId = bosText === null ? null : tok.token_to_id(bosText) ?? null;
  let addedPad = false;
  const nextId = () => Math.max(-1, ...allIds()) + 1;
  if (
    (padText === null || tok.token_to_id(padText) === undefined) &&
    opts.vocabLimit !== undefined && nextId() >= opts.vocabLimit
  ) {
    padText = eosText!;
  }
  if (padText === null || tok.token_to_id(padText) === undefined) {
    padText = padText ?? ADDED_PAD;
    const id = nextId();
    tokenJson = {
      ...j,
      added_tokens: [...(added as unknown[]), {
        id,
        content: padText,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      }],
    };
    tok = construct(tokenJson, { ...config, pad_token: padText }, file);
    addedPad = true;
  }
  const padId = tok.token_to_id(padText)!;
  const finalConfig = { ...config, pad_token: padText };
  return {
    vocabSize: Math.max(...allIds()) + 1,
    bosId,
    eosId: eosId!,
    padId,
    addedPad,
    json: tokenJson,
    config: finalConfig,
    encode: (text, opts = {}) =>
      tok.encode(text, { add_special_tokens: opts.addSpecialTokens ?? false }).ids,
    decode: (ids, opts = {}) =>
      ids.length === 0 ? "" : tok.decode([...ids], {
        skip_special_tokens: opts.skipSpecialTokens ?? true,
        clean_up_tokenization_spaces: false,
      }),
    tokenToId: (t) => tok.token_to_id(t),
  };
}

function construct(
  json: Record<string, unknown>,
  config: Record<string, unknown>,
  file: string,
): Tokenizer {
  try {
    return new Tokenizer(json, config);
  } catch (e) {
    throw new TokenizerInvalid({
      file,
      field: "<tokenizer>",
      expected: "a tokenizer the library can build",
      found: e instanceof Error ? e.message : String(e),
    });
  }
}

async function readJson(
  file: string,
  optional: boolean,
  maxBytes: number,
): Promise<Record<string, unknown> | null> {
  if (optional && !pathExistsSync(file)) return null;
  const text = await readTextChecked(file, { maxBytes, what: "tokenizer" });
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TokenizerInvalid({
      file,
      field: "<root>",
      expected: "valid JSON",
      found: e instanceof Error ? e.message : String(e),
    });
  }
}

/** Load `<dir>/tokenizer.json` and (when present) `<dir>/tokenizer_config.json`. */
export async function loadTokenizer(
  dir: string,
  opts: TokenizerOptions = {},
): Promise<TextTokenizer> {
  const file = `${dir}/tokenizer.json`;
  const json = await readJson(file, false, MAX_TOKENIZER_JSON_BYTES);
  const config = (await readJson(`${dir}/tokenizer_config.json`, true, MAX_CONFIG_JSON_BYTES)) ??
    {};
  return tokenizerFromJson(json, config, file, opts);
}

/** Write `tokenizer.json` and `tokenizer_config.json` (atomically). */
export async function saveTokenizer(dir: string, tok: TextTokenizer): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await writeFileAtomic(`${dir}/tokenizer.json`, JSON.stringify(tok.json) + "\n");
  await writeFileAtomic(`${dir}/tokenizer_config.json`, JSON.stringify(tok.config, null, 2) + "\n");
}
