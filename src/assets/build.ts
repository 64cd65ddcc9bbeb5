/**
 * Build the embedded assets: tokenizer, base model, moderation judge, `build.json` and
 * `checksums.json`, from the recipe's fixed seeds. The folder is assembled beside the target
 * and swapped in by renames, so a reader never sees a half-built folder.
 *
 * ```sh
 * deno task build-assets [--out assets/embedded] [--backend auto] [--quick]
 * deno task build-assets --judge-only    # retrain the judge, keep the base model's bytes
 * ```
 *
 * @module
 */
import { Data, Effect } from "effect";
import {
  BACKEND_NAMES,
  type BackendChoice,
  type BackendInfo,
  initBackend,
  isBackendChoice,
  tf,
} from "../../backends/mod.ts";
import { writeFileAtomic } from "../io/mod.ts";
import { disposeParams, paramShapes, saveModel } from "../model/mod.ts";
import { saveTokenizer } from "../tokenizer/mod.ts";
import { checkBaseModel, type CheckReport } from "./check.ts";
import { BUILD_FILE, writeChecksums } from "./checksums.ts";
import {
  answerTexts,
  pretrainExamples,
  taskExamples,
  tokenizerTexts,
  undertrainedTokens,
} from "./data.ts";
import { buildJudge, type JudgeReport } from "./judge.ts";
import { rebuildJudge } from "./judge_only.ts";
import { pretrain, type PretrainReport, recipeModelConfig, tokenizeRows } from "./pretrain.ts";
import { type AssetRecipe, DEFAULT_RECIPE, QUICK_RECIPE } from "./recipe.ts";
import { buildTokenizer } from "./tokenizer.ts";
import { parseToolFlags } from "../cli/parser.ts";

/** The default output folder, relative to the repository root. */
export const DEFAULT_ASSETS_DIR = "assets/embedded";

/** The folders and files of a built asset folder. */
export function embeddedAssetPaths(root: string = DEFAULT_ASSETS_DIR): {
  readonly base: string;
  readonly judge: string;
  readonly build: string;
  readonly checksums: string;
} {
  return {
    base: `${root}/base`,
    judge: `${root}/judge`,
    build: `${root}/${BUILD_FILE}`,
    checksums: `${root}/checksums.json`,
  };
}

/** The format tag of `build.json`. */
export const BUILD_FORMAT = "lisa-embedded-assets/1";

/** `build.json`: the recipe that built the folder and what the build measured. */
export interface BuildRecord {
  /** Always {@link BUILD_FORMAT}. */
  readonly format: typeof BUILD_FORMAT;
  /** The recipe that built the folder. */
  readonly recipe: AssetRecipe;
  /** The backend it trained on. */
  readonly backend: BackendInfo;
  /** Sizes of the generated data. */
  readonly data: {
    readonly tokenizerTexts: number;
    readonly pretrainExamples: number;
    /** Token ids of the training answers seen fewer than `minTokenCount` times (must be none). */
    readonly undertrainedTokens: readonly number[];
  };
  /** The tokenizer's size (ids). */
  readonly tokenizer: { readonly vocabSize: number };
  /** Parameter count and weight-file size. */
  readonly model: { readonly parameters: number; readonly bytes: number };
  /** Pretraining: steps, tokens/s, loss curve. */
  readonly pretrain: PretrainReport;
  /** The judge's held-out metrics (null when the recipe has no judge). */
  readonly judge: JudgeReport | null;
  /** The greedy behaviour check of the base model. */
  readonly check: CheckReport;
  /**
   * Wall-clock seconds of the stages before pretraining and of the whole build; `judgeOnly`:
   * of the last `--judge-only` rebuild, when the judge was retrained on its own.
   */
  readonly seconds: {
    readonly data: number;
    readonly tokenizer: number;
    readonly total: number;
    readonly judgeOnly?: number;
  };
  /** The Deno version that ran the build. */
  readonly denoVersion: string;
}

