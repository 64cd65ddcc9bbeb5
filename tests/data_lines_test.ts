/**
 * The line reader and invalid UTF-8: lines split on bytes (BOM, CRLF, no final newline, lines
 * longer than a read chunk), each invalid sequence counted with its first line (never a
 * silent U+FFFD), and `strictUtf8` failing with the file, line and byte named, for JSONL, JSON
 * arrays, CSV/TSV and Parquet. (Speed is measured in `bench/reader_bench.ts`, not here.)
 */
import assert from "node:assert/strict";
import { parquetWriteBuffer } from "hyparquet-writer";
import {
  DataInvalid,
  decodeUtf8,
  firstInvalidUtf8,
  loadAllPromise,
  readLines,
} from "../src/data/mod.ts";
import { readDelimited, readJsonArray } from "../src/data/text_io.ts";

const dir = await Deno.makeTempDir({ prefix: "lisa-lines-" });
let counter = 0;
async function file(ext: string, ...parts: Array<string | Uint8Array>): Promise<string> {
  const enc = new TextEncoder();
  const bytes = parts.map((p) => (typeof p === "string" ? enc.encode(p) : p));
  const out = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0));
  let off = 0;
  for (const b of bytes) {
    out.set(b, off);
    off += b.length;
  }
  const p = `${dir}/f${counter++}.${ext}`;
  await Deno.writeFile(p, out);
  return p;
}

async function lines(path: string): Promise<Array<[number, string]>> {
  const out: Array<[number, string]> = [];
  for await (const l of readLines(path)) out.push([l.line, l.text]);
  return out;
}

const bytes = (...xs: number[]) => new Uint8Array(xs);

Deno.test("lines: BOM, CRLF, blank lines, no final newline, empty file", async () => {
  assert.deepEqual(await lines(await file("txt", "\ufeffa\r\n\r\nb\nc")), [
    [1, "a"],
    [2, ""],
    [3, "b"],
    [4, "c"],
  ]);
  assert.deepEqual(await lines(await file("txt", "x\n")), [[1, "x"]]);
  assert.deepEqual(await lines(await file("txt", "")), []);
  // A BOM only on the first line is dropped; one later is text.
  assert.deepEqual(await lines(await file("txt", "a\n\ufeffb")), [[1, "a"], [2, "\ufeffb"]]);
});

Deno.test("lines: a line longer than several read chunks comes back whole", async () => {
  const long = "é".repeat(1_500_000); // 3 MB of two-byte characters: chunk edges split them
  const got = await lines(await file("txt", "a\n", long, "\nb\n"));
  assert.equal(got.length, 3);
  assert.equal(got[1]![1].length, long.length);
  assert.equal(got[1]![1], long);
  assert.deepEqual(got[2], [3, "b"]);
});

Deno.test("UTF-8: the validator finds the first invalid byte (RFC 3629)", () => {
  const enc = new TextEncoder();
  assert.equal(firstInvalidUtf8(enc.encode("plain é € 𝄞")), -1);
  assert.equal(firstInvalidUtf8(bytes(0x61, 0xff)), 1);
  assert.equal(firstInvalidUtf8(bytes(0xc0, 0x80)), 0); // overlong NUL
  assert.equal(firstInvalidUtf8(bytes(0x61, 0xed, 0xa0, 0x80)), 1); // a surrogate
  assert.equal(firstInvalidUtf8(bytes(0xf4, 0x90, 0x80, 0x80)), 0); // above U+10FFFF
  assert.equal(firstInvalidUtf8(bytes(0x61, 0x62, 0xe2, 0x82)), 2); // truncated €
  // A literal U+FFFD in the file is valid text, not an invalid sequence.
  assert.deepEqual(decodeUtf8(enc.encode("a\ufffdb")), { text: "a\ufffdb", invalid: 0, at: -1 });
  const d = decodeUtf8(bytes(0xef, 0xbf, 0xbd, 0xff, 0x61, 0xc3));
  assert.deepEqual([d.text, d.invalid, d.at], ["\ufffd\ufffda\ufffd", 2, 3]);
});

const sst = (sentence: string) => JSON.stringify({ sentence, label: 1 });

