/**
 * Benchmark results as plain data, and their two renderings: one JSON file per benchmark and
 * a markdown summary (`bench/results/README.md`).
 *
 * @module
 */
import { peerBenchMarkdown, type PeerResult } from "./peer_bench.ts";

/** One matmul measurement. */
export interface MatmulPoint {
  readonly backend: string;
  readonly size: number;
  readonly gflops: number;
  /** gflops / raw sgemm GFLOP/s timed alternately with it (null without a BLAS). */
  readonly ratioToSgemm: number | null;
}

/** The matmul benchmark: per-backend rates and the raw BLAS rate they are compared to. */
export interface MatmulResult {
  readonly sizes: readonly number[];
  /** Best raw `cblas_sgemm` GFLOP/s by size (FFI on plain Float32Arrays), or empty without BLAS. */
  readonly sgemm: Readonly<Record<string, number>>;
  /** The best raw sgemm rate measured: the peak MFU is computed against. */
  readonly sgemmPeak: number | null;
  readonly points: readonly MatmulPoint[];
  readonly skipped: readonly string[];
}

/** Time spent per kernel in one profiled step. */
export interface KernelShare {
  readonly kernel: string;
  readonly ms: number;
  readonly share: number;
  readonly calls: number;
}

/** One training-step measurement. */
export interface TrainStepPoint {
  readonly backend: string;
  /** Median seconds per step over the timed steps (or the one warm-up step when slow). */
  readonly stepSeconds: number;
  /** Timed steps after the warm-up; 0 when the warm-up step itself is the measurement. */
  readonly timedSteps: number;
  readonly tokensPerSecond: number;
  /** Model FLOPs per second over the measured sgemm peak (null without a BLAS). */
  readonly mfu: number | null;
  readonly modelGflopsPerSecond: number;
  /**
   * Raw sgemm (1024) GFLOP/s measured right after the timed steps: the machine's rate under
   * the same load from other processes, and MFU against it.
   */
  readonly sgemmAlongside: number | null;
  readonly mfuAlongside: number | null;
  /** The slowest kernels of one profiled step, when profiling ran. */
  readonly profile?: readonly KernelShare[];
}

/** The training-step benchmark. */
export interface TrainStepResult {
  readonly model: Readonly<Record<string, number | string>>;
  /** Which implementation was timed (the project's `src/model` + `src/lora`, or a stand-in). */
  readonly implementation: string;
  readonly flopsPerStep: number;
  readonly flopsNote: string;
  readonly points: readonly TrainStepPoint[];
  readonly skipped: readonly string[];
}

/** Everything one `deno task bench` run measured. */
export interface BenchReport {
  readonly date: string;
  readonly machine: Readonly<Record<string, string | number>>;
  readonly quick: boolean;
  readonly matmul?: MatmulResult;
  readonly trainStep?: TrainStepResult;
  /** Whatever `bench/model_bench.ts` returned, when it exists. */
  readonly model?: unknown;
  /** The project against PyTorch on the same machine (`bench/peer_bench.ts`). */
  readonly peer?: PeerResult;
  /** The issue's targets, each with the figure reached and whether it was met. */
  readonly targets: readonly TargetCheck[];
}

/** One target of the issue against the figure reached. */
export interface TargetCheck {
  readonly target: string;
  readonly reached: string;
  readonly met: boolean | null;
}

const f1 = (x: number) => x.toFixed(1);
const pct = (x: number | null) => x === null ? "n/a" : `${(100 * x).toFixed(0)}%`;

/** The targets of the issue that the matmul and training-step figures answer. */
export function checkTargets(
  r: Pick<BenchReport, "matmul" | "trainStep" | "peer">,
): TargetCheck[] {
  const out: TargetCheck[] = [];
  const train = r.peer?.train;
  if (train) {
    out.push({
      target: `reference step on ${r.peer!.backend} no slower than PyTorch CPU (time ratio <= 1)`,
      reached: `${train.ratio.median.toFixed(2)} (${train.ratio.min.toFixed(2)}-` +
        `${train.ratio.max.toFixed(2)} over ${train.ratio.n} pairs)`,
      met: train.ratio.median <= 1,
    });
  }
  const gens = r.peer?.generate ?? [];
  if (gens.length) {
    const speedups = gens.map((g) => g.project.cache.median / g.project.recompute.median);
    out.push({
      target: "KV-cache generation faster than recompute at every measured size",
      reached: gens.map((g, i) => `${g.name}: ${speedups[i]!.toFixed(2)}x`).join(", "),
      met: speedups.every((x) => x > 1),
    });
  }
  const native = r.matmul?.points.filter((p) => p.backend === "native" && p.size >= 512) ?? [];
  if (native.length) {
    const worst = Math.min(...native.map((p) => p.ratioToSgemm ?? 0));
    out.push({
      target: "native matmul >= 80% of raw sgemm for sizes >= 512",
      reached: native.map((p) => `${p.size}: ${pct(p.ratioToSgemm)}`).join(", "),
      met: worst >= 0.8,
    });
  }
  const step = r.trainStep?.points.find((p) => p.backend === "native");
  if (step) {
    out.push({
      target: "training-step MFU on native >= 40% of measured sgemm peak",
      reached: `${pct(step.mfu)} (against sgemm measured alongside: ${pct(step.mfuAlongside)})`,
      met: step.mfu === null ? null : step.mfu >= 0.4,
    });
  }
  return out;
}

