import assert from "node:assert/strict";
import { Effect } from "effect";
import { parquetWriteBuffer } from "hyparquet-writer";
import { readLabelledFiles, summariseLabelled } from "../src/eval/labelled.ts";

const row = (prompt: string, response: string, safe: boolean, cat = "theft") => ({
  prompt,
  response,
  is_safe: safe,
  category: { [cat]: !safe, other: false },
});

async function temp(ext: string, data: string | Uint8Array): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: `.${ext}` });
  if (typeof data === "string") await Deno.writeTextFile(path, data);
  else await Deno.writeFile(path, data);
  return path;
}

Deno.test("labelled rows from JSONL, a JSON array and Parquet, in order, with their lines", async () => {
  const a = await temp(
    "jsonl",
    [row("p1", "r1", true), row("p2", "r2", false)].map((r) => JSON.stringify(r)).join("\n\n") +
      "\n",
  );
  const b = await temp("json", JSON.stringify([row("p3", "r3", false, "violence")]));
  const c = await temp(
    "parquet",
    new Uint8Array(parquetWriteBuffer({
      columnData: [
        { name: "prompt", data: ["p4"], type: "STRING" },
        { name: "response", data: ["r4"], type: "STRING" },
        { name: "category", data: [{ theft: true, other: false }], type: "JSON" },
        { name: "is_safe", data: [false], type: "BOOLEAN" },
      ],
    })),
  );
  try {
    const rows = await Effect.runPromise(readLabelledFiles([a, b, c]));
    assert.deepEqual(rows.map((r) => [r.prompt, r.isSafe, r.file, r.line]), [
      ["p1", true, a, 1],
      ["p2", false, a, 3],
      ["p3", false, b, 1],
      ["p4", false, c, 1],
    ]);
    assert.deepEqual(rows[3]!.category, { theft: true, other: false });
    assert.deepEqual(summariseLabelled(rows), { n: 4, harmful: 3, prompts: 4, files: [a, b, c] });
  } finally {
    for (const p of [a, b, c]) await Deno.remove(p);
  }
});

Deno.test("labelled rows: a bad row names file, line, field, expected and found", async () => {
  const bad = await temp(
    "jsonl",
    `${
      JSON.stringify(row("p", "r", true))
    }\n{"prompt": "p", "response": "r", "is_safe": "no", "category": {}}\n`,
  );
  const notJson = await temp("jsonl", "{oops\n");
  const empty = await temp("jsonl", "\n");
  const csv = await temp("csv", "a,b\n");
  try {
    const e = await Effect.runPromise(Effect.flip(readLabelledFiles([bad])));
    assert.equal(e._tag, "DataInvalid");
    assert.match(
      e.message,
      new RegExp(`${bad}:2: field "is_safe" expected .*boolean.*, found string "no"`),
    );
    const j = await Effect.runPromise(Effect.flip(readLabelledFiles([notJson])));
    assert.match(
      j.message,
      new RegExp(`${notJson}:1: expected one JSON value per line, found invalid JSON`),
    );
    const m = await Effect.runPromise(Effect.flip(readLabelledFiles([empty])));
    assert.match(m.message, /expected at least one labelled record, found none/);
    const c = await Effect.runPromise(Effect.flip(readLabelledFiles([csv])));
    assert.match(c.message, /expected a \.jsonl, \.json or \.parquet file/);
    const gone = await Effect.runPromise(Effect.flip(readLabelledFiles(["no/such/file.jsonl"])));
    assert.match(
      gone.message,
      /no\/such\/file\.jsonl: expected an existing file, found no such file/,
    );
  } finally {
    for (const p of [bad, notJson, empty, csv]) await Deno.remove(p);
  }
});
