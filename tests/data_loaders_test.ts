/**
 * Loader edge cases on temp files: each malformed input gets its specific error (file, line,
 * field, expected, found); empty files, BOM, CRLF and trailing blank lines are handled;
 * `skipInvalid` skips and counts; JSON arrays stream; Parquet loads; formats are inferred.
 */
import assert from "node:assert/strict";
import { Effect, Exit, Stream } from "effect";
import { parquetWriteBuffer } from "hyparquet-writer";
import {
  CATEGORY_KEYS,
  DataInvalid,
  loadAll,
  loadAllPromise,
  loadExamples,
} from "../src/data/mod.ts";
import type { LoadAllOptions } from "../src/data/mod.ts";

const dir = await Deno.makeTempDir({ prefix: "lisa-data-" });
let counter = 0;
async function file(ext: string, text: string | Uint8Array): Promise<string> {
  const p = `${dir}/f${counter++}.${ext}`;
  if (typeof text === "string") await Deno.writeTextFile(p, text);
  else await Deno.writeFile(p, text);
  return p;
}

/** Load and expect a DataInvalid; return it. */
async function fails(path: string, options: LoadAllOptions = {}): Promise<DataInvalid> {
  const exit = await Effect.runPromiseExit(loadAll(path, options));
  assert.ok(Exit.isFailure(exit), "expected the load to fail");
  const err = await loadAllPromise(path, options).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof DataInvalid, `expected DataInvalid, got ${String(err)}`);
  assert.equal(err.file, path);
  return err;
}

const cats = Object.fromEntries(CATEGORY_KEYS.map((k) => [k, false]));
const bt = (o: Record<string, unknown> = {}) =>
  JSON.stringify({ prompt: "p", response: "r", category: cats, is_safe: false, ...o });

Deno.test("empty files, BOM, CRLF and trailing blank lines", async () => {
  for (const ext of ["jsonl", "json", "tsv", "csv"]) {
    const r = await loadAllPromise(await file(ext, ""), {
      format: ext === "csv" ? "agnews" : "sst2",
    });
    assert.equal(r.examples.length, 0, ext);
  }
  const tsv = await file(
    "tsv",
    "\ufeffsentence\tlabel\r\ngood film \t1\r\nbad film \t0\r\n\r\n\r\n",
  );
  const r = await loadAllPromise(tsv);
  assert.deepEqual(r.examples.map((e) => [e.input, e.label, e.provenance.row]), [
    ["good film ", "positive", 2],
    ["bad film ", "negative", 3],
  ]);
  const jsonl = await file("jsonl", `\ufeff${bt()}\r\n\r\n${bt({ is_safe: true })}\n\n`);
  const j = await loadAllPromise(jsonl);
  assert.deepEqual(j.examples.map((e) => [e.provenance.kind, e.provenance.row]), [["harmful", 1], [
    "alignment",
    3,
  ]]);
});

Deno.test("AG News CSV: quotes, doubled quotes, backslashes kept, multi-line field, header skipped", async () => {
  const csv = await file(
    "csv",
    'Class Index,Title,Description\n"3","Oil \\$50","Prices ""soar""\\\\again"\n"4","A","line one\nline two"\n',
  );
  const r = await loadAllPromise(csv);
  assert.equal(r.examples.length, 2);
  assert.equal(r.examples[0]?.input, 'Oil \\$50 Prices "soar"\\\\again');
  assert.equal(r.examples[0]?.label, "Business");
  assert.equal(r.examples[1]?.input, "A line one\nline two");
  assert.equal(r.examples[1]?.provenance.row, 3);
});

