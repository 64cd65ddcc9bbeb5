import assert from "node:assert/strict";

import { cli as run } from "./_cli.ts";

const cli = (...args: string[]) => run(args);

Deno.test("--help lists the commands and every documented option", async () => {
  const r = await cli("--help");
  assert.equal(r.code, 0);
  for (const s of ["align", "finetune", "eval", "--method.rho", "--method.alignmentSteps"]) {
    assert.ok(r.out.includes(s), `help lacks ${s}`);
  }
});

Deno.test("--print-config prints the resolved config as JSON", async () => {
  const r = await cli("--backend", "cpu", "--method.rho=0.25", "--print-config");
  assert.equal(r.code, 0, r.err);
  const cfg = JSON.parse(r.out);
  assert.equal(cfg.method.rho, 0.25);
  assert.equal(cfg.backend, "cpu");
  assert.match(r.err, /backend: cpu/);
});

Deno.test("an unavailable backend exits 2 and explains every backend", async () => {
  const r = await cli("--backend", "tensorflow", "--print-config");
  assert.equal(r.code, 2);
  assert.match(r.err, /backend 'tensorflow' is unavailable/);
  for (const name of ["native", "tensorflow", "webgpu", "wasm", "cpu"]) {
    assert.match(r.err, new RegExp(`^\\s+${name}\\s+(available|unavailable)`, "m"));
  }
  assert.ok(!/\n\s+at /.test(r.err), "no stack trace");
});

Deno.test("a bad flag exits 2 with the field path and no stack trace", async () => {
  const r = await cli("--method.rho=-3", "--print-config");
  assert.equal(r.code, 2);
  assert.match(r.err, /method\.rho/);
  assert.ok(!/\n\s+at /.test(r.err), "no stack trace");
});