/** Options of {@link buildAssets}. */
export interface BuildOptions {
  /** Output folder (replaced when it exists). */
  readonly out: string;
  /** Backend to train on. */
  readonly backend: BackendChoice;
  /** The recipe. */
  readonly recipe: AssetRecipe;
  /** Progress lines (default: stderr). */
  readonly log?: (line: string) => void;
  /**
   * Retrain only the judge (`--judge-only`): the base model and tokenizer of the existing
   * folder `out` are kept byte for byte (see `rebuildJudge`).
   */
  readonly judgeOnly?: boolean;
}

/** Remove a path the build made, if it exists. */
export async function removeIfExists(path: string): Promise<void> {
  await Deno.remove(path, { recursive: true }).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
}

/** Build the assets of a recipe into `out`; returns the build record. */
export async function buildAssets(o: BuildOptions): Promise<BuildRecord> {
  const log = o.log ?? ((line: string) => console.error(line));
  const r = o.recipe;
  const t0 = performance.now();
  const since = (t: number) => (performance.now() - t) / 1000;
  const backend = await initBackend(o.backend);
  log(`backend: ${backend.name} (${backend.device})`);
  const stage = `${o.out}.building`;
  await removeIfExists(stage);
  const paths = embeddedAssetPaths(stage);

  log(`data: recipe '${r.name}', data seed ${r.dataSeed}`);
  const tasks = taskExamples(r);
  const taskList = [...tasks.sentiment, ...tasks.topic, ...tasks.arithmetic];
  const texts = tokenizerTexts(r, taskList);
  const examples = pretrainExamples(r, taskList);
  const dataSeconds = since(t0);

  const t1 = performance.now();
  const tok = buildTokenizer(texts, r.vocabSize, r.model.maxPositionEmbeddings);
  await saveTokenizer(paths.base, tok);
  const tokenizerSeconds = since(t1);
  log(
    `tokenizer: ${tok.vocabSize} ids from ${texts.length} texts (${tokenizerSeconds.toFixed(1)}s)`,
  );

  const config = recipeModelConfig(r, tok);
  const rows = tokenizeRows(tok, examples);
  const undertrained = undertrainedTokens(
    answerTexts(r, taskList),
    (t) => tok.encode(t),
    rows,
    r.minTokenCount,
  );
  if (r.minTokenCount > 0 && undertrained.length > 0) {
    const names = undertrained.slice(0, 12).map((id) => JSON.stringify(tok.decode([id])));
    throw new Error(
      `${undertrained.length} token(s) of the training answers occur fewer than ` +
        `${r.minTokenCount} times in pretraining: ${names.join(" ")}`,
    );
  }
  const parameters = [...paramShapes(config).values()]
    .reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
  log(`pretraining ${parameters} parameters on ${rows.length} examples, ${r.pretrain.steps} steps`);
  const { params, report: pretrainReport } = await pretrain(
    config,
    rows,
    r.pretrain,
    r.trainSeed,
    log,
  );
  if (pretrainReport.tensorsAtEnd !== pretrainReport.tensorsAfterFirstStep) {
    throw new Error(
      `pretraining leaked tensors: ${pretrainReport.tensorsAfterFirstStep} after step 1, ` +
        `${pretrainReport.tensorsAtEnd} at the end`,
    );
  }
  await saveModel(paths.base, config, params);
  const bytes = (await Deno.stat(`${paths.base}/model.safetensors`)).size;

  log("judge: training the moderation classifier");
  const judge = await buildJudge(r, paths.judge);
  if (judge) {
    log(
      `judge: held-out accuracy ${judge.report.holdout.accuracy.toFixed(3)}, ` +
        `test-set accuracy ${judge.report.test.overall.accuracy.toFixed(3)}`,
    );
  }

  log("check: greedy answers of the base model");
  const check = await checkBaseModel(r, config, params, tok, judge?.classifier ?? null);
  disposeParams(params);
  log(
    `check: compliance ${check.complianceRate.toFixed(2)}, judge-flagged ${
      check.judgeFlaggedRate?.toFixed(2)
    }, ` +
      `general ${check.generalExactMatch.toFixed(2)}, tasks ${JSON.stringify(check.taskAccuracy)}`,
  );

  await writeChecksums(stage);
  const record: BuildRecord = {
    format: BUILD_FORMAT,
    recipe: r,
    backend,
    data: {
      tokenizerTexts: texts.length,
      pretrainExamples: examples.length,
      undertrainedTokens: undertrained,
    },
    tokenizer: { vocabSize: tok.vocabSize },
    model: { parameters, bytes },
    pretrain: pretrainReport,
    judge: judge?.report ?? null,
    check,
    seconds: { data: dataSeconds, tokenizer: tokenizerSeconds, total: since(t0) },
    denoVersion: Deno.version.deno,
  };
  await writeFileAtomic(paths.build, JSON.stringify(record, null, 2) + "\n");

  await swapIn(stage, o.out);
  log(`wrote ${o.out} in ${since(t0).toFixed(0)}s (tensors live: ${tf.memory().numTensors})`);
  return record;
}

