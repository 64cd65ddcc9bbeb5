/**
 * More threads for the SIMD matrix product: helper threads (`worker.ts`, Node-style workers
 * that do not keep the process alive) run the same kernel on a shared WebAssembly memory.
 * tfjs's heap is not shared, so a product's operands are copied into the shared memory for the
 * helpers, which compute their share of the output there; the main thread computes its own
 * share in place on the heap, then copies the helpers' rows back. Every output element is the
 * same sum in the same order whichever thread computes it, so results are bit-identical to
 * one thread.
 *
 * Work is split by batches when there are at least as many as threads, otherwise by rows.
 * Products under {@link PARALLEL_MIN_FLOPS} stay on one thread (a wake-up costs ~10-50 us).
 * Thread count: `LISA_THREADS` (including the main thread), default the number of cores.
 *
 * @module
 */
import { Worker } from "node:worker_threads";
import type { HeapGemm, HeapOperands, MatMulGeometry } from "../native/gemm.ts";
import { gemmFma, packFloats } from "./gemm_module.ts";
import { JOB_INTS, JOBS_AT, type WorkerInit } from "./pool_layout.ts";

/** Products smaller than this (2 M N K over all batches) run on the main thread alone. */
export const PARALLEL_MIN_FLOPS = 4e6;

const MAX_PAGES = 16384; // 1 GiB of shared memory at most
const MAX_JOBS = 1024;
const CONTROL_BYTES = 4 * (JOBS_AT + JOB_INTS * MAX_JOBS);

/** One piece of a batched product: rows r0..r1 of output batch `batch`. */
interface Piece {
  readonly batch: number;
  readonly r0: number;
  readonly r1: number;
}

/** A pool of helper threads for the matrix product. */
export interface GemmPool {
  /** Threads including the caller's. */
  readonly threads: number;
  /**
   * Compute the batched product of `g` on `heap` (its buffer, taken fresh by the caller) with
   * the helpers; `gemm` runs the caller's share in place. Returns false (doing nothing) when
   * the product is too small to be worth splitting.
   */
  run(gemm: HeapGemm, heap: () => ArrayBuffer, at: HeapOperands, g: MatMulGeometry): boolean;
}

/** The thread count asked for: `LISA_THREADS`, else the number of cores. */
export function threadCount(): number {
  const env = Number(Deno.env.get("LISA_THREADS") ?? "");
  if (Number.isInteger(env) && env >= 1) return Math.min(env, 64);
  return Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 64));
}

/** Split `g` into `parts` lists of pieces (by batch when there are enough, else by rows). */
export function splitWork(g: MatMulGeometry, parts: number): Piece[][] {
  const batches = g.aBatch.length;
  const out: Piece[][] = Array.from({ length: parts }, () => []);
  if (batches >= parts) {
    for (let p = 0; p < parts; p++) {
      const from = Math.floor((p * batches) / parts);
      const to = Math.floor(((p + 1) * batches) / parts);
      for (let i = from; i < to; i++) out[p]!.push({ batch: i, r0: 0, r1: g.m });
    }
    return out;
  }
  for (let p = 0; p < parts; p++) {
    const r0 = Math.floor((p * g.m) / parts);
    const r1 = Math.floor(((p + 1) * g.m) / parts);
    if (r1 > r0) { for (let i = 0; i < batches; i++) out[p]!.push({ batch: i, r0, r1 }); }
  }
  return out;
}

/** The geometry with stacked batches folded into rows (one product of batch*M rows). */
function unstacked(g: MatMulGeometry): MatMulGeometry {
  if (!g.stackRows || g.aBatch.length <= 1) return g;
  return {
    ...g,
    m: g.m * g.aBatch.length,
    aBatch: new Int32Array(1),
    bBatch: new Int32Array(1),
    stackRows: false,
  };
}

/**
 * Start `threads - 1` helpers, or return null when one thread is asked for or the runtime
 * lacks shared WebAssembly memory.
 */
