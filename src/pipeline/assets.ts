/**
 * Where the model, tokenizer and judge of an experiment come from: a user folder, or the
 * project's shipped embedded assets (`assets/embedded/`, built by `deno task build-assets`).
 *
 * @module
 */
import { Data, Effect, type Scope } from "effect";
import { Backend } from "../../backends/mod.ts";
import type { ExperimentConfig } from "../config/mod.ts";
import { loadAdapter, type LoraAdapter } from "../lora/mod.ts";
import {
  disposeParams,
  loadModel,
  loadModelConfig,
  type ModelConfig,
  type Params,
} from "../model/mod.ts";
import { loadTokenizer } from "../tokenizer/mod.ts";
import type { LoadedLm } from "./stages.ts";

/** The shipped embedded assets folder. */
export const EMBEDDED_ROOT: string = new URL("../../assets/embedded/", import.meta.url).pathname
  .replace(/\/$/, "");

/** The shipped base model (config.json, model.safetensors, tokenizer.json). */
export const EMBEDDED_DIR = `${EMBEDDED_ROOT}/base`;

/** The shipped moderation judge. */
export const EMBEDDED_JUDGE_DIR = `${EMBEDDED_ROOT}/judge`;

/** A model, tokenizer or judge folder could not be loaded. */
export class AssetInvalid extends Data.TaggedError("AssetInvalid")<{
  readonly path: string;
  readonly detail: string;
}> {
  /** One line: the folder and what is wrong. */
  override get message(): string {
    return `cannot load ${this.path}: ${this.detail}`;
  }
}

const why = (e: unknown): string =>
  typeof e === "object" && e !== null && "message" in e ? String(e.message) : String(e);

/** The model folder an experiment uses. */
export function modelDir(cfg: ExperimentConfig): string {
  return cfg.model.path || EMBEDDED_DIR;
}

/**
 * Load the model and its tokenizer, owned by the current scope (its weights are freed when
 * the scope closes, whatever ends it). The config and tokenizer are checked (the tokenizer's
 * ids must fit the model's vocabulary) before the weights are read; any failure is one
 * {@link AssetInvalid} naming the folder and the file.
 */
export function loadLm(dir: string): Effect.Effect<LoadedLm, AssetInvalid, Backend | Scope.Scope> {
  return Effect.acquireRelease(readLm(dir), (lm) => Effect.sync(() => disposeParams(lm.params)));
}

function readLm(dir: string): Effect.Effect<LoadedLm, AssetInvalid, Backend> {
  return Effect.flatMap(Effect.service(Backend), () =>
    Effect.tryPromise({
      try: async () => {
        try {
          await Deno.stat(`${dir}/config.json`);
        } catch {
          throw new AssetInvalid({
            path: dir,
            detail: dir === EMBEDDED_DIR
              ? "the embedded model is missing; build it with `deno task build-assets`"
              : "no config.json here (expected a Hugging Face model folder)",
          });
        }
        const config = await loadModelConfig(dir);
        const tokenizer = await loadTokenizer(dir, { vocabLimit: config.vocabSize });
        if (tokenizer.vocabSize > config.vocabSize) {
          throw new AssetInvalid({
            path: dir,
            detail:
              `tokenizer.json uses ids up to ${tokenizer.vocabSize - 1} but config.json has ` +
              `vocab_size ${config.vocabSize} (the model embeds ids 0..${config.vocabSize - 1}): ` +
              "the tokenizer and the model do not belong together",
          });
        }
        const { params } = await loadModel(dir, config);
        return { config, params, tokenizer };
      },
      catch: (e) => e instanceof AssetInvalid ? e : new AssetInvalid({ path: dir, detail: why(e) }),
    }));
}

/**
 * Load a PEFT adapter folder for `model`, owned by the current scope; any failure is an
 * {@link AssetInvalid} (exit 2).
 */
export function loadAdapterFor(
  dir: string,
  model: ModelConfig,
): Effect.Effect<LoraAdapter, AssetInvalid, Backend | Scope.Scope> {
  return Effect.acquireRelease(readAdapter(dir, model), (a) => Effect.sync(() => a.dispose()));
}

function readAdapter(
  dir: string,
  model: ModelConfig,
): Effect.Effect<LoraAdapter, AssetInvalid, Backend> {
  return Effect.flatMap(Effect.service(Backend), () =>
    Effect.tryPromise({
      try: async () => {
        let info: Deno.FileInfo | null = null;
        try {
          info = await Deno.stat(dir);
        } catch {
          // reported below
        }
        if (!info?.isDirectory) {
          throw new AssetInvalid({
            path: dir,
            detail: info ? "not a folder (expected a PEFT adapter folder)" : "no such folder",
          });
        }
        return await loadAdapter(dir, model);
      },
      catch: (e) => e instanceof AssetInvalid ? e : new AssetInvalid({ path: dir, detail: why(e) }),
    }));
}

/**
 * Load the aligned model a finished alignment stage saved, owned by the current scope;
 * failures are {@link AssetInvalid}.
 */
export function loadAlignedModel(
  dir: string,
): Effect.Effect<Params, AssetInvalid, Backend | Scope.Scope> {
  return Effect.acquireRelease(
    Effect.flatMap(Effect.service(Backend), () =>
      Effect.tryPromise({
        try: async () => (await loadModel(dir)).params,
        catch: (e) => new AssetInvalid({ path: dir, detail: why(e) }),
      })),
    (p) => Effect.sync(() => disposeParams(p)),
  );
}
