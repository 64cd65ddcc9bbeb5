/**
 * The native backend's BLAS lookup: the documented search order, the `LISA_BLAS_LIB` override,
 * the message when no library opens, and the OpenBLAS core-type choice.
 */
import assert from "node:assert/strict";
import { initBackend, probeAll } from "../backends/mod.ts";
import { nativeProvider } from "../backends/native.ts";
import {
  blasCandidates,
  blasInstallHint,
  defaultBlasCandidates,
  openBlas,
} from "../backends/native/blas.ts";
import { coreTypeForFlags, isGenericCore } from "../backends/native/openblas_core.ts";
import { requires } from "./_helpers.ts";

/** Run `fn` with `LISA_BLAS_LIB` set to `value`, then restore it and the cached lookup. */
async function withBlasLib(value: string, fn: () => Promise<void> | void): Promise<void> {
  const before = Deno.env.get("LISA_BLAS_LIB");
  Deno.env.set("LISA_BLAS_LIB", value);
  try {
    openBlas(true);
    await fn();
  } finally {
    if (before === undefined) Deno.env.delete("LISA_BLAS_LIB");
    else Deno.env.set("LISA_BLAS_LIB", before);
    openBlas(true);
  }
}

Deno.test("native probe: the search order per operating system is the documented one", () => {
  assert.deepEqual(defaultBlasCandidates("linux"), [
    "libopenblas.so.0",
    "libopenblas.so",
    "libblas.so.3",
    "libcblas.so",
  ]);
  assert.match(defaultBlasCandidates("darwin")[0]!, /Accelerate\.framework/);
  assert.deepEqual(defaultBlasCandidates("windows"), ["openblas.dll", "libopenblas.dll"]);
  assert.match(blasInstallHint("linux"), /apt-get install libopenblas0-pthread/);
});

Deno.test("native probe: a missing LISA_BLAS_LIB makes native unavailable, saying what to do", async () => {
  await withBlasLib("/nonexistent/libblas-missing.so", async () => {
    assert.deepEqual(blasCandidates(), ["/nonexistent/libblas-missing.so"]);
    const lookup = openBlas();
    assert.equal(lookup.ok, false);
    const probe = await nativeProvider.probe();
    assert.equal(probe.available, false);
    assert.equal(probe.autoEligible, false);
    assert.match(probe.reason, /\/nonexistent\/libblas-missing\.so/);
    assert.match(probe.reason, /LISA_BLAS_LIB/);
    assert.match(probe.reason, /apt-get install libopenblas0-pthread/);
    await assert.rejects(() => nativeProvider.init(), /apt-get install libopenblas0-pthread/);
  });
});

const blasHere = openBlas();

Deno.test({
  ...requires(
    "native probe: with a BLAS on the machine it is available and auto-eligible",
    blasHere.ok ? null : "no BLAS library opens here",
  ),
  fn: async () => {
    const lookup = openBlas();
    assert.ok(lookup.ok);
    const probe = await nativeProvider.probe();
    assert.equal(probe.available, true);
    assert.equal(probe.autoEligible, true);
    assert.match(probe.reason, new RegExp(lookup.library.path.replace(/[.]/g, "\\.")));
  },
});

Deno.test("openblas core: generic fallbacks are replaced by what the CPU flags support", () => {
  assert.equal(isGenericCore("Prescott"), true);
  assert.equal(isGenericCore("SkylakeX"), false);
  const flags = (s: string) => new Set(s.split(" "));
  assert.equal(
    coreTypeForFlags(flags("sse3 avx avx2 fma avx512f avx512bw avx512dq avx512vl avx512_bf16")),
    "Cooperlake",
  );
  assert.equal(
    coreTypeForFlags(flags("avx avx2 fma avx512f avx512bw avx512dq avx512vl")),
    "SkylakeX",
  );
  assert.equal(coreTypeForFlags(flags("sse3 avx avx2 fma")), "Haswell");
  assert.equal(coreTypeForFlags(flags("sse3 ssse3")), null);
});

const report = await probeAll();
const eligible = (n: string) => report.find((a) => a.name === n)?.autoEligible === true;

Deno.test({
  ...requires(
    "native probe: `auto` picks native when no faster backend is eligible",
    eligible("native") && !eligible("tensorflow") && !eligible("webgpu")
      ? null
      : "native is not auto-eligible here, or a faster backend is",
  ),
  fn: async () => {
    const info = await initBackend("auto");
    assert.equal(info.name, "native");
    assert.equal(info.tfBackend, "native");
    assert.equal(typeof info.details["blas"], "string");
  },
});
