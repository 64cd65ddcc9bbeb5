/**
 * The phases of the `run` command and what each waits for: the plan that worker processes
 * follow to run independent phases side by side.
 *
 * @module
 */
import type { ExperimentConfig } from "../config/mod.ts";
import { methodSpec } from "../train/mod.ts";
import { configuredMethods } from "./prepare.ts";

/**
 * The independent phases of `run`, by name: `base` (evaluate the base model), `align`,
 * `aligned-eval`, and `finetune-<method>` for each method. `aligned-eval` and the fine-tunes
 * of methods that start from the aligned model need `align` finished first; the others need
 * nothing. Worker processes run them side by side ({@link runPhase}).
 */
export interface RunPhase {
  /** The phase's name (also its folder, but for `align`, which writes `align/` and `aligned/`). */
  readonly name: string;
  /** The phases that must finish first. */
  readonly after: readonly string[];
}

/** The phases of `run` under `cfg`, in the order a serial run takes them. */
export function runPhasesOf(cfg: ExperimentConfig): RunPhase[] {
  const methods = configuredMethods(cfg);
  const align = cfg.alignment.enabled && methods.some((m) => methodSpec(m).needsAlignedModel);
  const phases: RunPhase[] = [];
  if (cfg.eval.base) phases.push({ name: "base", after: [] });
  if (align) {
    phases.push({ name: "align", after: [] });
    if (cfg.eval.aligned) phases.push({ name: "aligned-eval", after: ["align"] });
  }
  for (const m of methods) {
    const after = align && methodSpec(m).needsAlignedModel ? ["align"] : [];
    phases.push({ name: `finetune-${m}`, after });
  }
  return phases;
}
