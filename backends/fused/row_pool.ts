/**
 * More threads for the fused kernels' row-wise passes (RMSNorm, SwiGLU, rotary embeddings, the
 * cross-entropy's exponentials): helper threads (`row_worker.ts`, Node-style workers that do
 * not keep the process alive) run jobs (`row_kernels.ts`) on the tfjs heap itself, which
 * `../simd/shared_heap.ts` makes shared: no operand is copied. A job's rows are cut into chunks
 * (four per thread) that this thread and the helpers claim one at a time until none is left, so
 * a helper that the OS schedules late (a loaded machine) leaves its share to the others instead
 * of stalling them. Each row is computed by the same code whichever thread takes it and no sum
 * crosses a row, so results are bit-identical to one thread (tests compare them).
 *
 * Threads: `LISA_THREADS` (this thread included; default the number of cores), the same count
 * as the wasm matrix product's, which `--workers` divides between worker processes. With one
 * thread, a private heap (`LISA_SHARED_HEAP=0`) or a runtime without shared memory every job
 * runs on the calling thread.
 *
 * @module
 */
import { Worker } from "node:worker_threads";
import type { ElementwiseKernels } from "../simd/elementwise.ts";
import { memoryImportOf } from "../simd/asm.ts";
import { threadCount } from "../simd/pool.ts";
import { MAX_JOB_NUMBERS, type RowJob, type RowJobRunner, rowJobRunner } from "./row_kernels.ts";
import { blasGemm } from "../native/gemm.ts";
import type { Sgemm } from "../native/blas.ts";
import {
  BLAS_PATH_AT,
  BLAS_PATH_BYTES,
  CHUNK_BITS,
  CHUNKS,
  CLAIM,
  claimChunks,
  CONTROL_BYTES,
  DONE,
  FAILED,
  MAX_BLAS_PATH_BYTES,
  PARAMS_AT,
  type RowWorkerInit,
  SEQ,
  tagOf,
} from "./row_layout.ts";

/** Below this many floats touched a kernel stays on one thread (a hand-off costs ~10-50 us). */
export const PARALLEL_MIN_ELEMENTS = 1 << 15;

/** Chunks per thread: enough that a thread that starts late leaves little to wait for. */
export const CHUNKS_PER_THREAD = 4;

/** A job on an explicit range `[r0, r1)`. */
export interface RangedJob {
  readonly job: RowJob;
  readonly r0: number;
  readonly r1: number;
}

/** How a job is split. */
export interface RowSplit {
  /** Floats each row touches (the threshold {@link PARALLEL_MIN_ELEMENTS} is on rows x this). */
  readonly perRow?: number;
  /** Chunk boundaries at multiples of this (SwiGLU: 4, whole vectors). */
  readonly align?: number;
  /** Jobs this thread runs first, before it joins in (a sum that must stay whole). */
  readonly first?: readonly RangedJob[];
}

/** Runs the fused kernels' row jobs, on several threads where it can. */
export interface RowRunner {
  /** Threads this runner has, the caller's included. */
  readonly threads: number;
  /**
   * Run the `first` jobs, then `job` on rows `[0, rows)`: in chunks that every thread claims
   * while any is left when the job is large enough and splitting is on
   * ({@link setRowParallel}), else on this thread in one range. Returns when all are done.
   */
  run(job: RowJob, rows: number, split?: RowSplit): void;
  /** Whether {@link run} would split a job touching `elements` floats over several threads. */
  splits(elements: number): boolean;
  /**
   * Give every thread the BLAS library at `path` (its `sgemm` here) for attention's jobs, each
   * thread through its own handle, on one BLAS thread (the caller sets that around the job).
   */
  useBlas(path: string, sgemm: Sgemm): void;
  /** Stop the helper threads (only for a runner of one's own, {@link createRowRunner}). */
  close(): Promise<void>;
}

let parallel = true;

/**
 * Split the fused kernels' rows over the helper threads (true, the default) or run them all on
 * the calling thread (false: the one-thread path, for comparisons and tests); returns the
 * previous setting.
 */
export function setRowParallel(on: boolean): boolean {
  const was = parallel;
  parallel = on;
  return was;
}

/** Rows per chunk for `rows` rows over `threads` threads, a multiple of `align` (pure). */
export function chunkRows(rows: number, threads: number, align = 1): number {
  const per = Math.ceil(rows / (threads * CHUNKS_PER_THREAD));
  return Math.max(align, align * Math.ceil(per / align));
}

/** Everything on this thread: the `first` jobs, then the job over all rows. */
function runHere(local: RowJobRunner, job: RowJob, rows: number, split?: RowSplit): void {
  for (const f of split?.first ?? []) local(f.job, f.r0, f.r1);
  if (rows > 0) local(job, 0, rows);
}