export async function createGemmPool(threads = threadCount()): Promise<GemmPool | null> {
  if (threads <= 1 || typeof SharedArrayBuffer === "undefined") return null;
  const helpers = threads - 1;
  let memory: WebAssembly.Memory;
  try {
    memory = new WebAssembly.Memory({ initial: 64, maximum: MAX_PAGES, shared: true });
  } catch {
    return null;
  }
  let failure = "";
  const controls = Array.from({ length: helpers }, (_, w) => w * CONTROL_BYTES);
  const workers = await Promise.all(controls.map(async (control) => {
    const worker = new Worker(new URL("./worker.ts", import.meta.url));
    worker.on("error", (e: unknown) => {
      failure = `a matrix-product thread failed: ${e instanceof Error ? e.message : e}`;
    });
    const ready = new Promise<void>((resolve, reject) => {
      worker.once("message", () => resolve());
      worker.once("error", reject);
    });
    const init: WorkerInit = {
      memory,
      maxPages: MAX_PAGES,
      control,
      maxJobs: MAX_JOBS,
      fma: gemmFma(),
    };
    worker.postMessage(init);
    await ready;
    worker.unref(); // idle helpers must not keep the process alive
    return { control, seq: 0 };
  }));
  const dataStart = helpers * CONTROL_BYTES;

  const ensure = (bytes: number) => {
    const have = memory.buffer.byteLength;
    if (bytes > have) memory.grow(Math.ceil((bytes - have) / 65536));
  };

  return {
    threads,
    run(gemm, heap, at, geometry) {
      const g = unstacked(geometry);
      const { m, n, k, transposeA: ta, transposeB: tb } = g;
      const batches = g.aBatch.length;
      if (2 * m * n * k * batches < PARALLEL_MIN_FLOPS || m * n === 0 || k === 0) return false;
      const parts = splitWork(g, threads);
      const lda = ta ? m : k;
      const ldb = tb ? k : n;
      const aFloats = (Math.max(...g.aBatch) + 1) * m * k;
      const bFloats = (Math.max(...g.bBatch) + 1) * k * n;
      const rowOffset = (r: number) => 4 * (ta ? r : r * lda);
      // Shared layout: A copy, B copy, then per helper its output rows and its pack scratch.
      const aS = dataStart;
      const bS = aS + 4 * aFloats;
      let cursor = bS + 4 * bFloats;
      const packBytes = 4 * packFloats(n, k);
      const plans = workers.map((_, w) => {
        const pieces = parts[w + 1]!;
        const rows = pieces.reduce((s, p) => s + (p.r1 - p.r0), 0);
        const c = cursor;
        const pack = c + 4 * rows * n;
        cursor = pack + packBytes;
        return { pieces, c, pack };
      });
      if (plans.some((p) => p.pieces.length > MAX_JOBS)) return false;
      ensure(cursor);
      const shared = new Uint8Array(memory.buffer);
      const h = new Uint8Array(heap());
      shared.set(h.subarray(at.a, at.a + 4 * aFloats), aS);
      shared.set(h.subarray(at.b, at.b + 4 * bFloats), bS);
      // Post the helpers' jobs and wake them.
      plans.forEach((plan, w) => {
        const ctl = new Int32Array(
          memory.buffer,
          workers[w]!.control,
          JOBS_AT + JOB_INTS * MAX_JOBS,
        );
        let c = plan.c;
        plan.pieces.forEach((p, j) => {
          const rows = p.r1 - p.r0;
          ctl.set([
            aS + 4 * g.aBatch[p.batch]! * m * k + rowOffset(p.r0),
            bS + 4 * g.bBatch[p.batch]! * k * n,
            c,
            rows,
            n,
            k,
            ta ? 1 : lda,
            ta ? lda : 1,
            tb ? 1 : ldb,
            tb ? ldb : 1,
            plan.pack,
            n,
          ], JOBS_AT + JOB_INTS * j);
          c += 4 * rows * n;
        });
        ctl[2] = plan.pieces.length;
        const seq = ++workers[w]!.seq;
        Atomics.store(ctl, 0, seq);
        Atomics.notify(ctl, 0);
      });
      // Our own share, in place.
      for (const p of parts[0]!) {
        gemm(
          ta,
          tb,
          p.r1 - p.r0,
          n,
          k,
          at.a + 4 * g.aBatch[p.batch]! * m * k + rowOffset(p.r0),
          lda,
          at.b + 4 * g.bBatch[p.batch]! * k * n,
          ldb,
          at.out + 4 * (p.batch * m + p.r0) * n,
          n,
        );
      }
      // Wait for the helpers, then copy their rows back.
      plans.forEach((plan, w) => {
        const ctl = new Int32Array(memory.buffer, workers[w]!.control, 2);
        const seq = workers[w]!.seq;
        while (Atomics.load(ctl, 1) !== seq) {
          if (failure) throw new Error(failure);
          Atomics.wait(ctl, 1, Atomics.load(ctl, 1), 100);
        }
        const src = new Uint8Array(memory.buffer);
        const dst = new Uint8Array(heap());
        let c = plan.c;
        for (const p of plan.pieces) {
          const bytes = 4 * (p.r1 - p.r0) * n;
          const to = at.out + 4 * (p.batch * m + p.r0) * n;
          dst.set(src.subarray(c, c + bytes), to);
          c += bytes;
        }
      });
      return true;
    },
  };
}
