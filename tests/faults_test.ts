/**
 * Fault injection: a run killed with SIGKILL at a named moment (`LISA_FAULT`, see
 * `src/io/fault.ts`) and continued with `--resume` ends with the same files as a run that never
 * stopped: every weight file, checkpoint, answer and metric byte for byte, and the logs and
 * reports equal once wall-clock fields (seconds, tokens/s, creation time) are set aside. Each
 * case first checks that the kill happened at the moment it names (what is on disk then).
 * A damaged newest checkpoint is skipped for the previous one, with a warning.
 */
import assert from "node:assert/strict";
import { cliArgs, filesUnder } from "./_cli.ts";
import { tinyModelDir, tinyRunFlags } from "./_tiny_lm.ts";

const model = await tinyModelDir(21);
const root = await Deno.makeTempDir({ prefix: "lisa-faults-" });
// Each run works in its own folder with the same relative output path, so paths recorded in
// the run (config, the adapter's base model) are the same in every run.
// One process (--workers=1): each moment is named in the process that runs the phase.
const FLAGS = [
  ...tinyRunFlags(model, "out"),
  "--backend=wasm",
  "--output.name=r",
  "--workers=1",
];
const RUN = "out/r";

interface Ran {
  readonly code: number;
  readonly signal: string | null;
  readonly err: string;
}

async function run(cwd: string, args: string[], fault?: string): Promise<Ran> {
  await Deno.mkdir(cwd, { recursive: true });
  const r = await new Deno.Command(Deno.execPath(), {
    args: cliArgs(args),
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: fault ? { LISA_FAULT: fault } : {},
  }).output();
  return { code: r.code, signal: r.signal, err: new TextDecoder().decode(r.stderr) };
}

const reference = run(`${root}/reference`, FLAGS);

const TIMING_KEYS = new Set(["seconds", "trainSeconds", "evalSeconds", "tokensPerSec"]);
const ISO_TIME = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z/g;

function dropTiming(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropTiming);
  if (typeof v !== "object" || v === null) return v;
  return Object.fromEntries(
    Object.entries(v).filter(([k]) => !TIMING_KEYS.has(k)).map(([k, x]) => [k, dropTiming(x)]),
  );
}

/** A text file with its wall-clock content set aside (creation times, seconds, tokens/s). */
function withoutTiming(name: string, text: string): string {
  const t = text.replace(ISO_TIME, "<time>");
  if (name.endsWith(".jsonl")) {
    return t.split("\n").filter(Boolean).map((l) => JSON.stringify(dropTiming(JSON.parse(l))))
      .join("\n");
  }
  return name.endsWith(".json") ? JSON.stringify(dropTiming(JSON.parse(t))) : t;
}

/** Compare two run folders; returns how many files matched byte for byte. */
async function assertSameRun(expected: string, actual: string): Promise<number> {
  const files = filesUnder(expected);
  assert.deepEqual(filesUnder(actual), files, "the resumed run has the same files");
  let exact = 0;
  for (const f of files) {
    const [a, b] = [await Deno.readFile(`${expected}/${f}`), await Deno.readFile(`${actual}/${f}`)];
    if (a.length === b.length && a.every((x, i) => x === b[i])) {
      exact++;
      continue;
    }
    assert.ok(/\.(json|jsonl|md|html)$/.test(f), `${f} differs byte for byte`);
    const dec = new TextDecoder();
    assert.equal(
      withoutTiming(f, dec.decode(b)),
      withoutTiming(f, dec.decode(a)),
      `${f} differs beyond wall-clock fields`,
    );
  }
  return exact;
}

const exists = (p: string) => {
  try {
    Deno.lstatSync(p);
    return true;
  } catch {
    return false;
  }
};
const lines = (p: string) => exists(p) ? Deno.readTextFileSync(p).split("\n").filter(Boolean) : [];
const checkpoints = (stage: string) =>
  exists(`${stage}/checkpoints`)
    ? [...Deno.readDirSync(`${stage}/checkpoints`)].map((e) => e.name).sort()
    : [];

interface Case {
  readonly name: string;
  readonly fault: string;
  /** What must be on disk right after the kill (proves the moment). */
  readonly at: (run: string) => void;
  /** Something to do between the kill and the resume. */
  readonly then?: (run: string) => void;
  /** A line the resumed run must print. */
  readonly says?: RegExp;
}

