/**
 * The project against PyTorch on the same CPU, in one run: the reference LoRA training step
 * (transformers `LlamaForCausalLM` + PEFT LoRA on the peer side, same shape, same thread
 * count), greedy generation with and without the KV cache at the model bench's size and at the
 * evaluation's sizes (transformers' `generate`), and peak RSS of the training step, each side in
 * a process of its own. Steps alternate between the two sides, so both see the same load from
 * other processes; ratios are taken pair by pair and reported as median and range.
 *
 * Runs only when a Python with torch, transformers and peft is found (`bench/peer/peer.ts`).
 *
 * @module
 */
import { type BackendName, initBackend } from "../backends/mod.ts";
import { generate } from "../src/generate/mod.ts";
import { disposeParams, initParams, type ModelConfig, tinyModelConfig } from "../src/model/mod.ts";
import { findPeerPython, peerPeakRss, startPeer } from "./peer/peer.ts";
import { BENCH_CONFIG } from "./model_bench.ts";
import { buildTrainStep, type StepShape } from "./train_step_bench.ts";
import { threadCount } from "../backends/simd/pool.ts";

/** Median and range of a list. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

/** Median, min and max of `xs` (non-empty). */
export function spread(xs: readonly number[]): Spread {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, n: s.length };
}

/** One generation case, the same on both sides. */
export interface GenCase {
  readonly name: string;
  readonly what: string;
  readonly config: ModelConfig;
  readonly batch: number;
  readonly prompt: number;
  readonly newTokens: number;
}

/** Tokens/s of one side, with and without the cache. */
export interface GenSide {
  readonly cache: Spread;
  readonly recompute: Spread;
}

/** The generation comparison of one case. */
export interface GenComparison {
  readonly name: string;
  readonly what: string;
  readonly batch: number;
  readonly prompt: number;
  readonly newTokens: number;
  readonly project: GenSide;
  readonly pytorch: GenSide;
}

/** Everything the peer bench measured. */
export interface PeerResult {
  /** Library versions of the peer, or null when it did not run. */
  readonly peer: string | null;
  /** Why the peer did not run. */
  readonly skipped?: string;
  readonly backend: BackendName;
  readonly threads: number;
  readonly train?: {
    readonly shape: StepShape;
    readonly projectSeconds: Spread;
    readonly pytorchSeconds: Spread;
    /** Project step time / PyTorch step time, pair by pair. */
    readonly ratio: Spread;
  };
  readonly memory?: {
    readonly projectPeakRssBytes: number | null;
    readonly pytorchPeakRssBytes: number | null;
  };
  readonly generate: readonly GenComparison[];
}

/** The embedded model's shape (the default run's evaluation model). */
const EMBEDDED_SHAPE = tinyModelConfig({
  vocabSize: 1536,
  hiddenSize: 128,
  intermediateSize: 352,
  numLayers: 4,
  numHeads: 4,
  numKvHeads: 4,
  headDim: 32,
  maxPositionEmbeddings: 192,
});

/** Generation cases: the model bench's, and the evaluation's batch and token budget. */
export function genCases(quick: boolean): GenCase[] {
  if (quick) {
    return [{
      name: "bench",
      what: "model bench model",
      config: { ...BENCH_CONFIG, numLayers: 2 },
      batch: 2,
      prompt: 16,
      newTokens: 8,
    }];
  }
  return [
    {
      name: "bench",
      what: "model bench model",
      config: BENCH_CONFIG,
      batch: 4,
      prompt: 16,
      newTokens: 16,
    },
    {
      name: "eval-short",
      what: "embedded model, evaluation batch",
      config: EMBEDDED_SHAPE,
      batch: 25,
      prompt: 32,
      newTokens: 32,
    },
    {
      name: "eval-long",
      what: "embedded model, evaluation batch",
      config: EMBEDDED_SHAPE,
      batch: 25,
      prompt: 128,
      newTokens: 32,
    },
  ];
}

const peerModel = (c: ModelConfig) => ({
  vocab: c.vocabSize,
  hidden: c.hiddenSize,
  intermediate: c.intermediateSize,
  layers: c.numLayers,
  heads: c.numHeads,
  kvHeads: c.numKvHeads,
  maxPositions: c.maxPositionEmbeddings,
});

