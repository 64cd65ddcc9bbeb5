/**
 * The control block shared by the row pool (`row_pool.ts`) and its threads (`row_worker.ts`),
 * and the chunk claiming both sides run.
 *
 * Int32 slots: {@link SEQ} the job's sequence number (helpers sleep on it), {@link CLAIM} the
 * claim word (the job's tag in the high bits, the next chunk in the low {@link CHUNK_BITS}),
 * {@link DONE} rows finished, {@link FAILED} set by a thread whose chunk threw, {@link CHUNKS}
 * the job's chunk count, {@link BLAS_PATH_BYTES} the length of the BLAS path. Float64 slots from
 * byte {@link PARAMS_AT}: rows, rows per chunk, then the job's numbers; from
 * {@link BLAS_PATH_AT} the BLAS library's path.
 *
 * @module
 */
import { MAX_JOB_NUMBERS, type RowJobRunner } from "./row_kernels.ts";

/** Int32 slot: the job's sequence number. */
export const SEQ = 0;
/** Int32 slot: the claim word. */
export const CLAIM = 1;
/** Int32 slot: rows finished. */
export const DONE = 2;
/** Int32 slot: a chunk failed. */
export const FAILED = 3;
/** Int32 slot: chunks of the job. */
export const CHUNKS = 4;
/** Bits of the claim word that count chunks (the rest is the job's tag). */
export const CHUNK_BITS = 20;
/** Int32 slot: bytes of the BLAS library's path (0: none yet). */
export const BLAS_PATH_BYTES = 5;
/** Byte offset of the float64 parameters. */
export const PARAMS_AT = 32;
/** Byte offset of the BLAS library's path (UTF-8), which helpers open for attention's products. */
export const BLAS_PATH_AT = PARAMS_AT + 8 * (2 + MAX_JOB_NUMBERS);
/** Room for the path. */
export const MAX_BLAS_PATH_BYTES = 4096;
/** Bytes of the control block. */
export const CONTROL_BYTES = BLAS_PATH_AT + MAX_BLAS_PATH_BYTES;

/** The claim word's tag for sequence number `seq` (11 bits: the word stays a positive int32). */
export const tagOf = (seq: number): number => seq & 0x7ff;

/** What a thread is started with. */
export interface RowWorkerInit {
  /** The shared heap. */
  readonly memory: WebAssembly.Memory;
  /** The control block ({@link CONTROL_BYTES}). */
  readonly control: SharedArrayBuffer;
}

/**
 * Claim and run chunks of job `seq` until none is left (or a later job has replaced it): each
 * claim is one compare-and-swap on the claim word, so a chunk runs exactly once, on whichever
 * thread gets there first; a thread that arrives late finds nothing and returns. A thread for
 * which `can(job)` is false (a helper that could not open BLAS) claims nothing of that job and
 * leaves it to the others.
 */
export function claimChunks(
  ctl: Int32Array,
  params: Float64Array,
  seq: number,
  run: RowJobRunner,
  can: (job: Float64Array) => boolean = () => true,
): void {
  const tag = tagOf(seq);
  const job = new Float64Array(MAX_JOB_NUMBERS);
  while (true) {
    const word = Atomics.load(ctl, CLAIM);
    if (word >>> CHUNK_BITS !== tag) return;
    const chunk = word & ((1 << CHUNK_BITS) - 1);
    if (chunk >= Atomics.load(ctl, CHUNKS)) return;
    // While a chunk of this job is unclaimed its parameters stay as they are.
    const rows = params[0]!;
    const per = params[1]!;
    job.set(params.subarray(2, 2 + MAX_JOB_NUMBERS));
    if (!can(job)) return;
    if (Atomics.compareExchange(ctl, CLAIM, word, word + 1) !== word) continue;
    const r0 = chunk * per;
    const r1 = Math.min(rows, r0 + per);
    try {
      run(job, r0, r1);
    } catch {
      Atomics.store(ctl, FAILED, 1);
    }
    Atomics.add(ctl, DONE, r1 - r0);
    Atomics.notify(ctl, DONE);
  }
}
