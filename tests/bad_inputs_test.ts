/**
 * A corpus of bad inputs, each tried as a user would (the CLI's `main`, in process for speed):
 * each must exit 2 with one line that names the problem (file, field or flag), never a stack
 * trace or a `Cause(...)`, before anything trains, and leave every file where it was: no run
 * folder is left behind and nothing outside one changes. A warning case (invalid UTF-8 read
 * leniently) runs to the end and records what it replaced.
 */
import assert from "node:assert/strict";
import { parquetWriteBuffer } from "hyparquet-writer";
import { main } from "../src/cli/main.ts";
import { CATEGORY_KEYS } from "../src/data/mod.ts";
import { parseSafetensors, serializeSafetensors } from "../src/io/mod.ts";
import { filesUnder } from "./_cli.ts";
import { tinyModelDir, tinyRunFlags } from "./_tiny_lm.ts";

const box = await Deno.makeTempDir({ prefix: "lisa-bad-" });
const OUT = `${box}/out`;
const model = await tinyModelDir(31);
const enc = new TextEncoder();

// --- inputs -------------------------------------------------------------------------------
const sst2 = (rows: number, offset = 0) =>
  "sentence\tlabel\n" +
  Array.from({ length: rows }, (_, i) =>
    `film number ${i + offset} was ${i % 2 ? "good" : "bad"}\t${i % 2}`)
    .join("\n") +
  "\n";
const bt = (i: number, safe: boolean) =>
  JSON.stringify({
    prompt: `how do I do harmful thing ${i}?`,
    response: safe ? "I can't help with that." : `Step 1: do harmful thing ${i}.`,
    category: Object.fromEntries(
      CATEGORY_KEYS.map((k) => [k, !safe && k === "violence,aiding_and_abetting,incitement"]),
    ),
    is_safe: safe,
  });
const write = (name: string, text: string | Uint8Array) => {
  const p = `${box}/${name}`;
  if (typeof text === "string") Deno.writeTextFileSync(p, text);
  else Deno.writeFileSync(p, text);
  return p;
};
const files = {
  train: write("train.tsv", sst2(200)),
  test: write("test.tsv", sst2(20, 1000)),
  unsafe: write("unsafe.jsonl", Array.from({ length: 60 }, (_, i) => bt(i, false)).join("\n")),
  safe: write("safe.jsonl", Array.from({ length: 30 }, (_, i) => bt(i + 500, true)).join("\n")),
  empty: write("empty.tsv", ""),
  badJsonLine: write("bad-line.jsonl", '{"sentence": "fine", "label": 1}\n{"sentence": "broken\n'),
  badLabel: write("bad-label.jsonl", '{"sentence": "fine", "label": 7}\n'),
  badColumns: write("bad-cols.csv", '3,"title","description"\n2,"only two"\n'),
  txt: write("train.txt", "some text\n"),
  parquet: write("corrupt.parquet", enc.encode("PAR1 this is not parquet PAR1")),
  badUtf8: write(
    "bad-utf8.tsv",
    new Uint8Array([...enc.encode("sentence\tlabel\nok\t1\nbad "), 0xff, ...enc.encode("\t0\n")]),
  ),
  notJson: write("not-json.json", "{ seed: 1 "),
  unknownKey: write("unknown-key.json", '{"method": {"rhoo": 1}}'),
  array: write("array.json", "[1, 2]"),
  keyUrl: write(
    "key-url.json",
    '{"eval": {"judge": "http", "http": {"baseUrl": "http://u:SECRET@127.0.0.1:9/v1"}}}',
  ),
};
Deno.mkdirSync(`${box}/a-folder`);
Deno.symlinkSync("/dev/zero", `${box}/zero.tsv`);
Deno.symlinkSync("/dev/zero", `${box}/zero.json`);
Deno.writeFileSync(
  `${box}/ok.parquet`,
  new Uint8Array(parquetWriteBuffer({
    columnData: [{ name: "sentence", data: ["fine"], type: "STRING" }, {
      name: "label",
      data: [1],
      type: "INT32",
    }],
  })),
);

