/**
 * One fine-tuning step (forward, backward, AdamW) of a Llama-family model with LoRA on q/v,
 * per backend, using the project's own `src/model`, `src/lora` and `src/train/optimizer.ts`:
 * tokens/s and model-FLOP utilisation against the raw sgemm peak measured in the same run.
 *
 * @module
 */
import { type BackendName, initBackend, tf } from "../backends/mod.ts";
import { causalLmLoss, disposeParams, initParams, type ModelConfig } from "../src/model/mod.ts";
import { tinyModelConfig } from "../src/model/config.ts";
import { createAdapter } from "../src/lora/adapter.ts";
import { createAdamW } from "../src/train/optimizer.ts";
import type { KernelShare, TrainStepPoint, TrainStepResult } from "./_report.ts";
import { rawSgemmCall } from "./matmul_bench.ts";

/** The shape of the benchmarked model and batch. */
export interface StepShape {
  readonly hidden: number;
  readonly layers: number;
  readonly heads: number;
  readonly intermediate: number;
  readonly vocab: number;
  readonly seq: number;
  readonly batch: number;
  readonly loraR: number;
  readonly loraTargets: readonly ("q_proj" | "v_proj")[];
  /**
   * Rows per forward/backward pass; the batch is split into micro-batches whose gradients are
   * summed before the one AdamW update (the wasm heap, shared by native, is capped at 4 GB,
   * and batch 8 x 256 tokens of this model's activations does not fit in one pass).
   */
  readonly microBatch: number;
}

/**
 * The reference: hidden 512, 8 layers, 8 heads, sequence 256, batch 8, LoRA (r 8)
 * on q/v. The issue names no vocabulary or MLP width: we take 8192 tokens (a small-model
 * vocabulary; 32000 would put a 1 GB logits/one-hot working set on the wasm heap) and
 * intermediate 1408 (Llama's 8/3 x hidden, rounded up to a multiple of 64).
 */
export const REFERENCE_SHAPE: StepShape = {
  hidden: 512,
  layers: 8,
  heads: 8,
  intermediate: 1408,
  vocab: 8192,
  seq: 256,
  batch: 8,
  loraR: 8,
  loraTargets: ["q_proj", "v_proj"],
  microBatch: 4,
};

/** A small shape for `--quick` (every backend, including cpu, in seconds). */
export const QUICK_SHAPE: StepShape = {
  hidden: 128,
  layers: 2,
  heads: 4,
  intermediate: 384,
  vocab: 512,
  seq: 64,
  batch: 2,
  loraR: 8,
  loraTargets: ["q_proj", "v_proj"],
  microBatch: 2,
};

/** The model config for a shape (multi-head attention: as many KV heads as query heads). */
export function stepModelConfig(s: StepShape): ModelConfig {
  return tinyModelConfig({
    vocabSize: s.vocab,
    hiddenSize: s.hidden,
    intermediateSize: s.intermediate,
    numLayers: s.layers,
    numHeads: s.heads,
    numKvHeads: s.heads,
    headDim: s.hidden / s.heads,
    maxPositionEmbeddings: Math.max(256, s.seq),
  });
}

/**
 * Model FLOPs of one LoRA training step (matrix products only, multiply-add = 2 FLOPs):
 * forward (linears incl. LM head, attention scores and mixing, LoRA) + backward (input
 * gradients of every product; weight gradients of the LoRA matrices only, the base is
 * frozen; attention backward is twice its forward).
 */
export function trainStepFlops(s: StepShape): number {
  const tokens = s.batch * s.seq;
  const c = s.hidden;
  const linear = 2 * tokens * (s.layers * (4 * c * c + 3 * c * s.intermediate) + c * s.vocab);
  const attention = s.layers * 4 * tokens * s.seq * c; // QK^T and PV over the full T x T
  const lora = s.layers * s.loraTargets.length * 2 * tokens * s.loraR * 2 * c;
  const forwardFlops = linear + attention + lora;
  const backwardFlops = linear + 2 * attention + 2 * lora;
  return forwardFlops + backwardFlops;
}

/** Deterministic token ids [B, T] in [3, vocab) from an LCG. */
function tokenIds(s: StepShape, seed: number): Int32Array {
  const out = new Int32Array(s.batch * s.seq);
  let x = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = 3 + (x % (s.vocab - 3));
  }
  return out;
}

