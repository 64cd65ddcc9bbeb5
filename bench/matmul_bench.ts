/**
 * Matmul throughput: `tf.matMul` of two n x n float32 matrices per backend, against the raw
 * `cblas_sgemm` rate measured in the same process (FFI on plain Float32Arrays, no tfjs),
 * timed alternately with each backend's calls so that both see the same machine load. Each
 * figure is the best of its repetitions (the least disturbed by other processes).
 *
 * CPU backends (cpu, wasm, native) compute synchronously inside the call, so the timed loop
 * does not read results back; webgpu's work is awaited with a read of each product.
 *
 * @module
 */
import { type BackendName, initBackend, tf } from "../backends/mod.ts";
import { openBlas, pointerAt } from "../backends/native/blas.ts";
import type { MatmulPoint, MatmulResult } from "./_report.ts";

/** Options of {@link runMatmulBench}. */
export interface MatmulBenchOptions {
  readonly backends: readonly BackendName[];
  readonly sizes: readonly number[];
  /** Largest size run on the slow backends (cpu, webgpu on a software adapter). */
  readonly slowMax: number;
  /** Seconds of timed work per point (at least 3 repetitions). */
  readonly seconds: number;
  /** Progress lines go here. */
  readonly log: (line: string) => void;
}

const flops = (n: number) => 2 * n * n * n;

/** Time `fn` repeatedly for about `seconds`; returns the best (lowest) seconds per call. */
async function timeIt(fn: () => unknown, seconds: number): Promise<number> {
  await fn(); // warm-up: first-call setup (shaders, allocations) is not throughput
  const times: number[] = [];
  const until = performance.now() + seconds * 1000;
  while (times.length < 3 || (performance.now() < until && times.length < 200)) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
  }
  return Math.min(...times);
}

/** A raw `cblas_sgemm` of two n x n matrices on plain Float32Arrays, or null without BLAS. */
export function rawSgemmCall(n: number): (() => void) | null {
  const lookup = openBlas();
  if (!lookup.ok) return null;
  const a = new Float32Array(n * n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const b = new Float32Array(n * n).map((_, i) => ((i * 104729) % 1000) / 1000 - 0.5);
  const c = new Float32Array(n * n);
  const [pa, pb, pc] = [pointerAt(a.buffer, 0), pointerAt(b.buffer, 0), pointerAt(c.buffer, 0)];
  return () => lookup.library.sgemm(false, false, n, n, n, 1, pa, n, pb, n, 0, pc, n);
}

/** Raw `cblas_sgemm` GFLOP/s at each size, or an empty record without a BLAS. */
export async function rawSgemm(
  sizes: readonly number[],
  seconds: number,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const n of sizes) {
    const call = rawSgemmCall(n);
    if (!call) return {};
    out[n] = flops(n) / await timeIt(call, seconds) / 1e9;
  }
  return out;
}

/**
 * Time `fn` and `raw` alternately for about `seconds`, so both see the same machine load
 * (other processes share the cores); returns the best seconds per call of each.
 */
async function timePaired(
  fn: () => unknown,
  raw: (() => unknown) | null,
  seconds: number,
): Promise<[number, number | null]> {
  await fn();
  raw?.();
  const a: number[] = [];
  const b: number[] = [];
  const until = performance.now() + seconds * 1000;
  while (a.length < 3 || (performance.now() < until && a.length < 200)) {
    let t0 = performance.now();
    await fn();
    a.push((performance.now() - t0) / 1000);
    if (raw) {
      t0 = performance.now();
      raw();
      b.push((performance.now() - t0) / 1000);
    }
  }
  return [Math.min(...a), b.length ? Math.min(...b) : null];
}

/** Measure every backend at every size (bounded for slow backends). */
export async function runMatmulBench(o: MatmulBenchOptions): Promise<MatmulResult> {
  const sgemm: Record<string, number> = {};
  const points: MatmulPoint[] = [];
  const skipped: string[] = [];
  for (const backend of o.backends) {
    try {
      await initBackend(backend);
    } catch (e) {
      skipped.push(`${backend}: ${e instanceof Error ? e.message.split("\n")[0] : e}`);
      continue;
    }
    const slow = backend === "cpu" || backend === "webgpu";
    for (const n of o.sizes) {
      if (slow && n > o.slowMax) {
        skipped.push(`${backend} above ${o.slowMax}`);
        break;
      }
      const a = tf.randomUniform([n, n], -1, 1, "float32", 1);
      const b = tf.randomUniform([n, n], -1, 1, "float32", 2);
      const [s, rawS] = await timePaired(
        async () => {
          const c = tf.matMul(a, b);
          if (backend === "webgpu") await c.data();
          c.dispose();
        },
        rawSgemmCall(n),
        o.seconds,
      );
      tf.dispose([a, b]);
      const gflops = flops(n) / s / 1e9;
      const raw = rawS === null ? null : flops(n) / rawS / 1e9;
      if (raw !== null) sgemm[n] = Math.max(sgemm[n] ?? 0, raw);
      points.push({ backend, size: n, gflops, ratioToSgemm: raw ? gflops / raw : null });
      o.log(
        `${backend} ${n}: ${gflops.toFixed(1)} GFLOP/s` +
          (raw
            ? ` (raw sgemm alongside ${raw.toFixed(1)}: ${(100 * gflops / raw).toFixed(0)}%)`
            : ""),
      );
    }
  }
  const rates = Object.values(sgemm);
  return {
    sizes: o.sizes,
    sgemm,
    sgemmPeak: rates.length ? Math.max(...rates) : null,
    points,
    skipped: [...new Set(skipped)],
  };
}
