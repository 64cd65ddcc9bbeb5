/**
 * Finding and opening the system BLAS through Deno FFI, and the one routine the native
 * backend needs from it: `cblas_sgemm` (single-precision general matrix product).
 *
 * Search order (first that opens wins):
 * 1. `LISA_BLAS_LIB` when set: a file name or path; the only candidate then, so a wrong value
 *    fails loudly instead of silently falling back.
 * 2. Linux: `libopenblas.so.0`, `libopenblas.so`, `libblas.so.3`, `libcblas.so`.
 *    macOS: the Accelerate framework, then Homebrew/MacPorts OpenBLAS.
 *    Windows: `openblas.dll`, `libopenblas.dll`.
 *
 * OpenBLAS builds that misdetect the CPU are reloaded with a better core type
 * (`openblas_core.ts`); set `OPENBLAS_CORETYPE` yourself to opt out.
 *
 * @module
 */
import { coreOverride, cpuFlags } from "./openblas_core.ts";

/** CBLAS enum values (the reference CBLAS header's numbering). */
export const CBLAS = { rowMajor: 101, noTrans: 111, trans: 112 } as const;

const ACCELERATE = "/System/Library/Frameworks/Accelerate.framework/Accelerate";

/** The library names tried on this operating system, in order, without the override. */
export function defaultBlasCandidates(os: typeof Deno.build.os = Deno.build.os): string[] {
  switch (os) {
    case "darwin":
      return [
        ACCELERATE,
        "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
        "/usr/local/opt/openblas/lib/libopenblas.dylib",
        "/opt/local/lib/libopenblas.dylib",
        "libopenblas.dylib",
      ];
    case "windows":
      return ["openblas.dll", "libopenblas.dll"];
    default:
      return ["libopenblas.so.0", "libopenblas.so", "libblas.so.3", "libcblas.so"];
  }
}

/** The candidates actually tried: the `LISA_BLAS_LIB` override alone, or the defaults. */
export function blasCandidates(): string[] {
  const override = Deno.env.get("LISA_BLAS_LIB")?.trim();
  return override ? [override] : defaultBlasCandidates();
}

/** How to get a BLAS on this operating system, for error messages. */
export function blasInstallHint(os: typeof Deno.build.os = Deno.build.os): string {
  switch (os) {
    case "darwin":
      return "Accelerate ships with macOS; otherwise `brew install openblas`";
    case "windows":
      return "put openblas.dll (from the OpenBLAS releases) on PATH";
    default:
      return "Debian/Ubuntu: `apt-get install libopenblas0-pthread`; " +
        "Fedora: `dnf install openblas-pthreads`";
  }
}

const SYMBOLS = {
  cblas_sgemm: {
    parameters: [
      "i32", // order
      "i32", // transA
      "i32", // transB
      "i32", // M
      "i32", // N
      "i32", // K
      "f32", // alpha
      "pointer", // A
      "i32", // lda
      "pointer", // B
      "i32", // ldb
      "f32", // beta
      "pointer", // C
      "i32", // ldc
    ],
    result: "void",
  },
  openblas_get_num_threads: { parameters: [], result: "i32", optional: true },
  openblas_set_num_threads: { parameters: ["i32"], result: "void", optional: true },
  openblas_get_config: { parameters: [], result: "pointer", optional: true },
  openblas_get_corename: { parameters: [], result: "pointer", optional: true },
} as const satisfies Deno.ForeignLibraryInterface;

type BlasSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/**
 * One matrix product in row-major storage: `C[M,N] = alpha * op(A) op(B) + beta * C`, where
 * `op(A)` is `[M,K]` and `op(B)` is `[K,N]`. Pointers are raw addresses (see
 * {@link pointerAt}); leading dimensions follow CBLAS.
 */
export type Sgemm = (
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Deno.PointerValue,
  lda: number,
  b: Deno.PointerValue,
  ldb: number,
  beta: number,
  c: Deno.PointerValue,
  ldc: number,
) => void;

/** An opened BLAS library. */
export interface BlasLibrary {
  /** The name or path it was opened by. */
  readonly path: string;
  /** The library's own description (OpenBLAS's build config), when it offers one. */
  readonly config: string;
  /** The CPU kernel family OpenBLAS runs (e.g. `SkylakeX`); empty for other libraries. */
  readonly core: string;
  /** Set when we forced OpenBLAS's core type because it fell back to a generic one. */
  readonly coreNote: string;
  /** BLAS threads (OpenBLAS only; 0 when the library does not say). */
  readonly threads: number;
  readonly sgemm: Sgemm;
  /** Set the BLAS thread count where the library allows it (OpenBLAS). */
  readonly setThreads: (n: number) => void;
}

/** The outcome of looking for a BLAS: the library, or every name tried and why each failed. */
export type BlasLookup =
  | { readonly ok: true; readonly library: BlasLibrary }
  | { readonly ok: false; readonly tried: readonly string[]; readonly reason: string };

function cString(p: Deno.PointerValue | undefined): string {
  return p ? new Deno.UnsafePointerView(p).getCString() : "";
}

