/**
 * A shared heap for the tfjs WebAssembly module, so that helper threads (`row_pool.ts`) can run
 * kernels on tensors where they are, with no copies. tfjs's single-threaded binary defines its
 * own memory (at most 4 GiB); the one byte of its memory section that says "has a maximum" is
 * changed to "has a maximum, shared" as the binary is instantiated (nothing else changes: the
 * same code runs on the same addresses). Its threaded binary would be shared already but needs
 * Emscripten's classic-script workers, which Deno does not run.
 *
 * `LISA_SHARED_HEAP=0` keeps the heap private (then every kernel runs on the calling thread).
 *
 * @module
 */

/** Whether the heap may be shared: `LISA_SHARED_HEAP` is not `0` and the runtime has threads. */
export function sharedHeapWanted(): boolean {
  if (typeof SharedArrayBuffer === "undefined") return false;
  try {
    return Deno.env.get("LISA_SHARED_HEAP")?.trim() !== "0";
  } catch {
    return true;
  }
}

/**
 * `bytes` (a WebAssembly binary) with its one defined memory declared shared, or null when it
 * has no such memory (imported, several, already shared, or without a maximum, which a shared
 * memory needs). Pure: `bytes` is not changed.
 */
export function withSharedMemory(bytes: Uint8Array): Uint8Array<ArrayBuffer> | null {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61) return null;
  let p = 8;
  const uleb = (): number => {
    let result = 0;
    let shift = 0;
    let byte: number;
    do {
      if (p >= bytes.length) throw new RangeError("truncated LEB128");
      byte = bytes[p++]!;
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return result;
  };
  try {
    while (p < bytes.length) {
      const id = bytes[p++]!;
      const size = uleb();
      const start = p;
      if (id === 5) { // the memory section: a vector of limits
        if (uleb() !== 1 || bytes[p] !== 0x01) return null; // one memory, min and max, unshared
        const out = bytes.slice();
        out[p] = 0x03;
        return out;
      }
      p = start + size;
    }
  } catch {
    return null;
  }
  return null;
}

type Instantiate = typeof WebAssembly.instantiate;

/**
 * Run `init` (which instantiates the tfjs module) with every binary instantiated meanwhile
 * given a shared memory where {@link withSharedMemory} can: `WebAssembly.instantiate` is
 * wrapped for the duration of `init` and restored after it, whatever happens.
 */
export async function withSharedHeap<T>(init: () => Promise<T>): Promise<T> {
  const original: Instantiate = WebAssembly.instantiate;
  const wrapped = ((source: unknown, imports?: WebAssembly.Imports) => {
    if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
      const bytes = source instanceof ArrayBuffer
        ? new Uint8Array(source)
        : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
      const shared = withSharedMemory(bytes);
      if (shared) return original(shared, imports);
    }
    return (original as (s: unknown, i?: WebAssembly.Imports) => Promise<unknown>)(
      source,
      imports,
    );
  }) as Instantiate;
  WebAssembly.instantiate = wrapped;
  try {
    return await init();
  } finally {
    if (WebAssembly.instantiate === wrapped) WebAssembly.instantiate = original;
  }
}
