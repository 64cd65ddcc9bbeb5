/**
 * Lisa's cost over SFT and the KV cache's gain, on the pipeline's real code paths:
 * - Lisa step time / SFT step time (fine-tune state with the proximal term on, plus the
 *   anchor snapshot amortised over one K1 + K2 cycle); the paper reports about 1.08;
 * - generation tokens/s with and without the KV cache at 256 new tokens;
 * - peak tensor memory and process RSS.
 *
 * `deno run -A --unstable-webgpu bench/lisa_bench.ts [--backend native] [--quick]` writes
 * `bench/results/lisa.json` and prints a markdown table; `bench/run.ts` calls it too.
 *
 * @module
 */
import { Effect } from "effect";
import { benchFlags } from "./_flags.ts";
import { Backend, type BackendName, initBackend, tf } from "../backends/mod.ts";
import { generate } from "../src/generate/mod.ts";
import { createAdapter } from "../src/lora/mod.ts";
import { disposeParams, initParams, type ModelConfig, tinyModelConfig } from "../src/model/mod.ts";
import { lmProblem } from "../src/pipeline/problem.ts";
import type { LmArrays } from "../src/pipeline/tokenize.ts";
import {
  biStateStep,
  createAdamW,
  disposeAll,
  lisa,
  type Method,
  sft,
  snapshot,
} from "../src/train/mod.ts";

/** Options of {@link runLisaBench}. */
export interface LisaBenchOptions {
  readonly backend?: BackendName;
  readonly quick?: boolean;
  /** Where the JSON goes; null to skip writing. */
  readonly out?: string | null;
  readonly log?: (line: string) => void;
}