function wrap(path: string, symbols: BlasSymbols, coreNote: string): BlasLibrary {
  const raw = symbols.cblas_sgemm;
  const sgemm: Sgemm = (ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) =>
    raw(
      CBLAS.rowMajor,
      ta ? CBLAS.trans : CBLAS.noTrans,
      tb ? CBLAS.trans : CBLAS.noTrans,
      m,
      n,
      k,
      alpha,
      a,
      lda,
      b,
      ldb,
      beta,
      c,
      ldc,
    );
  return {
    path,
    config: cString(symbols.openblas_get_config?.()),
    core: cString(symbols.openblas_get_corename?.()),
    coreNote,
    get threads() {
      return symbols.openblas_get_num_threads?.() ?? 0;
    },
    sgemm,
    setThreads: (t) => symbols.openblas_set_num_threads?.(t),
  };
}

/**
 * Open one library; if it is an OpenBLAS that fell back to a generic CPU core, open it again
 * with the core type the CPU supports (see `openblas_core.ts`).
 */
function openOne(name: string): BlasLibrary {
  const lib = Deno.dlopen(name, SYMBOLS);
  const core = cString(lib.symbols.openblas_get_corename?.());
  const forced = core ? coreOverride(core, cpuFlags()) : null;
  if (!forced) return wrap(name, lib.symbols, "");
  lib.close();
  Deno.env.set("OPENBLAS_CORETYPE", forced);
  const again = Deno.dlopen(name, SYMBOLS);
  const note = `OpenBLAS detected "${core}"; forced OPENBLAS_CORETYPE=${forced} from the CPU flags`;
  return wrap(name, again.symbols, note);
}

let cached: BlasLookup | null = null;

/**
 * `OPENBLAS_THREAD_TIMEOUT` when the environment does not set it: OpenBLAS's idle threads spin
 * for 2^n cycles after each product before they sleep; its default, 2^28 (about 0.1 s), keeps
 * one spinning through most of a training step, on the core the fused kernels' helper threads
 * (`../fused/row_pool.ts`) need. 2^20 (under 1 ms) still spins through back-to-back products.
 * Measured on the 2-core build machine, shared with other work, in runs minutes apart
 * (`bench/threads_bench.ts`, helpers on / off alternated): new / old wall 0.98 at the default
 * (two runs of 8 pairs), 0.95 at 24, 0.87 at 22, 0.86 at 20, 0.85 at 18, 0.86 at 16 and 0.85 at
 * 12 (4 pairs each); the step without helpers took about as long at 20 as at the default (2.21-2.31
 * vs 2.26-2.28 s) and about 6% longer at 12 and 16 (2.37-2.44 s), where a sleeping BLAS thread
 * has to be woken for more of the products.
 * Scheduling only: OpenBLAS splits a product the same way whatever the timeout.
 */
export const OPENBLAS_THREAD_TIMEOUT = 20;

/**
 * Open the first BLAS in {@link blasCandidates} that has `cblas_sgemm`. The result is cached
 * per process; pass `fresh` to look again (tests that change `LISA_BLAS_LIB`).
 * `LISA_BLAS_THREADS` sets OpenBLAS's thread count; `OPENBLAS_THREAD_TIMEOUT` defaults to
 * {@link OPENBLAS_THREAD_TIMEOUT}.
 */
export function openBlas(fresh = false): BlasLookup {
  if (cached && !fresh) return cached;
  // Read by OpenBLAS when it loads: set before the first dlopen (see the constant).
  if (Deno.env.get("OPENBLAS_THREAD_TIMEOUT") === undefined) {
    Deno.env.set("OPENBLAS_THREAD_TIMEOUT", String(OPENBLAS_THREAD_TIMEOUT));
  }
  const tried = blasCandidates();
  const errors: string[] = [];
  for (const name of tried) {
    try {
      const library = openOne(name);
      const threads = Number(Deno.env.get("LISA_BLAS_THREADS") ?? "");
      if (Number.isInteger(threads) && threads > 0) library.setThreads(threads);
      cached = { ok: true, library };
      return cached;
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      errors.push(`${name}: ${msg.split("\n")[0]}`);
    }
  }
  const override = Deno.env.get("LISA_BLAS_LIB")?.trim();
  const reason = `no BLAS library could be opened (looked for ${tried.join(", ")}` +
    `${override ? " from LISA_BLAS_LIB" : ""}). Install one: ${blasInstallHint()}; ` +
    "or point LISA_BLAS_LIB at a library that exports cblas_sgemm. Details: " +
    errors.join("; ");
  cached = { ok: false, tried, reason };
  return cached;
}

/**
 * `sgemm` of the library at `path` (one {@link openBlas} found), opened again without probing:
 * for another thread, which cannot share this one's handle. The process has the library loaded
 * already, so it is the same library with the same core and thread settings.
 */
export function openSgemmAt(path: string): Sgemm {
  return wrap(path, Deno.dlopen(path, SYMBOLS).symbols, "").sgemm;
}

/** The raw address `byteOffset` bytes into `buffer` (a fresh pointer: buffers can move). */
export function pointerAt(buffer: ArrayBuffer, byteOffset: number): Deno.PointerValue {
  const base = Deno.UnsafePointer.of(buffer);
  return byteOffset === 0 ? base : Deno.UnsafePointer.offset(base!, byteOffset);
}
