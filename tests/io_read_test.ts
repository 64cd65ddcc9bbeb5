/**
 * Guarded reads: regular files (and symlinks to them) under a cap load; folders, devices,
 * FIFOs, symlinks to devices, oversized and missing files are refused at once with the reason.
 */
import assert from "node:assert/strict";
import {
  FileInvalid,
  findNonFinite,
  readFileChecked,
  readFileCheckedSync,
  readJsonChecked,
  readSafetensors,
  serializeSafetensors,
} from "../src/io/mod.ts";

const problemOf = async (f: () => Promise<unknown>): Promise<FileInvalid> => {
  try {
    await f();
  } catch (e) {
    assert.ok(e instanceof FileInvalid, `expected FileInvalid, got ${e}`);
    return e;
  }
  throw new Error("expected a FileInvalid");
};

Deno.test("guarded read: regular files and symlinks to them load; the cap is inclusive", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/a.json`, '{"x": 1}');
  await Deno.symlink(`${dir}/a.json`, `${dir}/link.json`);
  assert.deepEqual(await readJsonChecked(`${dir}/a.json`), { x: 1 });
  assert.deepEqual(await readJsonChecked(`${dir}/link.json`), { x: 1 });
  assert.equal((await readFileChecked(`${dir}/a.json`, { maxBytes: 8 })).length, 8);
  assert.equal(readFileCheckedSync(`${dir}/link.json`, { maxBytes: 8 }).length, 8);
  const big = await problemOf(() => readFileChecked(`${dir}/a.json`, { maxBytes: 7 }));
  assert.equal(big.problem, "too_large");
  assert.match(big.message, /a\.json.*at most 7 bytes, found 8 bytes/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("guarded read: a symlink to /dev/zero fails at once, naming the target", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.symlink("/dev/zero", `${dir}/config.json`);
  const t0 = performance.now();
  const e = await problemOf(() => readJsonChecked(`${dir}/config.json`, { what: "model config" }));
  assert.ok(performance.now() - t0 < 1000, "refused before reading");
  assert.equal(e.problem, "not_a_file");
  assert.match(
    e.message,
    /config\.json \(model config\).*symlink to \/dev\/zero.*character device/,
  );
  const sync = (() => {
    try {
      readFileCheckedSync(`${dir}/config.json`, { maxBytes: 100 });
    } catch (err) {
      return err;
    }
  })();
  assert.ok(sync instanceof FileInvalid && sync.problem === "not_a_file");
  const st = await problemOf(() => readSafetensors(`${dir}/config.json`));
  assert.equal(st.problem, "not_a_file");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("guarded read: folders, FIFOs, missing files and bad JSON are named", async () => {
  const dir = await Deno.makeTempDir();
  assert.equal((await problemOf(() => readJsonChecked(dir))).problem, "not_a_file");
  assert.match((await problemOf(() => readJsonChecked(dir))).message, /a folder/);
  const missing = await problemOf(() => readJsonChecked(`${dir}/nope.json`));
  assert.equal(missing.problem, "missing");
  await Deno.writeTextFile(`${dir}/bad.json`, "{ nope");
  assert.equal((await problemOf(() => readJsonChecked(`${dir}/bad.json`))).problem, "not_json");
  const mkfifo = await new Deno.Command("mkfifo", { args: [`${dir}/pipe`] }).output()
    .catch(() => null);
  if (mkfifo?.success) {
    // Opening a FIFO for reading would block until a writer appears: it must not be opened.
    const e = await problemOf(() => readJsonChecked(`${dir}/pipe`));
    assert.equal(e.problem, "not_a_file");
    assert.match(e.message, /FIFO/);
  } else {
    console.warn("mkfifo unavailable: FIFO case not run");
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("guarded read: a safetensors file over its cap is refused before parsing", async () => {
  const dir = await Deno.makeTempDir();
  const bytes = serializeSafetensors({ w: { shape: [64], data: new Float32Array(64) } });
  await Deno.writeFile(`${dir}/m.safetensors`, bytes);
  assert.equal((await readSafetensors(`${dir}/m.safetensors`)).tensors.get("w")!.data.length, 64);
  const e = await problemOf(() => readSafetensors(`${dir}/m.safetensors`, { maxBytes: 100 }));
  assert.equal(e.problem, "too_large");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("findNonFinite counts NaN and infinities and reports the first", () => {
  assert.equal(findNonFinite(new Float32Array([0, -1, 3e38])), null);
  assert.deepEqual(findNonFinite(new Float32Array([1, NaN, 2, Infinity, -Infinity])), {
    count: 3,
    first: 1,
    firstValue: NaN,
  });
});

Deno.test("data files: a symlink to /dev/zero is refused before streaming starts", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.symlink("/dev/zero", `${dir}/train.jsonl`);
  const { loadAll } = await import("../src/data/mod.ts");
  const { Effect } = await import("effect");
  const e = await Effect.runPromise(Effect.flip(loadAll(`${dir}/train.jsonl`, {})));
  assert.equal(e._tag, "DataInvalid");
  assert.match(e.message, /train\.jsonl.*symlink to \/dev\/zero.*character device/);
  await Deno.remove(dir, { recursive: true });
});