Deno.test("UTF-8: JSONL counts each invalid sequence and its first line", async () => {
  const p = await file(
    "jsonl",
    `${sst("clean \ufffd literal")}\n`,
    '{"sentence": "bad ',
    bytes(0xff),
    " and ",
    bytes(0xe2, 0x82),
    '", "label": 0}\n',
    `${sst("ok")}\n`,
    '{"sentence": "',
    bytes(0xc0, 0x80),
    '", "label": 1}\n',
  );
  const r = await loadAllPromise(p);
  assert.equal(r.examples.length, 4, "every row still loads");
  assert.deepEqual(r.invalidUtf8, { sequences: 4, lines: 2, firstLine: 2 });
  const clean = await loadAllPromise(await file("jsonl", `${sst("é \ufffd")}\n`));
  assert.deepEqual(clean.invalidUtf8, { sequences: 0, lines: 0, firstLine: 0 });
});

async function strictFails(path: string): Promise<DataInvalid> {
  const e = await loadAllPromise(path, { strictUtf8: true }).then(() => null, (x: unknown) => x);
  assert.ok(e instanceof DataInvalid, `expected DataInvalid, got ${String(e)}`);
  assert.equal(e.file, path);
  assert.match(e.message, /valid UTF-8/);
  return e;
}

Deno.test("UTF-8 strict: every container fails naming the file, line and byte", async () => {
  const jsonl = await file(
    "jsonl",
    `${sst("a")}\n${sst("b")}\n`,
    '{"sentence": "x',
    bytes(0xff),
    '", "label": 0}',
  );
  const e1 = await strictFails(jsonl);
  assert.equal(e1.line, 3);
  assert.match(e1.message, /:3: expected valid UTF-8.*byte sequence ff at byte 16 of the line/);

  const json = await file(
    "json",
    "[\n",
    sst("a"),
    ",\n",
    '{"sentence": "',
    bytes(0xfe),
    '", "label": 0}]',
  );
  assert.equal((await strictFails(json)).line, 3);
  // Without strict mode the JSON array still loads, counted.
  const lenient = await loadAllPromise(json);
  assert.equal(lenient.examples.length, 2);
  assert.equal(lenient.invalidUtf8.sequences, 1);
  assert.equal(lenient.invalidUtf8.firstLine, 3);

  const tsv = await file("tsv", "sentence\tlabel\ngood\t1\n", "ba", bytes(0xc3), "d\t0\n");
  assert.equal((await strictFails(tsv)).line, 3);
  const tsvLenient = await loadAllPromise(tsv);
  assert.deepEqual(tsvLenient.examples.map((e) => e.input), ["good", "ba\ufffdd"]);
  assert.deepEqual(tsvLenient.invalidUtf8, { sequences: 1, lines: 1, firstLine: 3 });

  const csv = await file("csv", '1,"t",', bytes(0x80), "\n");
  assert.equal((await strictFails(csv)).line, 1);

  const pq = parquetWriteBuffer({
    columnData: [
      { name: "sentence", data: [bytes(0x61), bytes(0x62, 0xff, 0x63)], type: "BYTE_ARRAY" },
      { name: "label", data: [1, 0], type: "INT32" },
    ],
  });
  const parquet = await file("parquet", new Uint8Array(pq));
  const e5 = await strictFails(parquet);
  assert.equal(e5.line, 2);
  assert.match(e5.message, /column "sentence"/);
  const pl = await loadAllPromise(parquet, { format: "sst2" });
  assert.deepEqual(pl.examples.map((e) => e.input), ["a", "b\ufffdc"]);
  assert.deepEqual(pl.invalidUtf8, { sequences: 1, lines: 1, firstLine: 2 });
});

Deno.test("readers: a quoted CSV field and a JSON element spanning lines and chunks", async () => {
  const big = "q".repeat(2_500_000);
  const csv = await file("csv", `1,"a ""quoted"" ${big}\nsecond line",tail\n2,plain,x\n`);
  const recs = [];
  for await (const r of readDelimited(csv, ",", true)) recs.push(r);
  assert.equal(recs.length, 2);
  assert.equal(recs[0]!.fields[1], `a "quoted" ${big}\nsecond line`);
  assert.deepEqual(recs[1], { fields: ["2", "plain", "x"], line: 3 });
  const json = await file("json", `[{"k": "${big}\\" ]"},\n 7, "s",\n{"n": [1, {"m": 2}]}]`);
  const els = [];
  for await (const el of readJsonArray(json)) els.push(el);
  assert.deepEqual(els.map((e) => [e.row, e.line]), [[1, 1], [2, 2], [3, 2], [4, 3]]);
  assert.deepEqual(JSON.parse(els[0]!.text), { k: `${big}" ]` });
  assert.deepEqual(els.slice(1).map((e) => JSON.parse(e.text)), [7, "s", { n: [1, { m: 2 }] }]);
});

Deno.test("cleanup", async () => {
  await Deno.remove(dir, { recursive: true });
});
