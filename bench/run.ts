/**
 * `deno task bench`: matmul throughput per backend against raw BLAS sgemm, a LoRA training
 * step per backend (tokens/s, MFU), and the model engineer's `bench/model_bench.ts` when it
 * exists. Writes `bench/results/*.json` and `bench/results/README.md`.
 *
 * Flags (all `--key=value`; unknown ones are errors):
 *   --quick                 small sizes and a small model, every backend, about a minute
 *   --only=matmul,train,peer,model,lisa,methods   which parts to run (default all)
 *   --backends=native,wasm,...  backends for the matmul part (default: all but tensorflow)
 *   --train-backends=...    backends for the training step (default native,wasm; quick: all)
 *   --sizes=128,256,512,1024    matmul sizes
 *   --slow-max=512          largest matmul size on cpu and webgpu
 *   --steps=2               timed training steps per backend (after one warm-up)
 *   --seconds=1             timed seconds per matmul point
 *   --vocab=8192 --seq=256 --batch=8   override the training-step shape
 *   --micro-batch=4         rows per forward/backward pass (gradients summed per step)
 *   --no-profile            skip the per-kernel profile of the native step
 *   --peer-steps=3          alternated step pairs against PyTorch (part `peer`; needs a Python
 *                           with torch, transformers, peft: LISA_PEER_PYTHON or python3)
 *   --out=bench/results     output folder
 *
 * @module
 */
import { BACKEND_NAMES, type BackendName, isBackendName, probeAll } from "../backends/mod.ts";
import { openBlas } from "../backends/native/blas.ts";
import { benchFlags } from "./_flags.ts";
import { type BenchReport, checkTargets, writeReport } from "./_report.ts";
import { rawSgemm, runMatmulBench } from "./matmul_bench.ts";
import { QUICK_SHAPE, REFERENCE_SHAPE, runTrainStepBench } from "./train_step_bench.ts";
import { lisaBenchTable, runLisaBench } from "./lisa_bench.ts";
import { methodsBenchTable, runMethodsBench } from "./methods_bench.ts";
import { runPeerBench } from "./peer_bench.ts";

const KNOWN = [
  "quick",
  "only",
  "backends",
  "train-backends",
  "sizes",
  "slow-max",
  "steps",
  "seconds",
  "vocab",
  "seq",
  "batch",
  "micro-batch",
  "no-profile",
  "peer-steps",
  "out",
];

const SWITCHES = ["quick", "no-profile"];

/**
 * Parse the bench's flags with the CLI's parser (`--key=value`, `--key value`, switches);
 * an unknown flag or a stray argument throws one line.
 */
export function parseFlags(args: readonly string[]): Map<string, string> {
  const spec = { values: KNOWN.filter((k) => !SWITCHES.includes(k)), switches: SWITCHES };
  return new Map(benchFlags("bench", spec, args));
}

function list(v: string | undefined): string[] | undefined {
  return v?.split(",").map((s) => s.trim()).filter(Boolean);
}

function backendList(v: string | undefined, fallback: BackendName[]): BackendName[] {
  const names = list(v);
  if (!names) return fallback;
  const bad = names.find((n) => !isBackendName(n));
  if (bad !== undefined) {
    throw new Error(`bench: unknown backend '${bad}'; expected ${BACKEND_NAMES.join(", ")}`);
  }
  return names.filter(isBackendName);
}

function num(v: string | undefined, fallback: number, what: string): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`bench: --${what} must be > 0, got '${v}'`);
  return n;
}

async function machine(): Promise<Record<string, string | number>> {
  const out: Record<string, string | number> = {
    deno: Deno.version.deno,
    os: `${Deno.build.os} ${Deno.build.arch}`,
    cpus: navigator.hardwareConcurrency,
  };
  try {
    const info = await Deno.readTextFile("/proc/cpuinfo");
    const model = /model name\s*:\s*(.*)/.exec(info)?.[1];
    if (model) out.cpu = model.trim();
  } catch { /* not Linux */ }
  const blas = openBlas();
  out.blas = blas.ok
    ? `${blas.library.path}${blas.library.core ? ` (${blas.library.core})` : ""}, ` +
      `${blas.library.threads || "?"} threads`
    : "none";
  if (blas.ok && blas.library.coreNote) out.blasNote = blas.library.coreNote;
  return out;
}

function peak(rates: Record<string, number>): number | null {
  const v = Object.values(rates);
  return v.length ? Math.max(...v) : null;
}

