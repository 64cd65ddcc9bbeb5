/**
 * Peak resident memory of the reference training step in a process that does nothing else:
 * `deno run -A bench/step_rss.ts --backend NAME --shape '<StepShape JSON>'` builds the step, runs it twice
 * and prints `{"peakRssBytes": N}` (Linux `VmHWM`). Used by `peer_bench.ts` beside PyTorch's.
 *
 * @module
 */
import { type BackendName, initBackend } from "../backends/mod.ts";
import { benchFlags } from "./_flags.ts";
import { buildTrainStep, type StepShape } from "./train_step_bench.ts";

/** Peak RSS of this process in bytes (Linux), or null. */
export function peakRssBytes(): number | null {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(Deno.readTextFileSync("/proc/self/status"));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

if (import.meta.main) {
  const flags = benchFlags("step_rss", { values: ["backend", "shape"], switches: [] });
  await initBackend((flags.get("backend") ?? "auto") as BackendName);
  const step = buildTrainStep(JSON.parse(flags.get("shape") ?? "null") as StepShape);
  for (let i = 0; i < 2; i++) await step.stepAsync();
  step.dispose();
  console.log(JSON.stringify({ peakRssBytes: peakRssBytes() }));
}
