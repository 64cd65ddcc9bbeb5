/**
 * A sweep on a throwaway cluster: PostgreSQL in a temporary folder on a free loopback port,
 * two runner processes and a submitter started at the same moment on the fresh database (both
 * runners must join), a 4-cell tiny sweep submitted by a process that exits right after
 * submitting, one runner killed (SIGKILL) in the middle of a cell, and `sweep --status` that
 * watches the sweep to its end and collects the report. Every cell's metrics, answers and
 * adapter must equal a local run's; the killed cell must have been finished by the other
 * runner. The database is stopped and removed afterwards. Without PostgreSQL the test is
 * ignored.
 */
import assert from "node:assert/strict";
import { Effect, Layer } from "effect";
import { Backend } from "../backends/mod.ts";
import { resolveConfig } from "../src/config/mod.ts";
import { cellDir, openRunDir, runSweep, sweepCells } from "../src/pipeline/mod.ts";
import { cellJobName } from "../src/parallel/mod.ts";
import { formatStatus, type JobStatus, pgLayer, sweepStatus } from "../src/cluster/mod.ts";
import { latestCheckpoint, Progress } from "../src/train/mod.ts";
import { commandLine, requires, timeless } from "./_helpers.ts";
import { freePort, missingPostgres, startPostgres } from "./_postgres.ts";
import { tinyModelDir, tinyRunFlags } from "./_tiny_lm.ts";

const root = new URL("../", import.meta.url).pathname;

