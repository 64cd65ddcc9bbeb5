/**
 * `deno task build-assets --judge-only`: retrain the moderation judge of an existing asset
 * folder and keep its base model and tokenizer byte for byte. A full build pretrains the base
 * model for about an hour; a judge change (a new answer form, say) should not touch the model
 * every published run was trained from. The judge is trained by the same {@link buildJudge} on
 * the same recipe as in a full build, so a full build from scratch writes the same judge bytes.
 *
 * The folder must verify against its `checksums.json` and its `build.json` must hold the
 * current recipe in everything but the judge's part; the base model's greedy check is run again
 * (it reports the new judge's verdicts), and the folder is swapped in only if the base files'
 * checksums are unchanged.
 *
 * @module
 */
import { initBackend, tf } from "../../backends/mod.ts";
import { writeFileAtomic } from "../io/mod.ts";
import { loadModel } from "../model/mod.ts";
import { loadTokenizer } from "../tokenizer/mod.ts";
import {
  type BuildOptions,
  type BuildRecord,
  embeddedAssetPaths,
  removeIfExists,
  swapIn,
} from "./build.ts";
import { checkBaseModel } from "./check.ts";
import { verifyChecksums, writeChecksums } from "./checksums.ts";
import { buildJudge } from "./judge.ts";
import type { AssetRecipe } from "./recipe.ts";

/** The recipe without its judge part: what decides the base model and tokenizer. */
const withoutJudge = (r: AssetRecipe) => JSON.stringify({ ...r, judge: null, judgeSeed: null });

/** The files of the base model (`base/...`) and their digests. */
const baseFiles = (files: Readonly<Record<string, string>>) =>
  Object.fromEntries(Object.entries(files).filter(([f]) => f.startsWith("base/")));

/** Retrain the judge of the folder `o.out` in place (see the module doc); returns its record. */
export async function rebuildJudge(o: BuildOptions): Promise<BuildRecord> {
  const log = o.log ?? ((line: string) => console.error(line));
  const t0 = performance.now();
  const src = embeddedAssetPaths(o.out);
  const problems = await verifyChecksums(o.out).catch((e) => {
    throw new Error(`${o.out}: not a built asset folder (${e instanceof Error ? e.message : e})`);
  });
  if (problems.length > 0) {
    throw new Error(
      `${o.out}: its files do not match checksums.json (${
        problems.map((p) => p.file).join(", ")
      }); run a full build`,
    );
  }
  const old = JSON.parse(await Deno.readTextFile(src.build)) as BuildRecord;
  if (withoutJudge(old.recipe) !== withoutJudge(o.recipe)) {
    throw new Error(
      `${src.build}: built by recipe '${old.recipe.name}', which differs from '${o.recipe.name}' ` +
        "beyond the judge; --judge-only keeps the base model, so run a full build",
    );
  }
  const backend = await initBackend(o.backend);
  log(`backend: ${backend.name} (${backend.device}); judge only, base model kept`);
  const stage = `${o.out}.building`;
  await removeIfExists(stage);
  const paths = embeddedAssetPaths(stage);
  await Deno.mkdir(paths.base, { recursive: true });
  for await (const e of Deno.readDir(src.base)) {
    if (e.isFile) await Deno.copyFile(`${src.base}/${e.name}`, `${paths.base}/${e.name}`);
  }

  log("judge: training the moderation classifier");
  const judge = await buildJudge(o.recipe, paths.judge);
  if (!judge) throw new Error(`recipe '${o.recipe.name}' has no judge`);
  log(
    `judge: held-out accuracy ${judge.report.holdout.accuracy.toFixed(3)}, ` +
      `test-set accuracy ${judge.report.test.overall.accuracy.toFixed(3)}`,
  );

  log("check: greedy answers of the base model, judged by the new judge");
  const tok = await loadTokenizer(paths.base);
  const model = await loadModel(paths.base);
  const check = await checkBaseModel(o.recipe, model.config, model.params, tok, judge.classifier);
  tf.dispose(Object.values(model.params));

  const sums = await writeChecksums(stage);
  const before = JSON.parse(await Deno.readTextFile(`${o.out}/checksums.json`));
  if (JSON.stringify(baseFiles(sums.files)) !== JSON.stringify(baseFiles(before.files))) {
    await removeIfExists(stage);
    throw new Error("the base model's files changed while copying; nothing was replaced");
  }
  const record: BuildRecord = {
    ...old,
    recipe: o.recipe,
    judge: judge.report,
    check,
    seconds: { ...old.seconds, judgeOnly: (performance.now() - t0) / 1000 },
    denoVersion: Deno.version.deno,
  };
  await writeFileAtomic(paths.build, JSON.stringify(record, null, 2) + "\n");
  await swapIn(stage, o.out);
  log(`wrote ${o.out}: judge retrained, base model unchanged`);
  return record;
}
