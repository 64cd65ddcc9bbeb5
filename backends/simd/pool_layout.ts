/**
 * The layout shared by the SIMD pool (`pool.ts`) and its threads (`worker.ts`).
 *
 * @module
 */

/** Int32 slots per job: a, b, c, m, n, k, sam, sak, sbk, sbn, pack, ldc. */
export const JOB_INTS = 12;
/** Int32 slot where the job table starts (after seq, done, count, padding). */
export const JOBS_AT = 4;

/** What a thread is started with. */
export interface WorkerInit {
  /** The pool's shared memory. */
  readonly memory: WebAssembly.Memory;
  /** Its maximum size in 64 KiB pages (the module's import must declare it). */
  readonly maxPages: number;
  /** Byte offset of this thread's control block. */
  readonly control: number;
  /** Capacity of its job table. */
  readonly maxJobs: number;
  /** Build the kernel with relaxed-SIMD multiply-add (as the main thread's, for identical sums). */
  readonly fma: boolean;
}
