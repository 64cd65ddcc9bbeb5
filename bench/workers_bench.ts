/**
 * Wall time of the default `run` (or `sweep`) with 1 and with 2 worker processes, per backend,
 * in one session, the worker counts alternated (round 1: 1 then 2; round 2: 2 then 1; ...) so a
 * load that drifts during the session weighs on both. Each run is the real CLI in a fresh
 * temporary output folder (removed afterwards); its `metrics.json` without wall-clock fields is
 * compared with the first run of the same backend, so a speed-up that changed the answers shows.
 * The load average before each run is recorded: on a shared machine it is part of the result.
 * Writes `bench/results/workers.json` and `bench/results/workers.md`.
 *
 *   deno run -A --unstable-webgpu bench/workers_bench.ts --backends=native,wasm --rounds=1
 *
 * Flags: `--backends=native,wasm`, `--workers=1,2`, `--rounds=1`, `--command=run|sweep`,
 * `--flags="--eval.taskN=100 ..."` (CLI flags added to every run, recorded with the results: a
 * cut-down default keeps its phases and their dependencies), `--out=bench/results`, `--help`.
 *
 * @module
 */
import { timeless } from "../tests/_helpers.ts";
import { benchFlags } from "./_flags.ts";

/** One timed CLI run. */
export interface WorkersRun {
  readonly backend: string;
  readonly workers: number;
  readonly round: number;
  readonly seconds: number;
  /** The 1-minute load average just before the run started. */
  readonly loadBefore: number | null;
  /** Its metrics (without wall-clock fields) equal those of the backend's first run. */
  readonly sameMetrics: boolean;
}

/** Everything one bench session measured. */
export interface WorkersResult {
  readonly date: string;
  readonly command: string;
  /** The CLI flags added to every run (none: the default run itself). */
  readonly flags: readonly string[];
  readonly cores: number;
  readonly runs: readonly WorkersRun[];
}

function loadAverage(): number | null {
  try {
    return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
  } catch {
    return null;
  }
}

/** Run the CLI once; returns the wall seconds and the run's metrics.json. */
async function timedRun(
  command: string,
  flags: readonly string[],
  backend: string,
  workers: number,
): Promise<{ seconds: number; metrics: unknown }> {
  const out = await Deno.makeTempDir({ prefix: "lisa-workers-bench-" });
  try {
    const root = new URL("../", import.meta.url).pathname;
    // `run` is the CLI's default command: it is left out, as `deno task train` users type it.
    const args = ["run", "-A", "--unstable-webgpu", "src/cli/main.ts"];
    if (command !== "run") args.push(command);
    args.push(...flags, "--backend", backend, "--workers", String(workers), "--output.dir", out);
    const t0 = performance.now();
    const r = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: root,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    const seconds = (performance.now() - t0) / 1000;
    if (r.code !== 0) {
      const err = new TextDecoder().decode(r.stderr).trim().split("\n").slice(-3).join(" | ");
      throw new Error(`${command} on ${backend} with ${workers} workers exited ${r.code}: ${err}`);
    }
    const dirs = [...Deno.readDirSync(out)].filter((e) => e.isDirectory);
    if (dirs.length !== 1) throw new Error(`expected one run folder in ${out}`);
    const metrics = JSON.parse(await Deno.readTextFile(`${out}/${dirs[0]!.name}/metrics.json`));
    return { seconds, metrics };
  } finally {
    await Deno.remove(out, { recursive: true });
  }
}

/** The markdown table of a session: one row per run, then the ratio per backend. */
export function workersMarkdown(r: WorkersResult): string {
  const lines = [
    `# Worker processes: the default \`${r.command}\`, 1 vs 2 workers`,
    "",
    `${r.date}, ${r.cores} cores; runs in the order listed (alternated); flags: ${
      r.flags.length ? r.flags.map((f) => `\`${f}\``).join(" ") : "none (the default run)"
    }.`,
    "",
    "| backend | workers | round | wall s | load before | same metrics |",
    "| ------- | ------: | ----: | -----: | ----------: | ------------ |",
  ];
  for (const x of r.runs) {
    lines.push(
      `| ${x.backend} | ${x.workers} | ${x.round} | ${x.seconds.toFixed(0)} | ` +
        `${x.loadBefore?.toFixed(1) ?? "?"} | ${x.sameMetrics ? "yes" : "no"} |`,
    );
  }
  lines.push("", "| backend | mean wall s, 1 worker | mean wall s, 2 workers | speed-up |");
  lines.push("| ------- | --------------------: | ---------------------: | -------: |");
  for (const b of new Set(r.runs.map((x) => x.backend))) {
    const mean = (w: number) => {
      const s = r.runs.filter((x) => x.backend === b && x.workers === w).map((x) => x.seconds);
      return s.length ? s.reduce((a, c) => a + c, 0) / s.length : NaN;
    };
    const one = mean(1);
    const two = mean(2);
    lines.push(`| ${b} | ${one.toFixed(0)} | ${two.toFixed(0)} | ${(one / two).toFixed(2)}x |`);
  }
  return lines.join("\n") + "\n";
}

/** Run the session named by `args` and write the results. */
export async function main(args: readonly string[]): Promise<WorkersResult> {
  const f = benchFlags("workers_bench", {
    values: ["backends", "workers", "rounds", "command", "flags", "out"],
    switches: [],
  }, args);
  const backends = (f.get("backends") ?? "native,wasm").split(",").filter(Boolean);
  const counts = (f.get("workers") ?? "1,2").split(",").map(Number);
  const rounds = Number(f.get("rounds") ?? "1");
  const command = f.get("command") ?? "run";
  const flags = (f.get("flags") ?? "").split(/\s+/).filter(Boolean);
  const outDir = f.get("out") ?? new URL("./results", import.meta.url).pathname;
  if (!["run", "sweep"].includes(command)) throw new Error(`--command: run or sweep`);
  if (counts.some((n) => !Number.isInteger(n) || n < 1) || !(rounds >= 1)) {
    throw new Error("--workers: whole numbers >= 1; --rounds: >= 1");
  }
  const runs: WorkersRun[] = [];
  const first = new Map<string, string>();
  const result = (): WorkersResult => ({
    date: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC",
    command,
    flags,
    cores: navigator.hardwareConcurrency,
    runs,
  });
  for (let round = 1; round <= rounds; round++) {
    for (const backend of backends) {
      const order = round % 2 === 1 ? counts : [...counts].reverse();
      for (const workers of order) {
        const loadBefore = loadAverage();
        const { seconds, metrics } = await timedRun(command, flags, backend, workers);
        const key = JSON.stringify(timeless(metrics));
        if (!first.has(backend)) first.set(backend, key);
        runs.push({
          backend,
          workers,
          round,
          seconds,
          loadBefore,
          sameMetrics: first.get(backend) === key,
        });
        console.log(`${backend} workers=${workers} round ${round}: ${seconds.toFixed(0)} s`);
        // Written after every run: a session cut short keeps what it measured.
        await Deno.writeTextFile(
          `${outDir}/workers.json`,
          JSON.stringify(result(), null, 2) + "\n",
        );
        await Deno.writeTextFile(`${outDir}/workers.md`, workersMarkdown(result()));
      }
    }
  }
  return result();
}

if (import.meta.main) await main(Deno.args);
