/**
 * A helper thread of the row pool (`row_pool.ts`): instantiates the elementwise kernels on the
 * shared heap, then sleeps in `Atomics.wait` until a job is posted and claims its chunks
 * (`row_layout.ts`) beside the main thread. Attention's jobs call BLAS (one thread) through its
 * own handle on the library the main thread named.
 *
 * @module
 */
import { parentPort } from "node:worker_threads";
import { elementwiseKernels } from "../simd/elementwise.ts";
import { blasGemm, type HeapGemm } from "../native/gemm.ts";
import { openSgemmAt, type Sgemm } from "../native/blas.ts";
import { MAX_JOB_NUMBERS, ROW_KERNEL, rowJobRunner } from "./row_kernels.ts";
import {
  BLAS_PATH_AT,
  BLAS_PATH_BYTES,
  claimChunks,
  PARAMS_AT,
  type RowWorkerInit,
  SEQ,
} from "./row_layout.ts";

parentPort!.once("message", (init: RowWorkerInit) => {
  const ew = elementwiseKernels(init.memory);
  if (!ew) throw new Error("row pool: no WebAssembly SIMD in this thread");
  const ctl = new Int32Array(init.control, 0, PARAMS_AT / 4);
  // BLAS, opened on the first attention job after the main thread has named the library; a
  // thread that cannot open it leaves attention's jobs to the main thread.
  let sgemm: Sgemm | null = null;
  let unopenable = false;
  const gemm = (): HeapGemm | null => {
    if (!sgemm && !unopenable) {
      const bytes = Atomics.load(ctl, BLAS_PATH_BYTES);
      if (!bytes) return null;
      const path = new Uint8Array(init.control, BLAS_PATH_AT, bytes).slice();
      try {
        sgemm = openSgemmAt(new TextDecoder().decode(path));
      } catch {
        unopenable = true;
      }
    }
    return sgemm ? blasGemm(sgemm, init.memory.buffer as ArrayBuffer) : null;
  };
  const run = rowJobRunner(init.memory, ew, gemm);
  const needsBlas = (job: Float64Array) =>
    job[0] === ROW_KERNEL.attention || job[0] === ROW_KERNEL.attentionGradHeads;
  const can = (job: Float64Array) => !needsBlas(job) || gemm() !== null;
  const params = new Float64Array(init.control, PARAMS_AT, 2 + MAX_JOB_NUMBERS);
  let seen = 0;
  parentPort!.postMessage("ready");
  while (true) {
    Atomics.wait(ctl, SEQ, seen);
    seen = Atomics.load(ctl, SEQ);
    claimChunks(ctl, params, seen, run, can);
  }
});