/** A runner with no helpers: every job on the calling thread. */
function serialRunner(local: RowJobRunner, useBlas: RowRunner["useBlas"]): RowRunner {
  return {
    threads: 1,
    run: (job, rows, split) => runHere(local, job, rows, split),
    splits: () => false,
    useBlas,
    close: () => Promise.resolve(),
  };
}

const runners = new WeakMap<WebAssembly.Memory, Promise<RowRunner>>();

/**
 * The runner for `memory` (one per memory: `wasm` and `native` share the heap), with
 * `threads - 1` helpers where the memory is shared and threads > 1. `ew` are this thread's
 * elementwise kernels on the memory.
 */
export function rowRunner(
  memory: WebAssembly.Memory,
  ew: ElementwiseKernels,
  threads = threadCount(),
): Promise<RowRunner> {
  const known = runners.get(memory);
  if (known) return known;
  const made = createRowRunner(memory, ew, threads);
  runners.set(memory, made);
  return made;
}

/**
 * A new runner on `memory` with `threads - 1` helpers (none where the memory is not shared);
 * {@link rowRunner} keeps one per memory for the backends. Close it when done with it (it runs
 * nothing after).
 */
export async function createRowRunner(
  memory: WebAssembly.Memory,
  ew: ElementwiseKernels,
  threads: number,
): Promise<RowRunner> {
  let sgemm: Sgemm | null = null;
  const local = rowJobRunner(
    memory,
    ew,
    () => sgemm ? blasGemm(sgemm, memory.buffer as ArrayBuffer) : null,
  );
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  const useBlas = (path: string, mine: Sgemm) => {
    sgemm = mine;
    const bytes = new TextEncoder().encode(path);
    if (bytes.length > MAX_BLAS_PATH_BYTES) throw new Error("row pool: BLAS path too long");
    new Uint8Array(control, BLAS_PATH_AT, bytes.length).set(bytes);
    Atomics.store(new Int32Array(control, 0, PARAMS_AT / 4), BLAS_PATH_BYTES, bytes.length);
  };
  if (threads <= 1 || !memoryImportOf(memory).shared) return serialRunner(local, useBlas);
  const ctl = new Int32Array(control, 0, PARAMS_AT / 4);
  const params = new Float64Array(control, PARAMS_AT, 2 + MAX_JOB_NUMBERS);
  let failure = "";
  const workers: Worker[] = [];
  try {
    await Promise.all(Array.from({ length: threads - 1 }, async () => {
      const worker = new Worker(new URL("./row_worker.ts", import.meta.url));
      workers.push(worker);
      worker.on("error", (e: unknown) => {
        failure = `a fused-kernel thread failed: ${e instanceof Error ? e.message : e}`;
      });
      const ready = new Promise<void>((resolve, reject) => {
        worker.once("message", () => resolve());
        worker.once("error", reject);
      });
      const init: RowWorkerInit = { memory, control };
      worker.postMessage(init);
      await ready;
      worker.unref(); // idle helpers must not keep the process alive
    }));
  } catch {
    await Promise.all(workers.map((w) => w.terminate()));
    return serialRunner(local, useBlas); // no helper threads here: one thread is still correct
  }
  let seq = 0;
  return {
    threads,
    splits: (elements) => parallel && elements >= PARALLEL_MIN_ELEMENTS,
    useBlas,
    run(job, rows, split) {
      if (job.length > MAX_JOB_NUMBERS) throw new Error("row pool: job too long");
      const per = chunkRows(rows, threads, split?.align ?? 1);
      const chunks = Math.ceil(rows / per);
      if (!parallel || rows * (split?.perRow ?? 1) < PARALLEL_MIN_ELEMENTS || chunks < 2) {
        return runHere(local, job, rows, split);
      }
      if (chunks >= 1 << CHUNK_BITS) throw new Error("row pool: too many chunks");
      // Post the job: parameters first, then the claim word, then wake the helpers.
      params[0] = rows;
      params[1] = per;
      params.fill(0, 2);
      params.set(job, 2);
      Atomics.store(ctl, CHUNKS, chunks);
      Atomics.store(ctl, DONE, 0);
      Atomics.store(ctl, FAILED, 0);
      seq = (seq + 1) | 0;
      Atomics.store(ctl, CLAIM, tagOf(seq) << CHUNK_BITS);
      Atomics.store(ctl, SEQ, seq);
      Atomics.notify(ctl, SEQ);
      let error: unknown = null;
      try {
        for (const f of split?.first ?? []) local(f.job, f.r0, f.r1);
      } catch (e) {
        error = e;
      }
      claimChunks(ctl, params, seq, local);
      // Every chunk is claimed; wait for those still running elsewhere (they write the heap).
      for (let done = Atomics.load(ctl, DONE); done < rows; done = Atomics.load(ctl, DONE)) {
        if (failure) throw new Error(failure);
        Atomics.wait(ctl, DONE, done, 100);
      }
      if (error) throw error;
      if (Atomics.load(ctl, FAILED)) throw new Error("row pool: a chunk of a fused kernel failed");
    },
    close: async () => {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
