/**
 * Our WebAssembly SIMD kernels, instantiated on the tfjs wasm backend's own memory so they read
 * and write tensors where they already are (no copies). Built from `gemm_module.ts` at start-up
 * (synchronously: the module is a few kilobytes).
 *
 * @module
 */
import { encodeModule, memoryImportOf } from "./asm.ts";
import { gemmFma, gemmFuncs, packFloats } from "./gemm_module.ts";
import type { HeapGemm } from "../native/gemm.ts";

/** The slice of the tfjs wasm module the kernels need: its memory and allocator. */
export interface WasmModuleHandle {
  readonly asm: { readonly memory?: WebAssembly.Memory };
  _malloc(bytes: number): number;
  _free(ptr: number): void;
}

/** The instantiated kernels over one memory. */
export interface SimdKernels {
  /** Matrix product on the heap (strides from the transposes and leading dimensions). */
  readonly gemm: HeapGemm;
}

type RawGemm = (
  a: number,
  b: number,
  c: number,
  m: number,
  n: number,
  k: number,
  sam: number,
  sak: number,
  sbk: number,
  sbn: number,
  pack: number,
  ldc: number,
) => void;

/** Whether this runtime can compile our SIMD module (WebAssembly SIMD is required). */
export function simdKernelsSupported(): boolean {
  return WebAssembly.validate(encodeModule(gemmFuncs(false)));
}

/**
 * Instantiate the kernels on `module`'s memory, or return null when the runtime lacks
 * WebAssembly SIMD or the module does not expose its memory.
 */
export function createSimdKernels(module: WasmModuleHandle): SimdKernels | null {
  const memory = module.asm.memory;
  if (!(memory instanceof WebAssembly.Memory) || !simdKernelsSupported()) return null;
  const instance = new WebAssembly.Instance(
    new WebAssembly.Module(encodeModule(gemmFuncs(gemmFma()), memoryImportOf(memory))),
    { env: { memory } },
  );
  const raw = instance.exports["gemm"] as RawGemm;
  const rawBatch = instance.exports["gemmBatch"] as (...args: number[]) => void;
  // Scratch for the packed B, grown on demand, never shrunk.
  let pack = 0;
  let packBytes = 0;
  const scratch = (bytes: number): number => {
    if (bytes > packBytes) {
      if (pack) module._free(pack);
      packBytes = Math.max(bytes, 2 * packBytes, 4096);
      pack = module._malloc(packBytes);
      if (!pack) throw new Error(`simd: could not allocate ${packBytes} bytes of scratch`);
    }
    return pack;
  };
  const strides = (ta: boolean, tb: boolean, lda: number, ldb: number) =>
    [ta ? 1 : lda, ta ? lda : 1, tb ? 1 : ldb, tb ? ldb : 1] as const;
  const gemm: HeapGemm = Object.assign(
    (
      ta: boolean,
      tb: boolean,
      m: number,
      n: number,
      k: number,
      a: number,
      lda: number,
      b: number,
      ldb: number,
      c: number,
      ldc: number,
    ) => {
      const p = scratch(4 * packFloats(n, k));
      raw(a, b, c, m, n, k, ...strides(ta, tb, lda, ldb), p, ldc);
    },
    {
      batch: (
        ta: boolean,
        tb: boolean,
        m: number,
        n: number,
        k: number,
        a: number,
        lda: number,
        b: number,
        ldb: number,
        c: number,
        ldc: number,
        count: number,
        strideA: number,
        strideB: number,
        strideC: number,
      ) => {
        const p = scratch(4 * packFloats(n, k));
        rawBatch(
          a,
          b,
          c,
          m,
          n,
          k,
          ...strides(ta, tb, lda, ldb),
          p,
          ldc,
          count,
          strideA,
          strideB,
          strideC,
        );
      },
    },
  );
  return { gemm };
}
