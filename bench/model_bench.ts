/**
 * Model throughput per backend: forward+backward tokens/s (LoRA on q,v) and generation
 * tokens/s with and without the KV cache, for a small reference config.
 *
 * `deno run -A --unstable-webgpu bench/model_bench.ts [--backends cpu,wasm]` writes
 * `bench/results/model.json` and prints a markdown table.
 *
 * @module
 */
import { benchFlags } from "./_flags.ts";
import { type BackendName, initBackend, probeAll, tf } from "../backends/mod.ts";
import { generate } from "../src/generate/mod.ts";
import { createAdapter } from "../src/lora/mod.ts";
import {
  causalLmLoss,
  disposeParams,
  initParams,
  type ModelConfig,
  tinyModelConfig,
} from "../src/model/mod.ts";

/** Options of {@link runModelBench}. */
export interface ModelBenchOptions {
  /** Backends to measure; default every available one. */
  readonly backends?: readonly BackendName[];
  /** The model measured; default a 4-layer, 128-wide Llama with a 512 vocab. */
  readonly config?: ModelConfig;
  readonly batchSize?: number;
  readonly seqLen?: number;
  readonly trainSteps?: number;
  readonly newTokens?: number;
  /** Where the JSON goes; null to skip writing. */
  readonly out?: string | null;
  /** Smaller sizes (for a quick overall bench run). */
  readonly quick?: boolean;
  /** Progress lines; default console.error. */
  readonly log?: (line: string) => void;
}

/** One backend's numbers. */
export interface ModelBenchRow {
  readonly backend: BackendName;
  readonly trainTokensPerS: number;
  readonly genTokensPerSCache: number;
  readonly genTokensPerSNoCache: number;
}

/** The reference config of the bench. */
export const BENCH_CONFIG: ModelConfig = tinyModelConfig({
  vocabSize: 512,
  hiddenSize: 128,
  intermediateSize: 344,
  numLayers: 4,
  numHeads: 4,
  numKvHeads: 2,
  headDim: 32,
});

async function measure(
  backend: BackendName,
  o: Required<Omit<ModelBenchOptions, "backends" | "out" | "quick" | "log">>,
): Promise<ModelBenchRow> {
  await initBackend(backend);
  const c = o.config;
  const p = initParams(c, 1);
  const adapter = createAdapter(
    c,
    { r: 8, alpha: 4, dropout: 0, targets: ["q_proj", "v_proj"] },
    2,
  );
  const ids = Array.from(
    { length: o.batchSize },
    (_, b) => Array.from({ length: o.seqLen }, (_, t) => (b * 31 + t * 7) % c.vocabSize),
  );
  const batch = {
    inputIds: tf.tensor2d(ids, undefined, "int32"),
    labels: tf.tensor2d(ids, undefined, "int32"),
    attentionMask: tf.ones([o.batchSize, o.seqLen], "int32"),
  };
  const vars = Object.values(adapter.trainable());
  const step = async () => {
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        () => causalLmLoss(c, p, batch, { adapters: [adapter] }),
        vars,
      );
      return tf.add(value, tf.mul(tf.addN(Object.values(grads).map((g) => tf.sum(g))), 0));
    });
    await loss.data();
    loss.dispose();
  };
  await step(); // warm-up (shader compilation, kernel setup)
  let t0 = performance.now();
  for (let i = 0; i < o.trainSteps; i++) await step();
  const trainS = (performance.now() - t0) / 1000;
  const prompt = {
    inputIds: ids.map((r) => r.slice(0, 16)),
    attentionMask: ids.map((r) => r.slice(0, 16).map(() => 1)),
  };
  const gen = async (useCache: boolean) => {
    await generate(c, p, prompt, { maxNewTokens: 2, eosIds: [], padId: 0, useCache });
    t0 = performance.now();
    await generate(c, p, prompt, { maxNewTokens: o.newTokens, eosIds: [], padId: 0, useCache });
    return (o.batchSize * o.newTokens) / ((performance.now() - t0) / 1000);
  };
  const row: ModelBenchRow = {
    backend,
    trainTokensPerS: (o.trainSteps * o.batchSize * o.seqLen) / trainS,
    genTokensPerSCache: await gen(true),
    genTokensPerSNoCache: await gen(false),
  };
  Object.values(batch).forEach((t) => t.dispose());
  adapter.dispose();
  disposeParams(p);
  return row;
}

/** Markdown table of bench rows. */
export function modelBenchTable(rows: readonly ModelBenchRow[]): string {
  const f = (x: number) => x.toFixed(1);
  return [
    "| backend | train tok/s (fwd+bwd) | gen tok/s (cache) | gen tok/s (no cache) |",
    "|---|---:|---:|---:|",
    ...rows.map((r) =>
      `| ${r.backend} | ${f(r.trainTokensPerS)} | ${f(r.genTokensPerSCache)} | ${
        f(r.genTokensPerSNoCache)
      } |`
    ),
  ].join("\n");
}

/** Run the bench on each backend; writes JSON unless `out` is null. */
export async function runModelBench(opts: ModelBenchOptions = {}): Promise<ModelBenchRow[]> {
  const available = (await probeAll()).filter((a) => a.available && a.name !== "tensorflow").map((
    a,
  ) => a.name);
  const names = opts.backends ?? available;
  const quick = opts.quick ?? false;
  const log = opts.log ?? ((line: string) => console.error(line));
  const o = {
    config: opts.config ?? (quick ? { ...BENCH_CONFIG, numLayers: 2 } : BENCH_CONFIG),
    batchSize: opts.batchSize ?? (quick ? 2 : 4),
    seqLen: opts.seqLen ?? (quick ? 32 : 64),
    trainSteps: opts.trainSteps ?? (quick ? 2 : 3),
    newTokens: opts.newTokens ?? (quick ? 8 : 16),
  };
  const rows: ModelBenchRow[] = [];
  for (const b of names) {
    if (!available.includes(b)) {
      log(`model bench: skipping ${b}, unavailable here`);
      continue;
    }
    log(`model bench: ${b}...`);
    rows.push(await measure(b, o));
  }
  const out = opts.out === undefined
    ? new URL("./results/model.json", import.meta.url).pathname
    : opts.out;
  if (out) {
    await Deno.mkdir(out.slice(0, out.lastIndexOf("/")), { recursive: true });
    const { raw: _raw, ...config } = o.config;
    await Deno.writeTextFile(out, JSON.stringify({ ...o, config, rows }, null, 2) + "\n");
  }
  return rows;
}

if (import.meta.main) {
  const arg = benchFlags("model_bench", { values: ["backends"], switches: [] }).get("backends");
  const backends = arg ? (arg.split(",").map((s) => s.trim()) as BackendName[]) : undefined;
  const rows = await runModelBench(backends ? { backends } : {});
  console.log(modelBenchTable(rows));
}
