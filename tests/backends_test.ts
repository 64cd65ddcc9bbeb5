import assert from "node:assert/strict";
import {
  AUTO_PRIORITY,
  BACKEND_NAMES,
  BackendUnavailable,
  initBackend,
  probeAll,
  provider,
  registerProvider,
  tf,
} from "../backends/mod.ts";
import { isSoftwareAdapter } from "../backends/webgpu.ts";

Deno.test("importing mod.ts initialises no backend", async () => {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "--ext=ts",
      `import * as m from "${new URL("../mod.ts", import.meta.url).href}";` +
      `import * as tf from "@tensorflow/tfjs-core";` +
      `console.log(Object.keys(m).length > 0, Object.keys(tf.engine().registry).length);`,
    ],
    cwd: new URL("../", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  });
  const out = new TextDecoder().decode((await cmd.output()).stdout).trim();
  assert.equal(out, "true 0");
});

Deno.test("probeAll reports every backend with a reason", async () => {
  const report = await probeAll();
  assert.deepEqual(report.map((a) => a.name), [...BACKEND_NAMES]);
  for (const a of report) assert.ok(a.reason.length > 0);
  assert.ok(report.find((a) => a.name === "cpu")?.available);
});

Deno.test("auto picks the first auto-eligible backend in priority order", async () => {
  const report = await probeAll();
  const expected = AUTO_PRIORITY.find((n) => report.find((a) => a.name === n)?.autoEligible);
  const info = await initBackend("auto");
  assert.equal(info.name, expected);
  assert.equal(tf.getBackend(), info.tfBackend);
});

Deno.test("an unavailable backend fails with BackendUnavailable listing every backend", async () => {
  const real = provider("native");
  registerProvider({
    name: "native",
    needs: "test",
    probe: () =>
      Promise.resolve({ name: "native", available: false, autoEligible: false, reason: "gone" }),
    init: () => Promise.reject(new Error("gone")),
  });
  try {
    await assert.rejects(initBackend("native"), (e: unknown) => {
      assert.ok(e instanceof BackendUnavailable);
      assert.equal(e.requested, "native");
      assert.equal(e.report.length, BACKEND_NAMES.length);
      assert.match(e.message, /native\s+unavailable\s+gone/);
      return true;
    });
  } finally {
    registerProvider(real);
  }
});

Deno.test("auto skips a backend whose init throws and takes the next", async () => {
  const real = provider("wasm");
  registerProvider({
    ...real,
    probe: () =>
      Promise.resolve({ name: "wasm", available: true, autoEligible: true, reason: "flaky" }),
    init: () => Promise.reject(new Error("boom")),
  });
  try {
    const info = await initBackend("auto");
    assert.notEqual(info.name, "wasm");
  } finally {
    registerProvider(real);
  }
});

Deno.test("software WebGPU adapters are recognised", () => {
  assert.equal(isSoftwareAdapter({ description: "llvmpipe (LLVM 15.0.6, 256 bits)" }), true);
  assert.equal(isSoftwareAdapter({ description: "NVIDIA H100" }), false);
  assert.equal(isSoftwareAdapter({ description: "x" }, true), true);
});
