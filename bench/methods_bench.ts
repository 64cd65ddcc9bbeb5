/**
 * Each method's per-step cost relative to SFT in the same stage, on the pipeline's real code
 * paths (the LoRA problem, `beforeStep` + `biStateStep` as the trainer runs them), and the
 * repair methods' one-off cost in SFT fine-tuning steps. Methods of a stage are timed in
 * rounds (one step of each method per round, the order rotated every round), so every ratio
 * compares steps taken under the same machine load; the figure is the ratio of medians.
 *
 * - Alignment stage (LoRA r 16 on all seven projections): SFT, Vaccine, Booster, RepNoise,
 *   T-Vaccine. T-Vaccine's layer weights are refreshed every K steps; its figure is a plain
 *   step plus the refresh amortised over K (reference 200).
 * - Fine-tuning stage (LoRA r 8 on q and v): SFT, Lisa (fine-tune state, proximal on), KL,
 *   LDIFS, EWC (Fisher computed once beforehand, not counted).
 * - Repair: Safe LoRA and Antidote (on `harmful` batches), the median of one run per round
 *   (order alternated), in SFT fine-tuning steps.
 *
 * `deno run -A --unstable-webgpu bench/methods_bench.ts [--backend native] [--quick]` writes
 * `bench/results/methods.json` and `methods.md`; `deno task bench --only=methods` runs it too.
 *
 * Shapes: B batch, T sequence.
 *
 * @module
 */
import process from "node:process";
import { Effect } from "effect";
import { benchFlags } from "./_flags.ts";
import { Backend, type BackendName, initBackend, tf } from "../backends/mod.ts";
import { createAdapter, type LoraAdapter, mergeAdapter } from "../src/lora/mod.ts";
import {
  disposeParams,
  initParams,
  LINEAR_MODULES,
  type ModelConfig,
  tinyModelConfig,
} from "../src/model/mod.ts";
import { lmProblem } from "../src/pipeline/problem.ts";
import type { LmArrays } from "../src/pipeline/tokenize.ts";
import { repairSpec } from "../src/repair/mod.ts";
import {
  type Anchors,
  biStateStep,
  createAdamW,
  createMethod,
  disposeAll,
  type Method,
  snapshot,
  type TrainingProblem,
} from "../src/train/mod.ts";

/** Options of {@link runMethodsBench}. */
export interface MethodsBenchOptions {
  readonly backend?: BackendName;
  readonly quick?: boolean;
  /** Where the JSON goes; null to skip writing. */
  readonly out?: string | null;
  readonly log?: (line: string) => void;
}

/** One method's figure. */
export interface MethodCost {
  readonly stage: "alignment" | "finetune" | "repair";
  readonly method: string;
  /** Median milliseconds per step (for a repair: per run). */
  readonly ms: number;
  /**
   * Per-step time over SFT's in the same stage: the median over rounds of the ratio to the SFT
   * step taken just before (a repair: its time in median SFT fine-tuning steps).
   */
  readonly overSft: number;
  /** The same ratio in process CPU time (all threads), which other processes' load disturbs less. */
  readonly cpuOverSft: number;
}

