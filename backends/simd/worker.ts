/**
 * A helper thread of the SIMD matrix product (`pool.ts`): instantiates the kernel on the
 * pool's shared memory and runs the products the main thread posts in its control block,
 * sleeping in `Atomics.wait` between calls.
 *
 * Control block (int32 slots from its byte offset): 0 = request sequence number (main),
 * 1 = finished sequence number (here), 2 = job count, then {@link JOB_INTS} slots per job:
 * a, b, c, m, n, k, sam, sak, sbk, sbn, pack, ldc (byte offsets, sizes, strides in floats).
 *
 * @module
 */
import { parentPort } from "node:worker_threads";
import { encodeModule } from "./asm.ts";
import { gemmFuncs } from "./gemm_module.ts";
import { JOB_INTS, JOBS_AT, type WorkerInit } from "./pool_layout.ts";

type RawGemm = (...args: number[]) => void;

parentPort!.once("message", (init: WorkerInit) => {
  const bytes = encodeModule(gemmFuncs(init.fma), { shared: true, maxPages: init.maxPages });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {
    env: { memory: init.memory },
  });
  const gemm = instance.exports["gemm"] as RawGemm;
  const ctl = new Int32Array(init.memory.buffer, init.control, JOBS_AT + JOB_INTS * init.maxJobs);
  let seen = 0;
  parentPort!.postMessage("ready");
  while (true) {
    Atomics.wait(ctl, 0, seen);
    seen = Atomics.load(ctl, 0);
    const jobs = ctl[2]!;
    for (let j = 0; j < jobs; j++) {
      const o = JOBS_AT + JOB_INTS * j;
      gemm(...Array.from(ctl.subarray(o, o + JOB_INTS)));
    }
    Atomics.store(ctl, 1, seen);
    Atomics.notify(ctl, 1);
  }
});