const CASES: Case[] = [
  {
    name: "before the first checkpoint (alignment step 2 of 4)",
    fault: "log-append@2",
    at: (r) => {
      assert.equal(lines(`${r}/align/log.jsonl`).length, 2);
      assert.deepEqual(checkpoints(`${r}/align`), []);
    },
  },
  {
    name: "during the first checkpoint write (one file of six written)",
    fault: "checkpoint-write@1",
    at: (r) => {
      assert.deepEqual(checkpoints(`${r}/align`), [".tmp-step-00000004"]);
      assert.deepEqual(filesUnder(`${r}/align/checkpoints`), [
        ".tmp-step-00000004/weights.safetensors",
      ]);
    },
  },
  {
    name: "a checkpoint complete but not yet renamed into place (fine-tuning step 4)",
    fault: "checkpoint-rename@2",
    at: (r) => {
      assert.deepEqual(checkpoints(`${r}/finetune-lisa/train`), [".tmp-step-00000004"]);
      assert.equal(filesUnder(`${r}/finetune-lisa/train/checkpoints`).length, 6);
    },
  },
  {
    name: "between checkpoints (fine-tuning step 5 of 8)",
    // Appends: 4 alignment log lines and its end-of-stage drift line, then fine-tuning step 1,
    // its switch drift, steps 2-4, the drift at step 4 and step 5 (the twelfth).
    fault: "log-append@12",
    at: (r) => {
      assert.deepEqual(checkpoints(`${r}/finetune-lisa/train`), ["step-00000004"]);
      assert.equal(lines(`${r}/finetune-lisa/train/log.jsonl`).length, 5);
    },
  },
  {
    name: "during evaluation (the aligned model's answers generated, not saved)",
    fault: "generate-batch@3",
    at: (r) => {
      assert.ok(exists(`${r}/base/metrics.json`) && exists(`${r}/align/done.json`));
      assert.ok(!exists(`${r}/aligned-eval`));
    },
  },
  {
    name: "a metrics file written to its temporary name, not renamed",
    // The run's atomic writes: the marker, config.json, the marker with the input checksums,
    // base/answers.jsonl, then base/metrics.json (the fifth).
    fault: "atomic-write@5",
    at: (r) => {
      assert.ok(exists(`${r}/base/answers.jsonl`) && !exists(`${r}/base/metrics.json`));
      assert.equal(filesUnder(`${r}/base`).filter((f) => f.endsWith(".tmp")).length, 1);
    },
  },
  {
    name: "during reporting (report.json written, report.md and report.html not)",
    fault: "report-write@1",
    at: (r) => {
      assert.ok(exists(`${r}/report.json`) && !exists(`${r}/report.md`));
    },
  },
  {
    name: "after the last checkpoint, whose file is then damaged (falls back to the previous)",
    fault: "generate-batch@5",
    at: (r) => {
      assert.deepEqual(checkpoints(`${r}/finetune-lisa/train`), ["step-00000004", "step-00000008"]);
      assert.ok(!exists(`${r}/finetune-lisa/metrics.json`));
    },
    then: (r) => {
      // As if killed before the stage recorded its end (train/done.json): the resume then
      // continues the stage from its newest checkpoint, which is damaged. (A finished stage
      // reloads its saved adapter and reads no checkpoint.)
      Deno.removeSync(`${r}/finetune-lisa/train/done.json`);
      const f = `${r}/finetune-lisa/train/checkpoints/step-00000008/weights.safetensors`;
      const bytes = Deno.readFileSync(f);
      bytes[bytes.length - 1]! ^= 0xff;
      Deno.writeFileSync(f, bytes);
    },
    says: /warning: checkpoint .*step-00000008 failed its check.*previous one.*step-00000004/,
  },
];

Deno.test("fault injection: a run killed at any moment resumes to the same result", async (t) => {
  const ref = await reference;
  assert.equal(ref.code, 0, ref.err);
  const refDir = `${root}/reference/${RUN}`;
  // Two at a time: the machine has two cores.
  const results = new Map<string, Promise<{ killed: Ran; resumed: Ran; dir: string }>>();
  const start = (c: Case, i: number) => {
    const cwd = `${root}/case-${i}`;
    return (async () => {
      const killed = await run(cwd, FLAGS, c.fault);
      const dir = `${cwd}/${RUN}`;
      if (killed.signal === "SIGKILL") {
        c.at(dir);
        c.then?.(dir);
      }
      const resumed = await run(cwd, ["--resume", RUN, "--workers=1"]);
      return { killed, resumed, dir };
    })();
  };
  for (let i = 0; i < CASES.length; i += 2) {
    for (const [j, c] of CASES.slice(i, i + 2).entries()) results.set(c.name, start(c, i + j));
    await Promise.allSettled([...results.values()].slice(i, i + 2));
  }
  for (const c of CASES) {
    await t.step(c.name, async () => {
      const { killed, resumed, dir } = await results.get(c.name)!;
      assert.equal(killed.signal, "SIGKILL", `${c.fault} did not kill the run:\n${killed.err}`);
      assert.equal(resumed.code, 0, resumed.err);
      if (c.says) assert.match(resumed.err, c.says);
      const exact = await assertSameRun(refDir, dir);
      assert.ok(exact > 20, `only ${exact} files matched byte for byte`);
    });
  }
  await Deno.remove(root, { recursive: true });
  await Deno.remove(model, { recursive: true });
});
