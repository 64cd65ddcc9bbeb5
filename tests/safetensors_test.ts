import assert from "node:assert/strict";
import {
  parseSafetensors,
  readSafetensors,
  SafetensorsInvalid,
  serializeSafetensors,
  writeSafetensors,
} from "../src/io/mod.ts";

/** Build a file from a raw header object and a data section. */
function rawFile(header: unknown, data: Uint8Array, claimedLen?: number): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(claimedLen ?? h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function problemOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof SafetensorsInvalid, `expected SafetensorsInvalid, got ${e}`);
    return e.problem;
  }
  throw new Error("expected an error");
}

Deno.test("safetensors: write then read is bit-exact, keys sorted, data 8-aligned", async () => {
  const a = new Float32Array([1.5, -2, 3.25e-8, 3.4e38]);
  const b = new Float32Array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
  const bytes = serializeSafetensors(
    { "z.weight": { shape: [4], data: a }, "a.weight": { shape: [2, 3], data: b } },
    { format: "pt" },
  );
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + headerLen) % 8, 0);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  assert.deepEqual(Object.keys(header), ["__metadata__", "a.weight", "z.weight"]);
  const st = parseSafetensors(bytes);
  assert.deepEqual(st.metadata, { format: "pt" });
  assert.deepEqual([...st.tensors.get("a.weight")!.data], [...b]);
  assert.deepEqual(st.tensors.get("a.weight")!.shape, [2, 3]);
  assert.deepEqual([...st.tensors.get("z.weight")!.data], [...a]);
  const dir = await Deno.makeTempDir();
  await writeSafetensors(`${dir}/m.safetensors`, {
    x: { shape: [1], data: new Float32Array([7]) },
  });
  assert.deepEqual([...(await readSafetensors(`${dir}/m.safetensors`)).tensors.get("x")!.data], [
    7,
  ]);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["m.safetensors"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("safetensors: F16 and BF16 are read as float32", () => {
  // F16: 1.0 = 0x3c00, -2.0 = 0xc000, 0.5 = 0x3800; BF16: 1.0 = 0x3f80, -3.0 = 0xc040
  const f16 = new Uint16Array([0x3c00, 0xc000, 0x3800, 0x0001]);
  const bf16 = new Uint16Array([0x3f80, 0xc040]);
  const data = new Uint8Array(12);
  data.set(new Uint8Array(f16.buffer), 0);
  data.set(new Uint8Array(bf16.buffer), 8);
  const st = parseSafetensors(rawFile({
    h: { dtype: "F16", shape: [2, 2], data_offsets: [0, 8] },
    b: { dtype: "BF16", shape: [2], data_offsets: [8, 12] },
  }, data));
  assert.deepEqual([...st.tensors.get("h")!.data].slice(0, 3), [1, -2, 0.5]);
  assert.equal(st.tensors.get("h")!.data[3], Math.fround(2 ** -24));
  assert.deepEqual([...st.tensors.get("b")!.data], [1, -3]);
});

Deno.test("safetensors: each malformed file gives its specific error", () => {
  const good = serializeSafetensors({ w: { shape: [2, 2], data: new Float32Array(4) } });
  assert.equal(problemOf(() => parseSafetensors(good.subarray(0, 5))), "truncated");
  assert.equal(
    problemOf(() => parseSafetensors(good.subarray(0, good.length - 4))),
    "offsets_out_of_range",
  );
  assert.equal(
    problemOf(() => parseSafetensors(rawFile({}, new Uint8Array(0), 10_000))),
    "header_too_long",
  );
  assert.equal(
    problemOf(() => parseSafetensors(rawFile({}, new Uint8Array(0), 2 ** 40))),
    "header_too_long",
  );
  const data = new Uint8Array(16);
  assert.equal(
    problemOf(() =>
      parseSafetensors(rawFile({ w: { dtype: "F32", shape: [4], data_offsets: [4, 20] } }, data))
    ),
    "offsets_out_of_range",
  );
  assert.equal(
    problemOf(() =>
      parseSafetensors(rawFile({
        a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
        b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
      }, data))
    ),
    "overlapping",
  );
  assert.equal(
    problemOf(() =>
      parseSafetensors(rawFile({ w: { dtype: "F16", shape: [4], data_offsets: [0, 16] } }, data))
    ),
    "dtype_mismatch",
  );
  assert.equal(
    problemOf(() =>
      parseSafetensors(rawFile({ w: { dtype: "I64", shape: [2], data_offsets: [0, 16] } }, data))
    ),
    "unsupported_dtype",
  );
  const notJson = rawFile({}, new Uint8Array(0));
  notJson[8] = 0x7b + 1; // corrupt the opening brace
  assert.equal(problemOf(() => parseSafetensors(notJson)), "header_not_json");
  // The message names the tensor and the numbers.
  try {
    parseSafetensors(
      rawFile({ w: { dtype: "F16", shape: [4], data_offsets: [0, 16] } }, data),
      "f",
    );
  } catch (e) {
    assert.match((e as Error).message, /f, tensor 'w': dtype_mismatch.*expected 8 bytes, found 16/);
  }
});