/** Run the benchmarks named by `args` and write the results. */
export async function main(args: readonly string[]): Promise<BenchReport> {
  const f = parseFlags(args);
  const quick = f.has("quick");
  const only = new Set(
    list(f.get("only")) ?? ["matmul", "train", "peer", "model", "lisa", "methods"],
  );
  const log = (line: string) => console.log(line);
  const available = (await probeAll())
    .filter((a) => a.available && a.name !== "tensorflow")
    .map((a) => a.name);
  const seconds = num(f.get("seconds"), quick ? 0.3 : 1, "seconds");

  const matmul = only.has("matmul")
    ? await runMatmulBench({
      backends: backendList(f.get("backends"), available),
      sizes:
        (list(f.get("sizes")) ?? (quick ? ["128", "256", "512"] : ["128", "256", "512", "1024"]))
          .map((s) => num(s, 0, "sizes")),
      slowMax: num(f.get("slow-max"), quick ? 256 : 512, "slow-max"),
      seconds,
      log,
    })
    : undefined;

  const base = quick ? QUICK_SHAPE : REFERENCE_SHAPE;
  const shape = {
    ...base,
    vocab: num(f.get("vocab"), base.vocab, "vocab"),
    seq: num(f.get("seq"), base.seq, "seq"),
    batch: num(f.get("batch"), base.batch, "batch"),
    microBatch: num(f.get("micro-batch"), base.microBatch, "micro-batch"),
  };
  const trainBackends = backendList(
    f.get("train-backends"),
    quick ? available : available.filter((b) => b === "native" || b === "wasm"),
  );
  const trainStep = only.has("train")
    ? await runTrainStepBench({
      backends: trainBackends,
      shape,
      steps: num(f.get("steps"), 2, "steps"),
      sgemmPeak: matmul?.sgemmPeak ?? peak(await rawSgemm([512, 1024], seconds)),
      profile: f.has("no-profile") ? [] : ["native"],
      slowStepSeconds: 30,
      log,
    })
    : undefined;

  const peer = only.has("peer")
    ? await runPeerBench({
      backend: available.includes("native") ? "native" : "wasm",
      shape,
      steps: num(f.get("peer-steps"), quick ? 1 : 3, "peer-steps"),
      genRounds: quick ? 1 : 3,
      quick,
      log,
    })
    : undefined;

  let model: unknown = undefined;
  if (only.has("model")) {
    const url = new URL("./model_bench.ts", import.meta.url);
    const exists = await Deno.stat(url).then(() => true, () => false);
    if (exists) {
      const mod = await import(url.href) as { runModelBench?: (o: unknown) => Promise<unknown> };
      if (typeof mod.runModelBench === "function") {
        model = await mod.runModelBench({ quick, backends: trainBackends, log, out: null });
      } else log("bench/model_bench.ts has no runModelBench export; skipped");
    } else log("bench/model_bench.ts not present; model benchmarks skipped");
  }

  // Lisa's step-time ratio over SFT, the KV cache's gain and peak memory (bench/lisa_bench.ts).
  if (only.has("lisa")) {
    const lisaBackend = available.includes("native") ? "native" : "wasm";
    const lisa = await runLisaBench({ backend: lisaBackend, quick, log, out: null });
    const dir = f.get("out") ?? "bench/results";
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(`${dir}/lisa.json`, JSON.stringify(lisa, null, 2) + "\n");
    await Deno.writeTextFile(
      `${dir}/lisa.md`,
      `# Lisa cost and KV cache\n\n${lisaBenchTable(lisa)}\n`,
    );
    await new Deno.Command(Deno.execPath(), { args: ["fmt", "-q", `${dir}/lisa.md`] }).output()
      .catch(() => undefined);
    log(lisaBenchTable(lisa));
  }

  // Each method's per-step cost over SFT in its stage (bench/methods_bench.ts).
  if (only.has("methods")) {
    const backend = available.includes("native") ? "native" : "wasm";
    const methods = await runMethodsBench({ backend, quick, log, out: null });
    const dir = f.get("out") ?? "bench/results";
    if (!quick) { // a quick run's figures are a smoke test, not results
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeTextFile(`${dir}/methods.json`, JSON.stringify(methods, null, 2) + "\n");
      await Deno.writeTextFile(
        `${dir}/methods.md`,
        `# Cost of each method\n\n${methodsBenchTable(methods)}\n`,
      );
      await new Deno.Command(Deno.execPath(), { args: ["fmt", "-q", `${dir}/methods.md`] })
        .output().catch(() => undefined);
    }
    log(methodsBenchTable(methods));
  }

  const report: BenchReport = {
    date: new Date().toISOString(),
    machine: await machine(),
    quick,
    ...(matmul ? { matmul } : {}),
    ...(trainStep ? { trainStep } : {}),
    ...(model !== undefined ? { model } : {}),
    ...(peer ? { peer } : {}),
    targets: checkTargets({
      ...(matmul ? { matmul } : {}),
      ...(trainStep ? { trainStep } : {}),
      ...(peer ? { peer } : {}),
    }),
  };
  const out = new URL(`${f.get("out") ?? "bench/results"}/`, `file://${Deno.cwd()}/`);
  const files = await writeReport(out, report);
  // Keep the generated files in the repository's format, so `deno fmt --check` stays clean.
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "-q", ...files], stdout: "null" })
    .output().catch(() => undefined);
  for (const c of report.targets) {
    log(
      `target: ${c.target}: ${c.reached} -> ${c.met === null ? "n/a" : c.met ? "met" : "MISSED"}`,
    );
  }
  log(`wrote ${files.join(", ")}`);
  return report;
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    Deno.exit(2);
  }
}
