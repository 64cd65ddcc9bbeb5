/**
 * OpenBLAS picks its kernels for the CPU at load time (DYNAMIC_ARCH builds). Under some
 * hypervisors the CPU model is not one it knows, and it falls back to a generic SSE3 core
 * ("Prescott") that runs sgemm several times slower than the AVX2/AVX-512 kernels the CPU can
 * run. When that happens and the user has not chosen a core (`OPENBLAS_CORETYPE`), we pick one
 * from the CPU's feature flags and load the library again.
 *
 * @module
 */

/** OpenBLAS core names that mean "generic fallback" on a modern x86-64 CPU. */
const GENERIC_CORES = new Set([
  "prescott",
  "core2",
  "penryn",
  "dunnington",
  "nehalem",
  "atom",
  "katmai",
  "coppermine",
  "northwood",
  "banias",
  "barcelona",
  "unknown",
]);

/** Whether OpenBLAS's reported core is a generic fallback worth replacing. */
export function isGenericCore(corename: string): boolean {
  return GENERIC_CORES.has(corename.trim().toLowerCase());
}

/**
 * The OpenBLAS core type the CPU's feature flags support best, or null when nothing better
 * than the generic kernels is known to apply.
 */
export function coreTypeForFlags(flags: ReadonlySet<string>): string | null {
  const has = (...f: string[]) => f.every((x) => flags.has(x));
  if (has("avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512_bf16")) return "Cooperlake";
  if (has("avx512f", "avx512bw", "avx512dq", "avx512vl")) return "SkylakeX";
  if (has("avx2", "fma")) return "Haswell";
  if (has("avx")) return "Sandybridge";
  return null;
}

/** The CPU feature flags from `/proc/cpuinfo` (Linux), or an empty set elsewhere. */
export function cpuFlags(): Set<string> {
  if (Deno.build.os !== "linux") return new Set();
  try {
    const text = Deno.readTextFileSync("/proc/cpuinfo");
    const line = text.split("\n").find((l) => l.startsWith("flags"));
    return new Set(line?.split(":")[1]?.trim().split(/\s+/) ?? []);
  } catch {
    return new Set();
  }
}

/**
 * The core type to force, when OpenBLAS reported a generic core, the user has not set
 * `OPENBLAS_CORETYPE`, and the CPU supports a better one; otherwise null.
 */
export function coreOverride(corename: string, flags: ReadonlySet<string>): string | null {
  if (Deno.env.get("OPENBLAS_CORETYPE")) return null;
  if (Deno.build.arch !== "x86_64" || !isGenericCore(corename)) return null;
  return coreTypeForFlags(flags);
}