/** The figures of one run. */
export interface MethodsBenchResult {
  readonly backend: BackendName;
  readonly config: { hidden: number; layers: number; seq: number; batch: number; rounds: number };
  readonly costs: readonly MethodCost[];
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** A batch of `b` rows of `t` tokens, the first half prompt (masked out of the loss). */
function batchOf(c: ModelConfig, b: number, t: number, salt: number): LmArrays {
  const ids = Array.from(
    { length: b },
    (_, i) => Array.from({ length: t }, (_, j) => (i * 31 + j * 7 + salt * 13) % c.vocabSize),
  );
  return {
    inputIds: ids,
    attentionMask: ids.map((r) => r.map(() => 1)),
    labels: ids.map((r) => r.map((x, j) => (j < t / 2 ? -100 : x))),
  };
}

/** Run the bench. */
export async function runMethodsBench(o: MethodsBenchOptions = {}): Promise<MethodsBenchResult> {
  const log = o.log ?? ((l: string) => console.error(l));
  const backend = o.backend ?? "native";
  const service = Backend.fromInfo(await initBackend(backend));
  const run = <A>(e: Effect.Effect<A, unknown, Backend>) =>
    Effect.runPromise(Effect.provideService(e, Backend, service));
  const quick = o.quick ?? false;
  const seq = quick ? 32 : 128;
  const batch = quick ? 2 : 8;
  const rounds = quick ? 2 : 16;
  const c = tinyModelConfig({
    vocabSize: 1536,
    hiddenSize: 128,
    intermediateSize: 352,
    numLayers: 4,
    numHeads: 4,
    numKvHeads: 4,
    headDim: 32,
    maxPositionEmbeddings: 512,
    tieWordEmbeddings: true,
  });
  const params = initParams(c, 1);
  const data = batchOf(c, batch, seq, 0);
  const harmful = batchOf(c, batch, seq, 1);
  const costs: MethodCost[] = [];

  /**
   * Time `methods` in rounds on `adapter`: median ms per step, and the median over rounds of
   * each method's step time over the SFT step taken just before it.
   */
  const stage = async (
    adapter: LoraAdapter,
    methods: Record<string, Method>,
    frozen: typeof params,
    stepOf: (name: string) => number,
    anchors: (p: TrainingProblem<LmArrays>) => Anchors | null,
  ): Promise<Record<string, { ms: number; overSft: number; cpuOverSft: number }>> => {
    const problem = lmProblem({ config: c, base: frozen, adapter, dropoutSeed: 0 });
    const optimizer = createAdamW(problem.trainable, { weightDecay: 0 });
    const held = anchors(problem);
    for (const m of Object.values(methods)) m.prepare?.(problem, [harmful]);
    const total = 1000;
    const lr = { lr: 1e-4, schedule: "constant", warmupRatio: 0, totalSteps: total } as const;
    const one = async (name: string) => {
      const m = methods[name]!;
      const step = stepOf(name);
      const ctx = {
        problem,
        batch: data,
        state: m.stateAt(step),
        step,
        ...(m.harmfulBatchAt?.(step) ? { harmfulBatch: harmful } : {}),
      };
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      if (m.beforeStep) await run(m.beforeStep(ctx));
      await run(biStateStep({
        problem,
        method: m,
        optimizer,
        batch: data,
        ...(ctx.harmfulBatch ? { harmfulBatch: ctx.harmfulBatch } : {}),
        step,
        lr,
        anchors: held,
      }));
      const cpu = process.cpuUsage(c0);
      return { wall: performance.now() - t0, cpu: (cpu.user + cpu.system) / 1000 };
    };
    // Every method's step right after an SFT step, in rotating order: each ratio compares two
    // neighbouring steps, so a change in the machine's load cancels out.
    const names = Object.keys(methods).filter((n) => n !== "sft");
    for (const name of ["sft", ...names]) await one(name); // warm-up
    const wall: Record<string, number[]> = { sft: [] };
    const ratios: Record<string, { wall: number[]; cpu: number[] }> = {};
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < names.length; i++) {
        const name = names[(i + r) % names.length]!;
        // Alternate which of the pair goes first, so neither always follows the other method.
        let base: { wall: number; cpu: number };
        let t: { wall: number; cpu: number };
        if (r % 2 === 0) {
          base = await one("sft");
          t = await one(name);
        } else {
          t = await one(name);
          base = await one("sft");
        }
        wall.sft!.push(base.wall);
        (wall[name] ??= []).push(t.wall);
        const q = (ratios[name] ??= { wall: [], cpu: [] });
        q.wall.push(t.wall / base.wall);
        q.cpu.push(t.cpu / base.cpu);
      }
    }
    disposeAll(held);
    optimizer.dispose();
    return Object.fromEntries(
      Object.keys(wall).map((k) => [k, {
        ms: median(wall[k]!),
        overSft: k === "sft" ? 1 : median(ratios[k]!.wall),
        cpuOverSft: k === "sft" ? 1 : median(ratios[k]!.cpu),
      }]),
    );
  };

  // Alignment stage: r 16 on every projection, from the base model.
  const alignLora = { r: 16, alpha: 4, dropout: 0, targets: [...LINEAR_MODULES] };
  const refresh = 200;
  const tv = createMethod("t-vaccine", { layers: 1, refresh, resample: 20 });
  const alignMethods: Record<string, Method> = {
    sft: createMethod("sft", { stage: "alignment" }),
    vaccine: createMethod("vaccine"),
    booster: createMethod("booster"),
    repnoise: createMethod("repnoise"),
    "t-vaccine": tv,
  };
  const a1 = createAdapter(c, alignLora, 3);
  // T-Vaccine's steady state: a step that neither refreshes nor redraws (step 1), after step 0.
  const plain = await stage(
    a1,
    alignMethods,
    params,
    (n) => (n === "t-vaccine" ? 1 : 0),
    () => null,
  );
  // Its refresh: step 0 computes the harmful-gradient weights and draws the layers.
  const refreshes: number[] = [];
  const problem = lmProblem({ config: c, base: params, adapter: a1, dropoutSeed: 0 });
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    await run(
      tv.beforeStep!({ problem, batch: data, state: "alignment", step: 0, harmfulBatch: harmful }),
    );
    refreshes.push(performance.now() - t0);
  }
  tv.dispose?.();
  const tv0 = plain["t-vaccine"]!;
  const amortised = median(refreshes) / refresh;
  const tvMs = tv0.ms + amortised;
  const scale = tvMs / tv0.ms; // a plain step plus the refresh amortised over K steps
  const tvCost = { ms: tvMs, overSft: tv0.overSft * scale, cpuOverSft: tv0.cpuOverSft * scale };
  for (const [name, c] of Object.entries({ ...plain, "t-vaccine": tvCost })) {
    costs.push({ stage: "alignment", method: name, ...c });
  }
  // The aligned model the fine-tuning and repair stages start from.
  tf.tidy(() => {
    for (const m of a1.modules.values()) m.B.assign(tf.mul(tf.onesLike(m.B), 0.01));
  });
  const aligned = mergeAdapter(params, a1);
  a1.dispose();
  log(`methods bench (${backend}): alignment stage done`);

  // Fine-tuning stage: r 8 on q and v, from the aligned model.
  const ftLora = { r: 8, alpha: 4, dropout: 0, targets: ["q_proj", "v_proj"] as const };
  const a2 = createAdapter(c, { ...ftLora, targets: [...ftLora.targets] }, 4);
  const ftMethods: Record<string, Method> = {
    sft: createMethod("sft"),
    lisa: createMethod("lisa", { alignmentSteps: 100, finetuneSteps: 900, rho: 1 }),
    kl: createMethod("kl"),
    ldifs: createMethod("ldifs"),
    ewc: createMethod("ewc"),
  };
  // Step 500: a fine-tune state past Lisa's proximal warm-up; Lisa gets its anchors.
  const ft = await stage(a2, ftMethods, aligned, () => 500, (p) => snapshot(p.trainable));
  for (const m of Object.values(ftMethods)) m.dispose?.();
  for (const [name, c] of Object.entries(ft)) costs.push({ stage: "finetune", method: name, ...c });
  log(`methods bench (${backend}): fine-tuning stage done`);

  // Repair: on the fine-tuned adapter (moved off zero so every module has an update), each
  // repair once per round, the order alternated; the figure is the median run.
  tf.tidy(() => {
    for (const m of a2.modules.values()) m.B.assign(tf.mul(tf.onesLike(m.B), 0.01));
  });
  const knobs = { safeloraThreshold: 0.5, safeloraLayers: 0, antidoteRatio: 0.1 };
  const repairs = ["safelora", "antidote"] as const;
  const repairMs: Record<string, number[]> = { safelora: [], antidote: [] };
  for (let r = 0; r < rounds; r++) {
    for (const name of r % 2 === 0 ? repairs : [...repairs].reverse()) {
      const t0 = performance.now();
      const out = await run(repairSpec(name).apply!(
        { config: c, aligned, base: params, adapter: a2, harmful: [harmful, harmful] },
        knobs,
      ));
      repairMs[name]!.push(performance.now() - t0);
      out.adapter.dispose();
    }
  }
  for (const name of repairs) {
    const ms = median(repairMs[name]!);
    costs.push({ stage: "repair", method: name, ms, overSft: ms / ft.sft!.ms, cpuOverSft: NaN });
  }
  a2.dispose();
  disposeParams(aligned);
  disposeParams(params);

  const result: MethodsBenchResult = {
    backend,
    config: { hidden: c.hiddenSize, layers: c.numLayers, seq, batch, rounds },
    costs,
  };
  // A quick run checks that the bench works; its figures are not results.
  const out = o.out === undefined
    ? (quick ? null : new URL("./results/methods.json", import.meta.url).pathname)
    : o.out;
  if (out) await Deno.writeTextFile(out, JSON.stringify(result, null, 2) + "\n");
  return result;
}

