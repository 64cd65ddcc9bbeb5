/**
 * Loading the shipped embedded assets in one call: checksums verified first, then the base
 * model, its tokenizer, the judge and the build record.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { Data, Effect } from "effect";
import { loadModerationClassifier, type ModerationClassifier } from "../eval/mod.ts";
import { type LoadedModel, loadModel } from "../model/mod.ts";
import { loadTokenizer, type TextTokenizer } from "../tokenizer/mod.ts";
import { type BuildRecord, embeddedAssetPaths } from "./build.ts";
import { type ChecksumProblem, verifyChecksums } from "./checksums.ts";

/** The committed asset folder, resolved from this file (independent of the working directory). */
export const EMBEDDED_ASSETS_ROOT: string = fileURLToPath(
  new URL("../../assets/embedded", import.meta.url),
);

/** The asset folder does not match its `checksums.json`. */
export class AssetsCorrupt extends Data.TaggedError("AssetsCorrupt")<{
  readonly dir: string;
  readonly problems: readonly ChecksumProblem[];
}> {
  /** One line per problem: file, expected and found digest. */
  override get message(): string {
    const lines = this.problems.map((p) => `  ${p.file}: expected ${p.expected}, found ${p.found}`);
    return `${this.dir}: files do not match checksums.json (rebuild with deno task build-assets)\n${
      lines.join("\n")
    }`;
  }
}

/** Everything the default run needs. */
export interface EmbeddedAssets extends LoadedModel {
  /** The base model's tokenizer. */
  readonly tokenizer: TextTokenizer;
  /** The embedded moderation judge. */
  readonly judge: ModerationClassifier;
  /** The recipe and measurements of the build. */
  readonly build: BuildRecord;
}

/**
 * Verify and load the embedded assets (the model's tensors go to the active backend; the
 * caller disposes them).
 *
 * @example
 * ```ts
 * await initBackend("auto");
 * const assets = await loadEmbeddedAssets();
 * console.log(assets.config.hiddenSize, assets.tokenizer.vocabSize);
 * ```
 * @throws {AssetsCorrupt} when a file is missing, changed or unlisted
 */
export async function loadEmbeddedAssets(
  root: string = EMBEDDED_ASSETS_ROOT,
): Promise<EmbeddedAssets> {
  const problems = await verifyChecksums(root);
  if (problems.length > 0) throw new AssetsCorrupt({ dir: root, problems });
  const paths = embeddedAssetPaths(root);
  const build = JSON.parse(await Deno.readTextFile(paths.build)) as BuildRecord;
  const tokenizer = await loadTokenizer(paths.base);
  const judge = await Effect.runPromise(loadModerationClassifier(paths.judge));
  const model = await loadModel(paths.base);
  return { ...model, tokenizer, judge, build };
}