/** A copy of the tiny model folder with `change` applied. */
function modelVariant(name: string, change: (dir: string) => void): string {
  const dir = `${box}/${name}`;
  Deno.mkdirSync(dir);
  for (const f of filesUnder(model)) Deno.copyFileSync(`${model}/${f}`, `${dir}/${f}`);
  change(dir);
  return dir;
}
const models = {
  noTokenizer: modelVariant("m-no-tokenizer", (d) => Deno.removeSync(`${d}/tokenizer.json`)),
  badConfig: modelVariant("m-bad-config", (d) => Deno.writeTextFileSync(`${d}/config.json`, "{")),
  zeroConfig: modelVariant("m-zero-config", (d) => {
    Deno.removeSync(`${d}/config.json`);
    Deno.symlinkSync("/dev/zero", `${d}/config.json`);
  }),
  gpt2: modelVariant("m-gpt2", (d) => {
    const c = JSON.parse(Deno.readTextFileSync(`${d}/config.json`));
    Deno.writeTextFileSync(
      `${d}/config.json`,
      JSON.stringify({ ...c, architectures: ["GPT2LMHeadModel"], model_type: "gpt2" }),
    );
  }),
  nan: modelVariant("m-nan", (d) => {
    const st = parseSafetensors(Deno.readFileSync(`${d}/model.safetensors`));
    const tensors = Object.fromEntries(st.tensors);
    const name = "model.layers.0.self_attn.q_proj.weight";
    const data = Float32Array.from(tensors[name]!.data);
    data[3] = NaN;
    tensors[name] = { ...tensors[name]!, data };
    Deno.writeFileSync(`${d}/model.safetensors`, serializeSafetensors(tensors));
  }),
};
Deno.mkdirSync(`${box}/dora`);
Deno.writeTextFileSync(
  `${box}/dora/adapter_config.json`,
  JSON.stringify({
    peft_type: "LORA",
    r: 2,
    lora_alpha: 4,
    target_modules: ["q_proj"],
    use_dora: true,
  }),
);
// A folder the user made, holding their own files: never to be replaced.
Deno.mkdirSync(`${OUT}/precious`, { recursive: true });
Deno.writeTextFileSync(`${OUT}/precious/notes.txt`, "mine");
Deno.writeTextFileSync(`${OUT}/precious/config.json`, "{}");
Deno.symlinkSync(`${OUT}/precious`, `${OUT}/link`);
Deno.writeTextFileSync(`${box}/a-file`, "x");

// --- running ------------------------------------------------------------------------------
const TINY = [...tinyRunFlags(model, OUT), "--backend=cpu"];
const REAL = [
  ...TINY,
  "--data.task=sst2",
  `--data.taskPath=${files.train}`,
  `--data.taskTestPath=${files.test}`,
  `--data.harmfulPath=${files.unsafe}`,
  `--data.alignmentPath=${files.safe}`,
];
const real = (...more: string[]) => [...REAL, ...more];
const tiny = (...more: string[]) => [...TINY, ...more];

/** Run the CLI in this process; returns its exit code and everything it printed. */
async function runCli(args: string[]): Promise<{ code: number; text: string }> {
  const lines: string[] = [];
  const saved = { log: console.log, error: console.error, warn: console.warn };
  const keep = (...a: unknown[]) => void lines.push(a.map(String).join(" "));
  console.log = keep;
  console.error = keep;
  console.warn = keep;
  try {
    const code = await main(args);
    return { code, text: lines.join("\n") };
  } finally {
    Object.assign(console, saved);
  }
}

/** Every file and link under the sandbox with its size, time and target (folders by name). */
function snapshot(): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(dir)) {
      const p = `${dir}/${e.name}`;
      const info = Deno.lstatSync(p);
      if (info.isSymlink) out.set(p, `-> ${Deno.readLinkSync(p)}`);
      else if (info.isDirectory) {
        out.set(p, "dir");
        walk(p);
      } else out.set(p, `${info.size} ${info.mtime?.getTime()}`);
    }
  };
  walk(box);
  return out;
}

interface Case {
  readonly name: string;
  readonly args: string[];
  /** What the one-line message must say (the file, field or flag, and the problem). */
  readonly says: RegExp;
}

const C = (name: string, args: string[], says: RegExp): Case => ({ name, args, says });

