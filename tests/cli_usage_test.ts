/**
 * The command line as a new user meets it: a misspelled flag is named with the closest valid
 * one, an argument no command takes exits 2, every failure is one line (never a stack trace or
 * a `Cause(...)`), and Ctrl-C checkpoints the run, says how to resume it and exits 130.
 */
import assert from "node:assert/strict";
import { main } from "../src/cli/main.ts";
import { tinyModelDir, tinyRunFlags } from "./_tiny_lm.ts";

/** Run the CLI in this process, capturing what it prints. */
async function cli(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const [log, error] = [console.log, console.error];
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  console.error = (...a: unknown[]) => void err.push(a.join(" "));
  try {
    return { code: await main(argv), out, err };
  } finally {
    console.log = log;
    console.error = error;
  }
}

const oneLine = (err: string[], re: RegExp) => {
  assert.equal(err.length, 1, `one line, got ${JSON.stringify(err)}`);
  assert.match(err[0]!, re);
  assert.ok(!/Cause\(|\n\s+at /.test(err[0]!), err[0]);
};

Deno.test("CLI: a misspelled flag is named with the closest valid one, exit 2", async () => {
  const a = await cli("--method.rhoo", "1");
  assert.equal(a.code, 2);
  oneLine(a.err, /^error: unknown flag --method\.rhoo; did you mean --method\.rho\?$/);
  // A bare field name points at every section that has it.
  const b = await cli("eval", "--rho=1");
  assert.equal(b.code, 2);
  oneLine(b.err, /unknown flag --rho; did you mean --method\.rho or --sweep\.rho\?/);
  const c = await cli("--finetune.optim.learningRate", "1e-4");
  assert.equal(c.code, 2);
  oneLine(c.err, /unknown flag --finetune\.optim\.learningRate/);
});

Deno.test("CLI: unexpected arguments and unknown commands exit 2 with one line", async () => {
  const a = await cli("eval", "runs/x/aligned");
  assert.equal(a.code, 2);
  oneLine(a.err, /unexpected argument "runs\/x\/aligned".*--model\.path/);
  const b = await cli("evl");
  assert.equal(b.code, 2);
  oneLine(b.err, /unknown command "evl"; did you mean eval\?/);
  const c = await cli("--method.rho");
  assert.equal(c.code, 2);
  oneLine(c.err, /invalid value for --method\.rho: expected .*found nothing/);
});

Deno.test("CLI: a bad value or a bad file is one line naming the field, exit 2", async () => {
  const a = await cli("--method.rho=-3", "--print-config");
  assert.equal(a.code, 2);
  oneLine(a.err, /method\.rho/);
  const b = await cli("--config", "/nonexistent/exp.json");
  assert.equal(b.code, 2);
  oneLine(b.err, /nonexistent\/exp\.json.*cannot read/);
  const c = await cli("--resume", "/nonexistent/run", "--config", "x.json");
  assert.equal(c.code, 2);
  oneLine(c.err, /\/nonexistent\/run.*nothing to resume/);
  const d = await cli("--help");
  assert.equal(d.code, 0);
  assert.ok(d.out.join("\n").includes("judge-eval"), "help lists every command");
});

Deno.test("CLI: Ctrl-C checkpoints the run, says how to resume, exits 130; --resume finishes it", async () => {
  const model = await tinyModelDir(10);
  const out = await Deno.makeTempDir();
  const root = new URL("../", import.meta.url).pathname;
  const flags = [
    ...tinyRunFlags(model, out),
    "--method.compare=lisa",
    "--finetune.optim.maxSteps=120",
    "--output.checkpointEvery=1000",
    "--output.name=c",
  ];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-webgpu", "src/cli/main.ts", "--backend=wasm", ...flags],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Interrupt once the fine-tuning stage has taken a few steps.
  const decoder = new TextDecoder();
  let seen = "";
  const reader = child.stdout.getReader();
  while (!/finetune lisa \d+\/120/.test(seen)) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += decoder.decode(value);
  }
  child.kill("SIGINT");
  reader.releaseLock();
  const r = await child.output();
  const err = decoder.decode(r.stderr);
  assert.equal(r.code, 130, err);
  assert.match(err, new RegExp(`error: interrupted.*--resume ${out}/c`));
  assert.ok(!/Cause\(|\n\s+at /.test(err), err);
  const ckpts = [...Deno.readDirSync(`${out}/c/finetune-lisa/train/checkpoints`)];
  assert.equal(ckpts.length, 1, "the interruption wrote a checkpoint");
  const step = Number(ckpts[0]!.name.slice(5));
  assert.ok(step > 0 && step < 120, `checkpoint at step ${step}`);

  const resumed = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-webgpu", "src/cli/main.ts", "--resume", `${out}/c`],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(resumed.code, 0, decoder.decode(resumed.stderr));
  const log = (await Deno.readTextFile(`${out}/c/finetune-lisa/train/log.jsonl`)).trim()
    .split("\n").map((l) => JSON.parse(l).step);
  assert.deepEqual(log, [...Array(120).keys()], "every step once, in order");
  await Deno.remove(out, { recursive: true });
  await Deno.remove(model, { recursive: true });
});
