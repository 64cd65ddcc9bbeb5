/**
 * A resumed run continues only what it started: an edited `config.json`, a flag or a
 * `--config` file that changes a setting, or a data or model file that changed since the run
 * began, each exit 2 naming the fields or files (and change nothing); the same config passed
 * explicitly with `--config`, a new backend, or the untouched run resume.
 */
import assert from "node:assert/strict";
import { main } from "../src/cli/main.ts";
import { CATEGORY_KEYS } from "../src/data/mod.ts";
import { Effect } from "effect";
import { resolveConfig } from "../src/config/mod.ts";
import { fingerprintChanges, inputFingerprint, RUN_MARKER } from "../src/pipeline/mod.ts";
import { commandLine } from "./_helpers.ts";
import { filesUnder } from "./_cli.ts";
import { tinyModelDir, tinyRunFlags } from "./_tiny_lm.ts";

const box = await Deno.makeTempDir({ prefix: "lisa-resume-" });
const model = await tinyModelDir(41);
const sst2 = (rows: number, offset: number) =>
  "sentence\tlabel\n" +
  Array.from({ length: rows }, (_, i) =>
    `review ${i + offset} ${i % 2 ? "fine" : "poor"}\t${i % 2}`)
    .join("\n") +
  "\n";
const bt = (i: number, safe: boolean) =>
  JSON.stringify({
    prompt: `how would one do bad thing ${i}?`,
    response: safe ? "I won't help with that." : `First, bad thing ${i}.`,
    category: Object.fromEntries(CATEGORY_KEYS.map((k) => [k, !safe && k === "animal_abuse"])),
    is_safe: safe,
  });
const train = `${box}/train.tsv`;
Deno.writeTextFileSync(train, sst2(60, 0));
Deno.writeTextFileSync(`${box}/test.tsv`, sst2(8, 100));
Deno.writeTextFileSync(
  `${box}/unsafe.jsonl`,
  Array.from({ length: 20 }, (_, i) => bt(i, false)).join("\n"),
);
Deno.writeTextFileSync(
  `${box}/safe.jsonl`,
  Array.from({ length: 20 }, (_, i) => bt(i + 50, true)).join("\n"),
);
const RUN = `${box}/out/r`;
const FLAGS = [
  ...tinyRunFlags(model, `${box}/out`),
  "--backend=wasm",
  "--output.name=r",
  "--data.task=sst2",
  `--data.taskPath=${train}`,
  `--data.taskTestPath=${box}/test.tsv`,
  `--data.harmfulPath=${box}/unsafe.jsonl`,
  `--data.alignmentPath=${box}/safe.jsonl`,
];

async function runCli(args: string[]): Promise<{ code: number; text: string }> {
  const lines: string[] = [];
  const saved = { log: console.log, error: console.error };
  console.log = console.error = (...a: unknown[]) => void lines.push(a.map(String).join(" "));
  try {
    return { code: await main(args), text: lines.join("\n") };
  } finally {
    Object.assign(console, saved);
  }
}

/** The run folder's files with their contents, to show a refusal changed nothing. */
const contents = () =>
  Object.fromEntries(filesUnder(RUN).map((f) => [f, Deno.readTextFileSync(`${RUN}/${f}`)]));

async function refused(args: string[], says: RegExp): Promise<void> {
  const before = contents();
  const r = await runCli(args);
  assert.equal(r.code, 2, r.text);
  assert.match(r.text, says);
  assert.deepEqual(contents(), before, "a refused resume changed the run");
}

Deno.test({
  name: "resume: a changed config, flag, --config file, data or model file is refused by name",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const first = await runCli(FLAGS);
    assert.equal(first.code, 0, first.text);
    const marker = JSON.parse(Deno.readTextFileSync(`${RUN}/${RUN_MARKER}`));
    assert.deepEqual(Object.keys(marker.inputs.data).sort(), [
      "alignment",
      "alignmentHarmful",
      "harmful",
      "harmfulEval",
      "taskTest",
      "taskTrain",
    ]);
    assert.ok(marker.inputs.files["model/model.safetensors"]);

    // config.json edited behind the run's back.
    const original = Deno.readTextFileSync(`${RUN}/config.json`);
    const edited = JSON.parse(original);
    edited.seed = 7;
    edited.finetune.optim.lr = 0.5;
    Deno.writeTextFileSync(`${RUN}/config.json`, JSON.stringify(edited, null, 2));
    await refused(
      ["--resume", RUN],
      /config\.json\) at seed: was edited after the run started \(seed 42 -> 7, finetune\.optim\.lr 0\.00001 -> 0\.5\)/,
    );
    Deno.writeTextFileSync(`${RUN}/config.json`, original);

    // A flag, and a --config file, that change a setting.
    await refused(
      ["--resume", RUN, "--method.rho=0.5"],
      /flag --method\.rho.*method\.rho 1 -> 0\.5/,
    );
    const other = `${box}/other.json`;
    Deno.writeTextFileSync(other, JSON.stringify({ ...JSON.parse(original), seed: 3 }));
    await refused(["--resume", RUN, "--config", other], /--config .*other\.json.*seed 42 -> 3/);

    // The data and the model the run started on changed.
    Deno.writeTextFileSync(train, sst2(60, 1));
    await refused(["--resume", RUN], /inputs changed since this run started: data taskTrain/);
    Deno.writeTextFileSync(train, sst2(60, 0));
    const tc = `${model}/tokenizer_config.json`;
    const tokConfig = Deno.readTextFileSync(tc);
    Deno.writeTextFileSync(tc, tokConfig + " ");
    await refused(["--resume", RUN], /file model\/tokenizer_config\.json \(SHA-256/);
    Deno.writeTextFileSync(tc, tokConfig);

    // Undone, the run resumes; its own config passed with --config is accepted, as is a new
    // backend.
    const again = await runCli([
      "--resume",
      RUN,
      "--config",
      `${RUN}/config.json`,
      "--backend=wasm",
    ]);
    assert.equal(again.code, 0, again.text);
    assert.match(again.text, /results: .*\/out\/r\/metrics\.json/);
  },
});

Deno.test("fingerprint: a run records the rows it read, a sweep its data files whole", async () => {
  const cfg = await Effect.runPromise(resolveConfig(commandLine(FLAGS)));
  const run = await Effect.runPromise(inputFingerprint(cfg, null, "sweep"));
  assert.deepEqual(run.data, {});
  assert.deepEqual(Object.keys(run.files).filter((k) => k.startsWith("data.")).sort(), [
    "data.alignmentPath",
    "data.harmfulPath",
    "data.taskPath",
    "data.taskTestPath",
  ]);
  assert.ok(run.files["model/model.safetensors"]);
  Deno.writeTextFileSync(train, sst2(61, 0)); // one more row: a sweep's data changed
  const after = await Effect.runPromise(inputFingerprint(cfg, null, "sweep"));
  assert.deepEqual(fingerprintChanges(run, after).map((c) => c.split(" (")[0]), [
    "file data.taskPath",
  ]);
  Deno.writeTextFileSync(train, sst2(60, 0));
});

Deno.test("resume: cleanup", async () => {
  await Deno.remove(box, { recursive: true });
  await Deno.remove(model, { recursive: true });
});