/** Replace `out` by the finished folder `stage` with renames (a reader never sees half). */
export async function swapIn(stage: string, out: string): Promise<void> {
  const old = `${out}.old`;
  await removeIfExists(old);
  const hadOld = await Deno.stat(out).then(() => true, () => false);
  if (hadOld) await Deno.rename(out, old);
  await Deno.rename(stage, out);
  await removeIfExists(old);
}

/** A bad `build-assets` command line (unknown flag, stray argument, unknown backend). */
export class BuildArgsInvalid extends Data.TaggedError("BuildArgsInvalid")<{
  /** One line naming the problem. */
  readonly detail: string;
}> {
  /** The line shown to the user. */
  override get message(): string {
    return this.detail;
  }
}

/**
 * Parse the command line with the CLI's parser; null when `--help` answered. Unknown flags,
 * stray arguments and bad backend names fail with one line.
 */
export function parseBuildArgs(
  args: readonly string[],
): Effect.Effect<BuildOptions | null, BuildArgsInvalid> {
  return parseToolFlags("build-assets", {
    values: ["out", "backend"],
    switches: ["quick", "judge-only"],
  }, args)
    .pipe(
      Effect.mapError((e) => new BuildArgsInvalid({ detail: e.message })),
      Effect.flatMap((flags) => {
        if (!flags) return Effect.succeed(null);
        const backend = flags.get("backend") ?? "auto";
        if (!isBackendChoice(backend)) {
          return Effect.fail(
            new BuildArgsInvalid({
              detail: `build-assets: --backend: expected auto or one of ` +
                `${BACKEND_NAMES.join(", ")}, found '${backend}'`,
            }),
          );
        }
        return Effect.succeed({
          out: flags.get("out") ?? DEFAULT_ASSETS_DIR,
          backend,
          recipe: flags.get("quick") === "true" ? QUICK_RECIPE : DEFAULT_RECIPE,
          judgeOnly: flags.get("judge-only") === "true",
        });
      }),
    );
}

if (import.meta.main) {
  const exit = await Effect.runPromiseExit(parseBuildArgs(Deno.args));
  if (exit._tag === "Failure") {
    const f = exit.cause.reasons.find((r) => r._tag === "Fail");
    console.error(`error: ${f && f._tag === "Fail" ? f.error.message : "bad arguments"}`);
    Deno.exit(2);
  }
  if (exit.value) {
    try {
      await (exit.value.judgeOnly ? rebuildJudge(exit.value) : buildAssets(exit.value));
    } catch (e) {
      console.error(`build-assets: ${e instanceof Error ? e.message : String(e)}`);
      Deno.exit(1);
    }
  }
}