/** The figures of one run. */
export interface LisaBenchResult {
  readonly backend: BackendName;
  readonly config: { hidden: number; layers: number; seq: number; batch: number };
  readonly sftStepMs: number;
  readonly lisaStepMs: number;
  readonly snapshotMs: number;
  /** (Lisa step + snapshot / (K1 + K2)) / SFT step, K1 + K2 = 1000. */
  readonly lisaOverSft: number;
  readonly newTokens: number;
  readonly genTokensPerSCache: number;
  readonly genTokensPerSNoCache: number;
  readonly cacheSpeedup: number;
  readonly peakTensorMB: number;
  readonly peakRssMB: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** Run the bench; SFT and Lisa steps alternate so both see the same machine load. */
export async function runLisaBench(o: LisaBenchOptions = {}): Promise<LisaBenchResult> {
  const log = o.log ?? ((l: string) => console.error(l));
  const backend = o.backend ?? "native";
  const service = Backend.fromInfo(await initBackend(backend));
  const quick = o.quick ?? false;
  const seq = quick ? 64 : 128;
  const batch = quick ? 4 : 8;
  const reps = quick ? 3 : 8;
  const newTokens = quick ? 64 : 256;
  const c: ModelConfig = tinyModelConfig({
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
  let peakBytes = 0;
  let peakRss = 0;
  const sample = () => {
    peakBytes = Math.max(peakBytes, tf.memory().numBytes);
    peakRss = Math.max(peakRss, Deno.memoryUsage().rss);
  };
  const params = initParams(c, 1);
  const adapter = createAdapter(
    c,
    { r: 8, alpha: 4, dropout: 0, targets: ["q_proj", "v_proj"] },
    2,
  );
  const problem = lmProblem({ config: c, base: params, adapter, dropoutSeed: 0 });
  const ids = Array.from(
    { length: batch },
    (_, b) => Array.from({ length: seq }, (_, t) => (b * 31 + t * 7) % c.vocabSize),
  );
  const arrays: LmArrays = {
    inputIds: ids,
    attentionMask: ids.map((r) => r.map(() => 1)),
    labels: ids.map((r) => r.map((x, t) => (t < seq / 2 ? -100 : x))),
  };
  const optimizer = createAdamW(problem.trainable, { weightDecay: 0 });
  const total = 1000;
  const lrOpts = { lr: 1e-4, schedule: "constant", warmupRatio: 0, totalSteps: total } as const;
  const methods: Record<"sft" | "lisa", Method> = {
    sft: sft(),
    lisa: lisa({ alignmentSteps: 100, finetuneSteps: 900, rho: 1 }),
  };
  const anchors = snapshot(problem.trainable);
  const step = async (m: "sft" | "lisa") => {
    const t0 = performance.now();
    // Step 500 is in a fine-tune state (100 + 900 cycle) and past the proximal warm-up.
    await Effect.runPromise(
      biStateStep({
        problem,
        method: methods[m],
        optimizer,
        batch: arrays,
        step: 500,
        lr: lrOpts,
        anchors: m === "lisa" ? anchors : null,
      }).pipe(Effect.provideService(Backend, service)),
    );
    sample();
    return performance.now() - t0;
  };
  await step("sft");
  await step("lisa");
  const times = { sft: [] as number[], lisa: [] as number[] };
  for (let i = 0; i < reps; i++) {
    times.sft.push(await step("sft"));
    times.lisa.push(await step("lisa"));
  }
  const snaps: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const s = snapshot(problem.trainable);
    await Promise.all(Object.values(s).map((t) => t.data()));
    snaps.push(performance.now() - t0);
    disposeAll(s);
  }
  const sftMs = median(times.sft);
  const lisaMs = median(times.lisa);
  const snapMs = median(snaps);
  log(`lisa bench (${backend}): sft ${sftMs.toFixed(1)} ms, lisa ${lisaMs.toFixed(1)} ms`);

  const prompt = {
    inputIds: ids.slice(0, 4).map((r) => r.slice(0, 16)),
    attentionMask: ids.slice(0, 4).map((r) => r.slice(0, 16).map(() => 1)),
  };
  const gen = async (useCache: boolean) => {
    const t0 = performance.now();
    await generate(c, params, prompt, { maxNewTokens: newTokens, eosIds: [], padId: 0, useCache });
    sample();
    return (prompt.inputIds.length * newTokens) / ((performance.now() - t0) / 1000);
  };
  await generate(c, params, prompt, { maxNewTokens: 2, eosIds: [], padId: 0, useCache: true });
  const cache = await gen(true);
  const noCache = await gen(false);
  log(`lisa bench (${backend}): generation ${cache.toFixed(0)} vs ${noCache.toFixed(0)} tok/s`);

  disposeAll(anchors);
  optimizer.dispose();
  adapter.dispose();
  disposeParams(params);
  const result: LisaBenchResult = {
    backend,
    config: { hidden: c.hiddenSize, layers: c.numLayers, seq, batch },
    sftStepMs: sftMs,
    lisaStepMs: lisaMs,
    snapshotMs: snapMs,
    lisaOverSft: (lisaMs + snapMs / total) / sftMs,
    newTokens,
    genTokensPerSCache: cache,
    genTokensPerSNoCache: noCache,
    cacheSpeedup: cache / noCache,
    peakTensorMB: peakBytes / 2 ** 20,
    peakRssMB: peakRss / 2 ** 20,
  };
  const out = o.out === undefined
    ? new URL("./results/lisa.json", import.meta.url).pathname
    : o.out;
  if (out) await Deno.writeTextFile(out, JSON.stringify(result, null, 2) + "\n");
  return result;
}

/** Markdown table of the result, with the targets of the performance issue. */
export function lisaBenchTable(r: LisaBenchResult): string {
  const f = (x: number, d = 2) => x.toFixed(d);
  return [
    `Lisa vs SFT and KV cache (${r.backend}; hidden ${r.config.hidden}, ${r.config.layers} layers, ` +
    `seq ${r.config.seq}, batch ${r.config.batch})`,
    "",
    "| figure | value | target |",
    "|---|---:|---|",
    `| SFT step | ${f(r.sftStepMs, 1)} ms | |`,
    `| Lisa step (proximal on) | ${f(r.lisaStepMs, 1)} ms | |`,
    `| anchor snapshot (once per cycle) | ${f(r.snapshotMs, 2)} ms | |`,
    `| Lisa / SFT step time | ${f(r.lisaOverSft, 3)} | <= 1.05 (paper: about 1.08) |`,
    `| generation, KV cache, ${r.newTokens} new tokens | ${f(r.genTokensPerSCache, 0)} tok/s | |`,
    `| generation, recompute | ${f(r.genTokensPerSNoCache, 0)} tok/s | |`,
    `| KV-cache speedup | ${f(r.cacheSpeedup, 1)}x | >= 5x at 256 new tokens |`,
    `| live tensor memory between steps (max) | ${f(r.peakTensorMB, 1)} MB | |`,
    `| peak process RSS | ${f(r.peakRssMB, 0)} MB | |`,
  ].join("\n");
}

if (import.meta.main) {
  const flags = benchFlags("lisa_bench", { values: ["backend"], switches: ["quick"] });
  const backend = flags.get("backend") as BackendName | undefined;
  const r = await runLisaBench({ quick: flags.has("quick"), ...(backend ? { backend } : {}) });
  console.log(lisaBenchTable(r));
}