/** Markdown table of the result. */
export function methodsBenchTable(r: MethodsBenchResult): string {
  const k = r.config;
  return [
    `Per-step cost relative to SFT (${r.backend}; hidden ${k.hidden}, ${k.layers} layers, seq ` +
    `${k.seq}, batch ${k.batch}; each ratio the median over ${k.rounds} rounds of a method's ` +
    "step over the SFT step taken just before it)",
    "",
    "| stage | method | median ms | wall time / SFT step | CPU time / SFT step |",
    "|---|---|---:|---:|---:|",
    ...r.costs.map((c) =>
      `| ${c.stage} | ${c.method} | ${c.ms.toFixed(1)} | ${c.overSft.toFixed(2)}` +
      `${c.stage === "repair" ? " (once, in fine-tuning steps)" : ""} | ` +
      `${Number.isFinite(c.cpuOverSft) ? c.cpuOverSft.toFixed(2) : "-"} |`
    ),
  ].join("\n");
}

if (import.meta.main) {
  const flags = benchFlags("methods_bench", { values: ["backend"], switches: ["quick"] });
  const backend = flags.get("backend") as BackendName | undefined;
  const quick = flags.has("quick");
  const r = await runMethodsBench({ quick, ...(backend ? { backend } : {}) });
  if (!quick) {
    const md = new URL("./results/methods.md", import.meta.url).pathname;
    await Deno.writeTextFile(md, `# Cost of each method\n\n${methodsBenchTable(r)}\n`);
    await new Deno.Command(Deno.execPath(), { args: ["fmt", "-q", md] }).output();
  }
  console.log(methodsBenchTable(r));
}