/** Options of {@link runPeerBench}. */
export interface PeerBenchOptions {
  readonly backend: BackendName;
  readonly shape: StepShape;
  /** Alternated training-step pairs. */
  readonly steps: number;
  /** Alternated generation rounds per case. */
  readonly genRounds: number;
  readonly quick: boolean;
  readonly log: (line: string) => void;
}

/** Run the comparison (or return why it could not run). */
export async function runPeerBench(o: PeerBenchOptions): Promise<PeerResult> {
  const threads = threadCount();
  const found = await findPeerPython();
  const cases = genCases(o.quick);
  if (!found.ok) {
    o.log(`peer bench skipped: ${found.reason}`);
    return { peer: null, skipped: found.reason, backend: o.backend, threads, generate: [] };
  }
  const trainSpec = { ...o.shape, loraTargets: [...o.shape.loraTargets] };
  const spec = {
    threads,
    train: trainSpec,
    generate: Object.fromEntries(cases.map((c) => [c.name, {
      model: peerModel(c.config),
      batch: c.batch,
      prompt: c.prompt,
      newTokens: c.newTokens,
    }])),
  };
  await initBackend(o.backend);
  const peer = await startPeer(found.python, spec);
  try {
    // Training step, alternated.
    const step = buildTrainStep(o.shape);
    const ours: number[] = [];
    const theirs: number[] = [];
    try {
      await step.stepAsync(); // warm-up on both sides
      await peer.call("train");
      for (let i = 0; i < o.steps; i++) {
        const t0 = performance.now();
        await step.stepAsync();
        ours.push((performance.now() - t0) / 1000);
        theirs.push(Number((await peer.call("train")).seconds));
        o.log(
          `peer step ${i + 1}: project ${ours[i]!.toFixed(2)} s, PyTorch ${
            theirs[i]!.toFixed(2)
          } s`,
        );
      }
    } finally {
      step.dispose();
    }
    const train = {
      shape: o.shape,
      projectSeconds: spread(ours),
      pytorchSeconds: spread(theirs),
      ratio: spread(ours.map((x, i) => x / theirs[i]!)),
    };
    // Generation, alternated.
    const generateRows: GenComparison[] = [];
    for (const c of cases) {
      const params = initParams(c.config, 1);
      const prompt = {
        inputIds: Array.from(
          { length: c.batch },
          (_, b) =>
            Array.from(
              { length: c.prompt },
              (_, t) => 3 + ((b * 31 + t * 7) % (c.config.vocabSize - 3)),
            ),
        ),
        attentionMask: Array.from({ length: c.batch }, () => new Array(c.prompt).fill(1)),
      };
      const ourGen = async (useCache: boolean) => {
        const t0 = performance.now();
        const out = await generate(c.config, params, prompt, {
          maxNewTokens: c.newTokens,
          eosIds: [],
          padId: 0,
          useCache,
        });
        const tokens = out.reduce((n, r) => n + r.length, 0);
        return tokens / ((performance.now() - t0) / 1000);
      };
      const theirGen = async (useCache: boolean) => {
        const r = await peer.call(`gen ${c.name} ${useCache ? 1 : 0}`);
        return Number(r.tokens) / Number(r.seconds);
      };
      const rates = {
        oc: [] as number[],
        or: [] as number[],
        tc: [] as number[],
        tr: [] as number[],
      };
      try {
        await ourGen(true); // warm-up
        await theirGen(true);
        for (let i = 0; i < o.genRounds; i++) {
          rates.oc.push(await ourGen(true));
          rates.tc.push(await theirGen(true));
          rates.or.push(await ourGen(false));
          rates.tr.push(await theirGen(false));
        }
      } finally {
        disposeParams(params);
      }
      const row: GenComparison = {
        name: c.name,
        what: c.what,
        batch: c.batch,
        prompt: c.prompt,
        newTokens: c.newTokens,
        project: { cache: spread(rates.oc), recompute: spread(rates.or) },
        pytorch: { cache: spread(rates.tc), recompute: spread(rates.tr) },
      };
      generateRows.push(row);
      o.log(
        `peer gen ${c.name}: project ${row.project.cache.median.toFixed(0)} tok/s cached ` +
          `(${row.project.recompute.median.toFixed(0)} recompute), transformers ` +
          `${row.pytorch.cache.median.toFixed(0)} (${row.pytorch.recompute.median.toFixed(0)})`,
      );
    }
    await peer.close();
    // Peak memory: each side in a process of its own.
    const ourRss = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("./step_rss.ts", import.meta.url).pathname,
        "--backend",
        o.backend,
        "--shape",
        JSON.stringify(o.shape),
      ],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    const projectPeak = ourRss.success
      ? Number(
        JSON.parse(new TextDecoder().decode(ourRss.stdout).trim().split("\n").pop()!).peakRssBytes,
      )
      : null;
    const pytorchPeak = await peerPeakRss(found.python, spec).catch(() => null);
    o.log(`peer memory: project ${projectPeak} B, PyTorch ${pytorchPeak} B`);
    return {
      peer: found.versions,
      backend: o.backend,
      threads,
      train,
      memory: { projectPeakRssBytes: projectPeak, pytorchPeakRssBytes: pytorchPeak },
      generate: generateRows,
    };
  } finally {
    await peer.close().catch(() => undefined);
  }
}

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const range = (s: Spread, f: (x: number) => string) => `${f(s.median)} (${f(s.min)}-${f(s.max)})`;
const mib = (b: number | null) => (b === null ? "-" : `${(b / 2 ** 20).toFixed(0)} MiB`);