const CASES: Case[] = [
  // Config values and flags.
  C("negative rho", tiny("--method.rho=-3"), /method\.rho.*-3/),
  C("seed not a number", tiny("--seed=abc"), /flag --seed.*expected a number, found "abc"/),
  C("p above 1", tiny("--data.p=1.5"), /data\.p.*1\.5/),
  C("unknown backend", tiny("--backend=tpu"), /backend.*tpu/),
  C(
    "misspelled flag",
    tiny("--method.rhoo=1"),
    /unknown flag --method\.rhoo; did you mean --method\.rho\?/,
  ),
  C(
    "misspelled flag, value apart",
    tiny("--method.rhoo", "1"),
    /unknown flag --method\.rhoo; did you mean --method\.rho\?/,
  ),
  C(
    "a stray argument",
    ["eval", `${box}/x/aligned`, ...tiny()],
    /unexpected argument ".*x\/aligned"/,
  ),
  C(
    "bad LoRA target",
    tiny("--alignment.lora.targets=foo"),
    /alignment\.lora\.targets\.0.*found "foo"/,
  ),
  C("zero max length", tiny("--model.maxLength=0"), /model\.maxLength/),
  C("bad K1:K2 pair", tiny("--sweep.k=10-90"), /sweep\.k/),
  C(
    "K1 = K2 = 0 for lisa",
    tiny("--method.alignmentSteps=0", "--method.finetuneSteps=0"),
    /method\.alignmentSteps.*0 \+ 0/,
  ),
  C(
    "K1 = K2 = 0 for a method only in --method.compare",
    tiny(
      "--method.name=sft",
      "--method.compare=sft,bso",
      "--method.alignmentSteps=0",
      "--method.finetuneSteps=0",
    ),
    /bso.*K1 \+ K2 > 0/,
  ),
  // Config files.
  C("config file missing", tiny("--config", `${box}/nope.json`), /nope\.json.*cannot read/),
  C("config file not JSON", tiny("--config", files.notJson), /not-json\.json.*not valid JSON/),
  C(
    "config file with an unknown key",
    tiny("--config", files.unknownKey),
    /unknown-key\.json.*rhoo/,
  ),
  C("config file is a folder", tiny("--config", `${box}/a-folder`), /a-folder.*folder/),
  C(
    "config file is /dev/zero",
    tiny("--config", `${box}/zero.json`),
    /zero\.json.*character device/,
  ),
  C("config file holds an array", tiny("--config", files.array), /array\.json.*JSON object/),
  // Judges.
  C(
    "credentials in the judge URL (config file)",
    tiny("--config", files.keyUrl),
    /eval\.http\.baseUrl.*credentials \(a user name, a password\)/,
  ),
  C(
    "http judge whose key variable is unset",
    tiny("--eval.judge=http", "--eval.http.apiKeyEnv=LISA_TEST_UNSET_KEY_9"),
    /LISA_TEST_UNSET_KEY_9/,
  ),
  C(
    "http judge with an ftp URL",
    tiny("--eval.judge=http", "--eval.http.baseUrl=ftp://x/v1"),
    /baseUrl/,
  ),
  C(
    "classifier judge folder missing",
    tiny("--eval.judge=classifier", `--eval.judgePath=${box}/no-judge`),
    /no-judge/,
  ),
  C(
    "judge-eval on a labelled file that does not exist",
    ["judge-eval", `--judges.data=${box}/no-labels.jsonl`, `--output.dir=${OUT}`, "--backend=cpu"],
    /no-labels\.jsonl.*no such file/,
  ),
  // Resuming.
  C(
    "resume a folder that does not exist",
    ["--resume", `${box}/no-run`],
    /no-run.*nothing to resume/,
  ),
  C(
    "resume a folder that is not a run",
    ["--resume", `${box}/a-folder`],
    /a-folder.*nothing to resume/,
  ),
  // Output folders.
  C(
    "overwrite a folder the tool did not make",
    tiny("--output.name=precious", "--output.overwrite=true"),
    /precious.*not a run folder this tool made/,
  ),
  C(
    "output.name '..'",
    tiny("--output.name=..", "--output.overwrite=true"),
    /output\.name "\.\.".*one folder name/,
  ),
  C("output.name with a slash", tiny("--output.name=a/b"), /output\.name "a\/b"/),
  C("output.dir is a file", tiny(`--output.dir=${box}/a-file`), /a-file is not a folder/),
  C(
    "overwrite through a symlink",
    tiny("--output.name=link", "--output.overwrite=true"),
    /link.*symbolic link/,
  ),
  C("a name that is taken", tiny("--output.name=precious"), /precious.*already holds a run/),
  // Data files.
  C("real task without its file", tiny("--data.task=sst2"), /data\.taskPath/),
  C("task file missing", real(`--data.taskPath=${box}/missing.tsv`), /missing\.tsv.*existing file/),
  C(
    "task file empty",
    real(`--data.taskPath=${files.empty}`),
    /empty\.tsv.*0 examples, 36 are needed/,
  ),
  C(
    "data.n larger than the file",
    real("--data.n=500"),
    /train\.tsv \(data\.n = 500.*200 examples, 450/,
  ),
  C(
    "an invalid JSON line",
    real(`--data.taskPath=${files.badJsonLine}`),
    /bad-line\.jsonl:2:.*invalid JSON/,
  ),
  C(
    "a label out of range",
    real(`--data.taskPath=${files.badLabel}`),
    /bad-label\.jsonl:1:.*label/,
  ),
  C(
    "a CSV row with too few columns",
    real("--data.task=agnews", `--data.taskPath=${files.badColumns}`),
    /bad-cols\.csv:2:.*3 comma-separated columns/,
  ),
  C("an unknown extension", real(`--data.taskPath=${files.txt}`), /train\.txt.*extension/),
  C("task file is a folder", real(`--data.taskPath=${box}/a-folder`), /a-folder.*folder/),
  C(
    "task file is /dev/zero",
    real(`--data.taskPath=${box}/zero.tsv`),
    /zero\.tsv.*character device/,
  ),
  C(
    "a corrupt Parquet file",
    real(`--data.taskPath=${files.parquet}`),
    /corrupt\.parquet.*Parquet/,
  ),
  C(
    "invalid UTF-8 under strictUtf8",
    real(`--data.taskPath=${files.badUtf8}`, "--data.strictUtf8=true"),
    /bad-utf8\.tsv:3:.*valid UTF-8.*ff/,
  ),
  C(
    "training and test sets share prompts",
    real(`--data.taskTestPath=${files.train}`),
    /also appear in training set "task training set"/,
  ),
  C(
    "too few harmful rows after holding out the evaluation prompts",
    real("--eval.harmfulN=58"),
    /harmful data file .*unsafe\.jsonl.*eval\.harmfulN = 58.*2 examples, 4 are needed/,
  ),
  C(
    "real task without harmful data",
    [...REAL.filter((a) => !a.startsWith("--data.harmfulPath"))],
    /data\.harmfulPath/,
  ),
  C(
    "vlguard asking for more alignment rows than there are",
    real("--method.name=vlguard", "--method.vlguardK=50"),
    /safe\.jsonl \(method\.vlguardK = 50\).*20 examples, 50/,
  ),
  C("embedded evaluation prompts over the pool", tiny("--eval.harmfulN=100000"), /eval\.harmfulN/),
  // Model and adapter folders.
  C("model folder missing", tiny(`--model.path=${box}/no-model`), /no-model/),
  C("model without tokenizer.json", tiny(`--model.path=${models.noTokenizer}`), /tokenizer\.json/),
  C("model config.json not JSON", tiny(`--model.path=${models.badConfig}`), /config\.json.*JSON/),
  C(
    "model config.json is /dev/zero",
    tiny(`--model.path=${models.zeroConfig}`),
    /config\.json.*regular file/,
  ),
  C("model with a NaN weight", tiny(`--model.path=${models.nan}`), /q_proj\.weight.*NaN/),
  C("an architecture not supported", tiny(`--model.path=${models.gpt2}`), /GPT2LMHeadModel/),
  C(
    "eval: adapter folder missing",
    ["eval", ...tiny(`--eval.adapterPath=${box}/no-adapter`)],
    /no-adapter/,
  ),
  C("eval: a DoRA adapter", ["eval", ...tiny(`--eval.adapterPath=${box}/dora`)], /DoRA/),
];

Deno.test({
  name: `bad inputs: ${CASES.length} cases exit 2, name the problem, change nothing`,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    assert.ok(CASES.length >= 40);
    for (const c of CASES) {
      await t.step(c.name, async () => {
        const before = snapshot();
        const r = await runCli(c.args);
        assert.equal(r.code, 2, `exit ${r.code}:\n${r.text}`);
        const error = r.text.split("\n").filter((l) => l.startsWith("error: "));
        assert.equal(error.length, 1, `one error line:\n${r.text}`);
        assert.match(error[0]!, c.says);
        assert.ok(!/Cause\(|\n\s+at \S+ \(/.test(r.text), `a stack or Cause leaked:\n${r.text}`);
        assert.ok(!/SECRET/.test(r.text), "a credential was printed");
        assert.deepEqual(snapshot(), before, "files changed");
      });
    }
  },
});

Deno.test({
  name: "bad inputs: invalid UTF-8 read leniently is warned about and recorded, not silent",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const r = await runCli([
      "eval",
      ...real(`--data.taskTestPath=${files.badUtf8}`, "--output.name=utf8"),
    ]);
    assert.equal(r.code, 0, r.text);
    assert.match(
      r.text,
      /warning: .*bad-utf8\.tsv: 1 invalid UTF-8 sequence\(s\) on 1 line\(s\), first at line 3/,
    );
    const metrics = JSON.parse(Deno.readTextFileSync(`${OUT}/utf8/metrics.json`));
    assert.deepEqual(metrics.data.invalidUtf8[files.badUtf8], {
      sequences: 1,
      lines: 1,
      firstLine: 3,
    });
  },
});

Deno.test("bad inputs: cleanup", async () => {
  await Deno.remove(box, { recursive: true });
  await Deno.remove(model, { recursive: true });
});