/** Start `deno run src/cli/main.ts ...args` (output piped: read it with {@link collect}). */
function cli(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-webgpu", "src/cli/main.ts", ...args],
    cwd: root,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Drain a child's output into a text buffer (so pipes never fill). */
function collect(child: Deno.ChildProcess): { text: () => string; done: Promise<void> } {
  let text = "";
  const read = async (s: ReadableStream<Uint8Array>) => {
    for await (const c of s.pipeThrough(new TextDecoderStream())) text += c;
  };
  const done = Promise.all([read(child.stdout), read(child.stderr)]).then(() => {});
  return { text: () => text, done };
}

const existsSync = (p: string) => {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test({
  ...requires(
    "cluster: 4 cells on 2 runners, one killed mid-cell, the same metrics as a local run",
    missingPostgres(),
  ),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const model = await tinyModelDir(9);
    const out = await Deno.makeTempDir({ prefix: "lisa-cluster-" });
    const pg = await startPostgres();
    const runners: Array<{ child: Deno.ChildProcess; out: ReturnType<typeof collect> }> = [];
    const logs: string[] = [];
    const exited = [false, false];
    /** Other children (the submitter, the watcher), killed in the end if still there. */
    const others: Deno.ChildProcess[] = [];
    /** The runners' output, for a failure message. */
    const runnerLogs = () =>
      runners.map((r, i) => `--- runner ${i}:\n${r.out.text().slice(-3000)}`).join("\n");
    try {
      const flags = [
        ...tinyRunFlags(model, out),
        "--backend=wasm",
        "--method.compare=sft,lisa",
        "--sweep.p=0,0.2",
        "--finetune.optim.maxSteps=48",
      ];
      const ports = [freePort(), freePort()];
      for (const port of ports) {
        const child = cli([
          "runner",
          `--cluster.db=${pg.url}`,
          "--cluster.host=127.0.0.1",
          `--cluster.port=${port}`,
          "--backend=wasm",
        ]);
        const i = runners.length;
        child.status.then(() => exited[i] = true);
        runners.push({ child, out: collect(child) });
      }
      // The submitter starts with them (three processes setting up a fresh database at once)
      // and exits as soon as the sweep is submitted: the sweep must go on.
      const submitter = cli([
        "sweep",
        ...flags,
        "--output.name=c",
        `--cluster.db=${pg.url}`,
      ]);
      const sub = collect(submitter);
      others.push(submitter);
      // Both runners, started at the same moment on the fresh database, join the cluster.
      const ready = () => runners.every((r) => /:\d+ ready$/m.test(r.out.text()));
      for (let i = 0; i < 1200 && !ready(); i++) {
        assert.ok(!exited.some((e) => e), `a runner exited at start-up\n${runnerLogs()}`);
        await sleep(100);
      }
      assert.ok(ready(), `the runners did not join\n${runnerLogs()}`);
      const dir = `${out}/c`;
      for (let i = 0; i < 600 && !sub.text().includes("submitted "); i++) await sleep(100);
      assert.match(sub.text(), /submitted /, `the submitter said:\n${sub.text()}`);
      submitter.kill("SIGKILL");
      await sub.done;
      await submitter.status;
      assert.ok(!sub.text().includes(pg.url.split("@")[0]!), "no database URL printed");

      // Kill the runner that holds a cell once that cell has a checkpoint.
      const cfg = await Effect.runPromise(resolveConfig({ configFile: `${dir}/config.json` }));
      const cells = sweepCells(cfg);
      const killed = await Effect.runPromise(
        Effect.gen(function* () {
          for (let i = 0; i < 1200; i++) {
            const rows: JobStatus[] = yield* sweepStatus(dir);
            for (const c of cells) {
              const row = rows.find((r) => r.job === cellJobName(c));
              if (row?.state !== "running" || !row.runner) continue;
              // A whole checkpoint (listed only once complete), and the cell not yet finished.
              let has = false;
              try {
                has = latestCheckpoint(`${cellDir(cfg, dir, c)}/train`) !== null &&
                  !existsSync(`${cellDir(cfg, dir, c)}/adapter`);
              } catch {
                // no checkpoint folder yet
              }
              if (!has) continue;
              const idx = ports.findIndex((p) => row.runner === `127.0.0.1:${p}`);
              // The other runner must be alive to take the cell over.
              assert.ok(!exited[1 - idx], `runner ${1 - idx} exited early\n${runnerLogs()}`);
              runners[idx]!.child.kill("SIGKILL");
              logs.push(formatStatus(rows));
              return { job: row.job, runner: row.runner };
            }
            yield* Effect.sleep(100);
          }
          return null;
        }).pipe(Effect.provide(pgLayer(pg.url))),
      );
      assert.ok(killed, `a runner was killed in the middle of a cell\n${runnerLogs()}`);

      // Watch to the end and collect the report, from a fresh process.
      const watcher = cli(["sweep", "--status", dir, `--cluster.db=${pg.url}`]);
      const w = collect(watcher);
      others.push(watcher);
      // Bounded: a sweep left without a live runner must fail the test, not hang the suite.
      const limit = setTimeout(() => watcher.kill("SIGKILL"), 240_000);
      const status = await watcher.status;
      clearTimeout(limit);
      await w.done;
      assert.equal(status.code, 0, `${w.text()}\n${runnerLogs()}`);
      assert.match(w.text(), /Harmful score/);
      assert.ok(!w.text().includes(pg.url.split("@")[0]!), "no database URL printed");

      const rows = await Effect.runPromise(
        sweepStatus(dir).pipe(Effect.provide(pgLayer(pg.url))),
      );
      assert.ok(rows.every((r) => r.state === "done"), formatStatus(rows));
      const moved = rows.find((r) => r.job === killed!.job)!;
      assert.notEqual(moved.runner, killed!.runner, "another runner finished the killed cell");
      assert.ok(moved.attempts >= 2, `attempts ${moved.attempts}`);

      // The same sweep locally, in this process, on the same backend.
      const local = await Effect.runPromise(Effect.provide(
        Effect.gen(function* () {
          const cfgLocal = yield* resolveConfig(commandLine([...flags, "--output.name=local"]));
          const d = yield* openRunDir(cfgLocal, "sweep", null);
          yield* runSweep(cfgLocal, d);
          return d;
        }),
        Layer.mergeAll(Backend.layer("wasm"), Progress.silent),
      ));
      for (const c of cells) {
        const a = cellDir(cfg, dir, c);
        const b = cellDir(cfg, local, c);
        const ma = JSON.parse(await Deno.readTextFile(`${a}/metrics.json`));
        const mb = JSON.parse(await Deno.readTextFile(`${b}/metrics.json`));
        assert.deepEqual(timeless(ma), timeless(mb), `${a}/metrics.json`);
        assert.equal(
          await Deno.readTextFile(`${a}/answers.jsonl`),
          await Deno.readTextFile(`${b}/answers.jsonl`),
        );
        assert.deepEqual(
          await Deno.readFile(`${a}/adapter/adapter_model.safetensors`),
          await Deno.readFile(`${b}/adapter/adapter_model.safetensors`),
          `${c.method} p=${c.p}: the adapter`,
        );
      }
      const report = JSON.parse(await Deno.readTextFile(`${dir}/report.json`));
      assert.equal(report.runs.length, 4);
      // The database never appears in the run folder.
      const host = new URL(pg.url).host;
      for await (const f of walk(dir)) {
        if (f.endsWith(".safetensors")) continue;
        assert.ok(!(await Deno.readTextFile(f)).includes(host), `${f} names the database`);
      }
    } finally {
      for (const child of others) {
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
        await child.status;
      }
      for (const r of runners) {
        try {
          r.child.kill("SIGKILL");
        } catch {
          // already gone
        }
        await r.child.status;
        await r.out.done;
      }
      await pg.stop();
      await Deno.remove(out, { recursive: true }).catch(() => {});
      await Deno.remove(model, { recursive: true }).catch(() => {});
    }
  },
});

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) yield* walk(p);
    else if (e.isFile) yield p;
  }
}
