/**
 * A helper thread of the row pool (`row_pool.ts`): instantiates the elementwise kernels on the
 * shared heap, then sleeps in `Atomics.wait` until a job is posted and claims its chunks
 * (`row_layout.ts`) beside the main thread.
 *
 * @module
 */
import { parentPort } from "node:worker_threads";
import { elementwiseKernels } from "../simd/elementwise.ts";
import { MAX_JOB_NUMBERS, rowJobRunner } from "./row_kernels.ts";
import { claimChunks, PARAMS_AT, type RowWorkerInit, SEQ } from "./row_layout.ts";

parentPort!.once("message", (init: RowWorkerInit) => {
  const ew = elementwiseKernels(init.memory);
  if (!ew) throw new Error("row pool: no WebAssembly SIMD in this thread");
  const run = rowJobRunner(init.memory, ew);
  const ctl = new Int32Array(init.control, 0, PARAMS_AT / 4);
  const params = new Float64Array(init.control, PARAMS_AT, 2 + MAX_JOB_NUMBERS);
  let seen = 0;
  parentPort!.postMessage("ready");
  while (true) {
    Atomics.wait(ctl, SEQ, seen);
    seen = Atomics.load(ctl, SEQ);
    claimChunks(ctl, params, seen, run);
  }
});