/** Options of {@link runTrainStepBench}. */
export interface TrainStepBenchOptions {
  readonly backends: readonly BackendName[];
  readonly shape: StepShape;
  /** Timed steps per backend after one warm-up step. */
  readonly steps: number;
  /** The raw sgemm peak (GFLOP/s) MFU is computed against, or null. */
  readonly sgemmPeak: number | null;
  /** A warm-up step longer than this (seconds) is the only one timed, and not profiled. */
  readonly slowStepSeconds: number;
  /** Backends to profile one extra step on (kernel time by kernel). */
  readonly profile: readonly BackendName[];
  readonly log: (line: string) => void;
}

/** Kernel time by kernel over one profiled step, as shares of that step's own wall time. */
async function profileStep(step: () => void): Promise<KernelShare[]> {
  const t0 = performance.now();
  const info = await tf.profile(() => {
    step();
    return [];
  });
  const wallMs = performance.now() - t0;
  const by = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    const e = by.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0;
    e.calls += 1;
    by.set(k.name, e);
  }
  const rows = [...by.entries()].map(([kernel, e]) => ({
    kernel,
    ms: e.ms,
    calls: e.calls,
    share: e.ms / wallMs,
  }));
  rows.sort((a, b) => b.ms - a.ms);
  const top = rows.slice(0, 12);
  const rest = rows.slice(12).reduce((p, r) => ({ ms: p.ms + r.ms, calls: p.calls + r.calls }), {
    ms: 0,
    calls: 0,
  });
  const kernelMs = rows.reduce((p, r) => p + r.ms, 0);
  return [
    ...top,
    { kernel: "(other kernels)", ms: rest.ms, calls: rest.calls, share: rest.ms / wallMs },
    {
      kernel: "(outside kernels: autodiff, JS)",
      ms: Math.max(0, wallMs - kernelMs),
      calls: 0,
      share: Math.max(0, wallMs - kernelMs) / wallMs,
    },
  ];
}

/** One reference training step on the active backend, built once and run many times. */
export interface TrainStep {
  /** One optimizer step over all micro-batches; returns the mean loss (kept: dispose it). */
  readonly runStep: () => tf.Tensor;
  /** One step, waiting for its loss (every backend, webgpu included, has finished). */
  readonly stepAsync: () => Promise<void>;
  /** The first micro-batch's loss and LoRA gradients, without an update (kept: dispose them). */
  readonly gradients: () => tf.Tensor[];
  /** Free the model, adapter, optimizer and batches. */
  readonly dispose: () => void;
}

/**
 * Build the reference step for shape `s` on the active backend: model (seed 1), LoRA (seed 2),
 * AdamW (lr 1e-4), a fixed batch split into micro-batches whose gradients are summed.
 */
export function buildTrainStep(s: StepShape): TrainStep {
  const cfg = stepModelConfig(s);
  const params = initParams(cfg, 1);
  const adapter = createAdapter(
    cfg,
    { r: s.loraR, alpha: 4, dropout: 0, targets: [...s.loraTargets] },
    2,
  );
  const trainable = adapter.trainable();
  const opt = createAdamW(trainable, { weightDecay: 0 });
  const ids = tf.tensor2d(tokenIds(s, 3), [s.batch, s.seq], "int32"); // [B, T]
  const micro = Math.max(1, Math.min(s.microBatch, s.batch));
  const batches = tf.tidy(() => {
    const out = [];
    for (let r = 0; r < s.batch; r += micro) {
      const rows = Math.min(micro, s.batch - r);
      const part = tf.slice(ids, [r, 0], [rows, s.seq]); // [b, T]
      out.push({ inputIds: part, labels: part, attentionMask: tf.onesLike(part), rows });
    }
    return out;
  });
  const names = Object.keys(trainable);
  const vars = Object.values(trainable);
  /** One optimizer step over all micro-batches; returns the mean loss (kept). */
  const runStep = (): tf.Tensor => {
    let loss: tf.Tensor = tf.scalar(0);
    let acc: tf.Tensor[] | null = null;
    for (const mb of batches) {
      const w = mb.rows / s.batch;
      const next = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(
          () => causalLmLoss(cfg, params, mb, { adapters: [adapter], training: true }),
          vars,
        );
        const g = vars.map((v, i) => tf.add(tf.mul(grads[v.name]!, w), acc ? acc[i]! : 0));
        return { g, l: tf.add(loss, tf.mul(value, w)) };
      });
      if (acc) tf.dispose(acc);
      loss.dispose();
      acc = next.g;
      loss = next.l;
    }
    const grads = acc!;
    tf.tidy(() => opt.apply(Object.fromEntries(names.map((k, i) => [k, grads[i]!])), 1e-4));
    tf.dispose(grads);
    return loss;
  };
  // Reading the loss back waits for the step on every backend (webgpu runs asynchronously).
  const stepAsync = async () => {
    const loss = runStep();
    await loss.data();
    loss.dispose();
  };
  const gradients = (): tf.Tensor[] =>
    tf.tidy(() => {
      const mb = batches[0]!;
      const { value, grads } = tf.variableGrads(
        () => causalLmLoss(cfg, params, mb, { adapters: [adapter], training: true }),
        vars,
      );
      return [value, ...vars.map((v) => grads[v.name]!)];
    });
  return {
    runStep,
    stepAsync,
    gradients,
    dispose: () => {
      opt.dispose();
      adapter.dispose();
      disposeParams(params);
      tf.dispose([ids, ...batches.flatMap((b) => [b.inputIds, b.attentionMask])]);
    },
  };
}