/** Markdown tables of the comparison. */
export function peerBenchMarkdown(r: PeerResult): string {
  if (!r.peer) return `PyTorch peer not run: ${r.skipped ?? "no Python with torch"}.\n`;
  const lines = [
    `Peer: ${r.peer}, ${r.threads} threads; project backend \`${r.backend}\`. Medians with ` +
    "(min-max) over alternated pairs; ratios are project / PyTorch (time) or project / " +
    "transformers (tokens/s).",
    "",
  ];
  if (r.train) {
    const t = r.train;
    lines.push(
      "| training step | project (s) | PyTorch (s) | project / PyTorch time | pairs |",
      "|---|---:|---:|---:|---:|",
      `| hidden ${t.shape.hidden}, ${t.shape.layers} layers, seq ${t.shape.seq}, batch ${t.shape.batch} ` +
        `(${t.shape.microBatch} per pass), LoRA r ${t.shape.loraR} q/v, AdamW | ` +
        `${range(t.projectSeconds, f2)} | ${range(t.pytorchSeconds, f2)} | ${
          range(t.ratio, f2)
        } | ${t.ratio.n} |`,
      "",
    );
  }
  if (r.memory) {
    const { projectPeakRssBytes: p, pytorchPeakRssBytes: q } = r.memory;
    lines.push(
      "| peak RSS of the training step (own process) | project | PyTorch | ratio |",
      "|---|---:|---:|---:|",
      `| build the model, 2 steps | ${mib(p)} | ${mib(q)} | ${p && q ? f2(p / q) : "-"} |`,
      "",
    );
  }
  if (r.generate.length) {
    lines.push(
      "| greedy generation | batch x prompt + new | project cached tok/s | project recompute | cache speed-up | transformers cached | transformers recompute | project / transformers (cached) |",
      "|---|---|---:|---:|---:|---:|---:|---:|",
      ...r.generate.map((g) =>
        `| ${g.name} (${g.what}) | ${g.batch} x ${g.prompt} + ${g.newTokens} | ${
          range(g.project.cache, f1)
        } | ` +
        `${range(g.project.recompute, f1)} | ${
          f2(g.project.cache.median / g.project.recompute.median)
        } | ` +
        `${range(g.pytorch.cache, f1)} | ${range(g.pytorch.recompute, f1)} | ` +
        `${f2(g.project.cache.median / g.pytorch.cache.median)} |`
      ),
      "",
    );
  }
  return lines.join("\n");
}