/** The markdown summary of a run. */
export function renderMarkdown(r: BenchReport): string {
  const lines: string[] = [
    "# Benchmark results",
    "",
    `Written by \`deno task bench\`${r.quick ? " --quick" : ""} on ${r.date}. ` +
    "All ratios compare figures measured in this one run.",
    "",
    "| machine | |",
    "|---|---|",
    ...Object.entries(r.machine).map(([k, v]) => `| ${k} | ${v} |`),
    "",
  ];
  if (r.matmul) {
    const m = r.matmul;
    const backends = [...new Set(m.points.map((p) => p.backend))];
    lines.push(
      "## Matmul (n x n float32), GFLOP/s (ratio to raw sgemm)",
      "",
      "Each ratio is against raw `cblas_sgemm` timed alternately with that backend's calls (same",
      "load from other processes); the raw row is the best of those. Figures are best-of-reps.",
      "",
    );
    lines.push(
      `| backend | ${m.sizes.join(" | ")} |`,
      `|---|${m.sizes.map(() => "---:").join("|")}|`,
    );
    lines.push(
      `| raw cblas_sgemm | ${m.sizes.map((s) => m.sgemm[s] ? f1(m.sgemm[s]) : "-").join(" | ")} |`,
    );
    for (const b of backends) {
      const cells = m.sizes.map((s) => {
        const p = m.points.find((q) => q.backend === b && q.size === s);
        return p ? `${f1(p.gflops)} (${pct(p.ratioToSgemm)})` : "-";
      });
      lines.push(`| ${b} | ${cells.join(" | ")} |`);
    }
    if (m.skipped.length) lines.push("", `Skipped: ${m.skipped.join("; ")}.`);
    lines.push("");
  }
  if (r.trainStep) {
    const t = r.trainStep;
    lines.push("## Training step (forward, backward, AdamW)", "");
    lines.push(
      `Model: ${Object.entries(t.model).map(([k, v]) => `${k} ${v}`).join(", ")}. ` +
        `Implementation: ${t.implementation}. FLOPs per step: ${
          (t.flopsPerStep / 1e9).toFixed(1)
        } G ` +
        `(${t.flopsNote}).`,
      "",
      "MFU = model FLOPs/s over the run's best raw sgemm rate; the last two columns use the",
      "sgemm rate measured right after the steps instead (same load from other processes).",
      "",
      "| backend | step (s) | steps timed | tokens/s | model GFLOP/s | MFU | sgemm alongside | " +
        "MFU alongside |",
      "|---|---:|---:|---:|---:|---:|---:|---:|",
      ...t.points.map((p) =>
        `| ${p.backend} | ${p.stepSeconds.toFixed(2)} | ` +
        `${p.timedSteps || "1 (cold)"} | ${f1(p.tokensPerSecond)} | ` +
        `${f1(p.modelGflopsPerSecond)} | ${pct(p.mfu)} | ` +
        `${p.sgemmAlongside === null ? "-" : f1(p.sgemmAlongside)} | ${pct(p.mfuAlongside)} |`
      ),
    );
    if (t.skipped.length) lines.push("", `Skipped: ${t.skipped.join("; ")}.`);
    for (const p of t.points.filter((q) => q.profile?.length)) {
      lines.push(
        "",
        `### Profile of one ${p.backend} step (kernel time, top kernels)`,
        "",
        "Shares of the profiled step's own wall time (profiling adds some overhead).",
        "",
      );
      lines.push("| kernel | calls | ms | share |", "|---|---:|---:|---:|");
      for (const k of p.profile!) {
        lines.push(`| ${k.kernel} | ${k.calls} | ${k.ms.toFixed(1)} | ${pct(k.share)} |`);
      }
    }
    lines.push("");
  }
  if (r.peer) {
    lines.push("## Against PyTorch (same machine, same threads)", "", peerBenchMarkdown(r.peer));
  }
  if (r.model !== undefined) {
    lines.push("## Model benchmarks (`bench/model_bench.ts`)", "", "```json");
    lines.push(JSON.stringify(r.model, null, 2), "```", "");
  }
  if (r.targets.length) {
    lines.push("## Targets", "", "| target | reached | met |", "|---|---|---|");
    for (const c of r.targets) {
      lines.push(
        `| ${c.target} | ${c.reached} | ${c.met === null ? "n/a" : c.met ? "yes" : "no"} |`,
      );
    }
    lines.push("");
  }
  return lines.join("\n");
}

/** Write `<dir>/<name>.json` for each part and `<dir>/README.md`. */
export async function writeReport(dir: URL, r: BenchReport): Promise<string[]> {
  await Deno.mkdir(dir, { recursive: true });
  const written: string[] = [];
  const put = async (name: string, text: string) => {
    const url = new URL(name, dir);
    await Deno.writeTextFile(url, text);
    written.push(url.pathname);
  };
  const meta = { date: r.date, machine: r.machine, quick: r.quick };
  if (r.matmul) await put("matmul.json", JSON.stringify({ ...meta, ...r.matmul }, null, 2) + "\n");
  if (r.trainStep) {
    await put("train_step.json", JSON.stringify({ ...meta, ...r.trainStep }, null, 2) + "\n");
  }
  if (r.peer) {
    await put("peer.json", JSON.stringify({ ...meta, ...r.peer }, null, 2) + "\n");
    await put("peer.md", `# Against PyTorch (${r.date})\n\n${peerBenchMarkdown(r.peer)}`);
  }
  if (r.model !== undefined) {
    await put("model.json", JSON.stringify({ ...meta, model: r.model }, null, 2) + "\n");
  }
  await put("summary.json", JSON.stringify(r, null, 2) + "\n");
  await put("README.md", renderMarkdown(r));
  return written;
}