Deno.test("malformed inputs each get their specific error", async () => {
  // JSONL: broken JSON on line 2.
  let e = await fails(await file("jsonl", `${bt()}\n{"prompt": \n`));
  assert.equal(e.line, 2);
  assert.match(e.found, /invalid JSON/);
  // BeaverTails: wrong type in a field.
  e = await fails(await file("jsonl", `${bt()}\n${bt()}\n${bt({ is_safe: "no" })}\n`));
  assert.deepEqual([e.line, e.field, e.expected], [3, "is_safe", "boolean"]);
  assert.match(e.found, /string "no"/);
  // BeaverTails: a missing category key.
  const fewer = { ...cats } as Record<string, boolean>;
  delete fewer["self_harm"];
  e = await fails(await file("jsonl", bt({ category: fewer })));
  assert.deepEqual([e.line, e.field], [1, "category.self_harm"]);
  assert.match(e.expected, /14 BeaverTails category keys/);
  // Missing field.
  e = await fails(
    await file("jsonl", JSON.stringify({ prompt: "p", category: cats, is_safe: true })),
    {
      format: "beavertails",
    },
  );
  assert.deepEqual([e.field, e.found], ["response", "nothing (field missing)"]);
  // SST-2: bad label, and a row with too many columns.
  e = await fails(await file("tsv", "sentence\tlabel\nok \t1\nmeh \t2\n"));
  assert.deepEqual([e.line, e.field], [3, "label"]);
  assert.match(e.found, /"2"/);
  e = await fails(await file("tsv", "sentence\tlabel\na\tb\tc\n"));
  assert.equal(e.line, 2);
  assert.match(e.expected, /2 tab-separated columns/);
  assert.equal(e.found, "3 columns");
  // AG News: class out of range, unterminated quote.
  e = await fails(await file("csv", '"1","t","d"\n"5","t","d"\n'));
  assert.deepEqual([e.line, e.field], [2, "class"]);
  e = await fails(await file("csv", '"1","t","d\n'));
  assert.match(e.expected, /closing quote/);
  // GSM8K: no "####" in the answer.
  e = await fails(await file("jsonl", JSON.stringify({ question: "q", answer: "it is 4" })));
  assert.deepEqual([e.field, e.expected], ["answer", 'a solution ending with "#### <number>"']);
  // Alpaca JSON array: not an array; a bad element on line 3; unterminated array.
  e = await fails(await file("json", '{"instruction": "x"}'), { format: "alpaca" });
  assert.match(e.expected, /JSON array/);
  e = await fails(
    await file(
      "json",
      '[\n{"instruction": "a", "output": "b"},\n{"instruction": 5, "output": "b"}\n]',
    ),
  );
  assert.deepEqual([e.line, e.field, e.expected], [3, "instruction", "string"]);
  e = await fails(await file("json", '[{"instruction": "a", "output": "b"},'), {
    format: "alpaca",
  });
  assert.match(e.found, /end of file/);
  // Unknown format, unknown extension, missing file.
  e = await fails(await file("jsonl", JSON.stringify({ foo: 1 })));
  assert.match(e.found, /keys \[foo\]/);
  e = await fails(await file("txt", "x"));
  assert.match(e.expected, /extension/);
  e = await fails(`${dir}/absent.jsonl`);
  assert.equal(e.found, "no such file");
  // The message carries all parts.
  assert.match(String(e.message), /absent\.jsonl: expected an existing file, found no such file/);
});

Deno.test("skipInvalid skips and counts; the stream fails without it", async () => {
  const p = await file("jsonl", [bt(), "not json", bt({ prompt: 3 }), bt(), ""].join("\n"));
  const seen: number[] = [];
  const r = await loadAllPromise(p, { skipInvalid: true, onSkip: (e) => seen.push(e.line) });
  assert.equal(r.examples.length, 2);
  assert.equal(r.skipped, 2);
  assert.deepEqual(seen, [2, 3]);
  assert.equal(r.firstSkipped?.line, 2);
  const exit = await Effect.runPromiseExit(Stream.runCollect(loadExamples(p)));
  assert.ok(Exit.isFailure(exit));
});

Deno.test("JSON arrays stream element by element (nested, escapes, scalars rejected per element)", async () => {
  const items = [
    { instruction: 'a "quoted" [bracket] {brace}', input: "", output: "x\\y" },
    { instruction: "b", output: "c" },
  ];
  const p = await file("json", JSON.stringify(items, null, 2));
  const r = await loadAllPromise(p);
  assert.deepEqual(r.examples.map((e) => [e.instruction, e.input, e.output]), [
    [items[0]?.instruction, "", "x\\y"],
    ["b", "", "c"],
  ]);
  assert.equal(r.examples[0]?.provenance.kind, "task");
  const q = await file("json", '[{"instruction": "a", "output": "b"}, 42, "s"]');
  const s = await loadAllPromise(q, { format: "alpaca", skipInvalid: true });
  assert.equal(s.examples.length, 1);
  assert.equal(s.skipped, 2);
});

Deno.test("Parquet (Hugging Face columns): SST-2 and AG News, bigint labels, chunked reads", async () => {
  const sst = parquetWriteBuffer({
    columnData: [
      { name: "sentence", data: ["fine ", "poor ", "great "], type: "STRING" },
      { name: "label", data: [1n, 0n, 1n], type: "INT64" },
    ],
  });
  const r = await loadAllPromise(await file("parquet", new Uint8Array(sst)), { parquetChunk: 2 });
  assert.deepEqual(r.examples.map((e) => [e.label, e.provenance.row]), [["positive", 1], [
    "negative",
    2,
  ], [
    "positive",
    3,
  ]]);
  const ag = parquetWriteBuffer({
    columnData: [
      { name: "text", data: ["t1", "t2"], type: "STRING" },
      { name: "label", data: [3, 0], type: "INT32" },
    ],
  });
  const a = await loadAllPromise(await file("parquet", new Uint8Array(ag)));
  assert.deepEqual(a.examples.map((e) => e.label), ["Sci/Tech", "World"]);
  const bad = parquetWriteBuffer({
    columnData: [
      { name: "sentence", data: ["x"], type: "STRING" },
      { name: "label", data: [7], type: "INT32" },
    ],
  });
  const e = await fails(await file("parquet", new Uint8Array(bad)));
  assert.deepEqual([e.line, e.field], [1, "label"]);
});

Deno.test("HF-style JSONL columns and explicit kind override", async () => {
  const p = await file("jsonl", JSON.stringify({ text: "markets", label: 2 }));
  const r = await loadAllPromise(p, { kind: "alignment" });
  assert.equal(r.examples[0]?.label, "Business");
  assert.equal(r.examples[0]?.provenance.kind, "alignment");
});
