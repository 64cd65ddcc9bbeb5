/**
 * The reference training step (`train_step_bench.ts`) with the fused kernels' row-wise passes
 * and attention's heads on every thread (`backends/fused/row_pool.ts`) against the same step with
 * them on the calling thread only (`setRowParallel(false)`, the path before), alternated in one
 * process so that both see the same load from other processes: wall and CPU time per step, as
 * new / old ratios per pair, their median and range. First checks that the two paths give the
 * same loss and LoRA gradients, bit for bit, from the same state.
 *
 * ```sh
 * deno run -A bench/threads_bench.ts --backend=native --pairs=8
 * ```
 *
 * @module
 */
import { type BackendName, initBackend, tf } from "../backends/mod.ts";
import { setRowParallel } from "../backends/fused/row_pool.ts";
import { buildTrainStep, REFERENCE_SHAPE } from "./train_step_bench.ts";
import { benchFlags } from "./_flags.ts";

/** Process CPU time (user + system) in seconds, from /proc (null where there is none). */
function cpuSeconds(): number | null {
  try {
    const stat = Deno.readTextFileSync("/proc/self/stat");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks of 10 ms
  } catch {
    return null;
  }
}

/** The median and the range of `xs`. */
export function spread(xs: readonly number[]): { median: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length / 2;
  const median = s.length % 2 ? s[Math.floor(mid)]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]! };
}

if (import.meta.main) {
  const flags = benchFlags("threads_bench", { values: ["backend", "pairs"], switches: [] });
  const backend = (flags.get("backend") ?? "native") as BackendName;
  const pairs = Math.max(1, Math.floor(Number(flags.get("pairs") ?? "8")) || 1);
  await initBackend(backend);
  const step = buildTrainStep(REFERENCE_SHAPE);
  try {
    // The same state, one forward and backward each way: the same loss and gradients to the bit.
    const [split, whole] = [true, false].map((on) => {
      setRowParallel(on);
      const out = step.gradients();
      const bits = out.map((x) => new Uint32Array(x.dataSync().slice().buffer));
      tf.dispose(out);
      return bits;
    });
    const differ = split!.findIndex((a, i) => a.some((v, j) => v !== whole![i]![j]));
    console.log(
      `loss and ${split!.length - 1} gradients, split vs one thread: ` +
        (differ < 0 ? "the same bits" : `output ${differ} differs`),
    );
    if (differ >= 0) throw new Error("the two paths give other numbers");
    await step.stepAsync(); // warm-up
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < pairs; i++) {
      const t: Record<string, { wall: number; cpu: number }> = {};
      for (const on of i % 2 ? [true, false] : [false, true]) {
        setRowParallel(on);
        const c0 = cpuSeconds() ?? 0;
        const t0 = performance.now();
        await step.stepAsync();
        t[on ? "new" : "old"] = {
          wall: (performance.now() - t0) / 1000,
          cpu: (cpuSeconds() ?? 0) - c0,
        };
      }
      const [n, o] = [t["new"]!, t["old"]!];
      wall.push(n.wall / o.wall);
      if (o.cpu > 0) cpu.push(n.cpu / o.cpu);
      console.log(
        `pair ${i + 1}: new ${n.wall.toFixed(3)} s (CPU ${n.cpu.toFixed(2)}), ` +
          `old ${o.wall.toFixed(3)} s (CPU ${o.cpu.toFixed(2)}), ratio ${wall.at(-1)!.toFixed(3)}`,
      );
    }
    const w = spread(wall);
    console.log(
      `new / old wall: median ${w.median.toFixed(3)} (${w.min.toFixed(2)}-${w.max.toFixed(2)}, ` +
        `${pairs} pairs)` +
        (cpu.length ? `; CPU: median ${spread(cpu).median.toFixed(3)}` : ""),
    );
  } finally {
    setRowParallel(true);
    step.dispose();
  }
}