/** Time the training step on each backend. */
export async function runTrainStepBench(o: TrainStepBenchOptions): Promise<TrainStepResult> {
  const s = o.shape;
  const flopsPerStep = trainStepFlops(s);
  const points: TrainStepPoint[] = [];
  const skipped: string[] = [];
  for (const backend of o.backends) {
    try {
      await initBackend(backend);
    } catch (e) {
      skipped.push(`${backend}: ${e instanceof Error ? e.message.split("\n")[0] : e}`);
      continue;
    }
    const { runStep, stepAsync, dispose } = buildTrainStep(s);
    try {
      const before = tf.memory().numTensors;
      const w0 = performance.now();
      await stepAsync(); // warm-up
      const warmSeconds = (performance.now() - w0) / 1000;
      // A backend that needs minutes per step is timed by its one (warm-up) step: one-off
      // costs are negligible next to it, and repeating it would make the bench take hours.
      const slow = warmSeconds > o.slowStepSeconds;
      const times: number[] = slow ? [warmSeconds] : [];
      const probe = rawSgemmCall(1024);
      let probeBest = Infinity;
      for (let i = 0; i < (slow ? 1 : o.steps); i++) {
        if (!slow) {
          const t0 = performance.now();
          await stepAsync();
          times.push((performance.now() - t0) / 1000);
        }
        for (let r = 0; probe && r < 3; r++) { // the machine's sgemm rate right after the step
          const p0 = performance.now();
          probe();
          probeBest = Math.min(probeBest, (performance.now() - p0) / 1000);
        }
      }
      const alongside = Number.isFinite(probeBest) ? 2 * 1024 ** 3 / probeBest / 1e9 : null;
      const leaked = tf.memory().numTensors - before;
      times.sort((a, b) => a - b);
      const stepSeconds = times[Math.floor(times.length / 2)]!;
      const modelGflopsPerSecond = flopsPerStep / stepSeconds / 1e9;
      const point: TrainStepPoint = {
        backend,
        stepSeconds,
        tokensPerSecond: s.batch * s.seq / stepSeconds,
        modelGflopsPerSecond,
        mfu: o.sgemmPeak ? modelGflopsPerSecond / o.sgemmPeak : null,
        sgemmAlongside: alongside,
        mfuAlongside: alongside ? modelGflopsPerSecond / alongside : null,
        timedSteps: slow ? 0 : times.length,
        ...(o.profile.includes(backend) && backend !== "webgpu" && !slow
          ? { profile: await profileStep(() => runStep().dispose()) }
          : {}),
      };
      points.push(point);
      o.log(
        `train step ${backend}: ${stepSeconds.toFixed(2)} s, ${point.tokensPerSecond.toFixed(0)} ` +
          `tokens/s, ${modelGflopsPerSecond.toFixed(1)} GFLOP/s` +
          (point.mfu === null ? "" : `, MFU ${(100 * point.mfu).toFixed(0)}%`) +
          (leaked ? `, WARNING ${leaked} tensors leaked` : ""),
      );
    } finally {
      dispose();
    }
  }
  return {
    model: {
      architecture: "Llama",
      hidden: s.hidden,
      layers: s.layers,
      heads: s.heads,
      intermediate: s.intermediate,
      vocab: s.vocab,
      seq: s.seq,
      batch: s.batch,
      lora: `r ${s.loraR} on ${s.loraTargets.join("/")}`,
      microBatch: Math.min(s.microBatch, s.batch),
    },
    implementation: "src/model (forward, causalLmLoss) + src/lora (createAdapter) + " +
      "src/train/optimizer (AdamW)",
    flopsPerStep,
    flopsNote: "matrix products only; backward = input gradients + LoRA weight gradients",
    points,
    skipped,
  };
}
