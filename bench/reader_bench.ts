/**
 * The data line reader on one very long line: `readLines` against reading the whole file and
 * decoding it at once (the floor any reader pays), and against the previous reader (decoded
 * chunks appended to a carry string searched from its start), at doubling sizes, all in one
 * run so the ratios share the machine's load. A linear reader keeps its ratio to the floor
 * flat as the line grows; a quadratic one's time grows about 4x per doubling.
 *
 * `deno run -A bench/reader_bench.ts [--sizes=4,8,16] [--big=50]` writes
 * `bench/results/reader.json` and `bench/results/reader.md`.
 *
 * @module
 */
import { readLines } from "../src/data/mod.ts";
import { benchFlags } from "./_flags.ts";

const MiB = 2 ** 20;
const flags = benchFlags("reader_bench", { values: ["sizes", "big"], switches: [] });

/** The reader this project used before: quadratic in the length of one line. */
async function* previousReader(path: string): AsyncGenerator<string> {
  using file = await Deno.open(path, { read: true });
  const reader = file.readable.pipeThrough(new TextDecoderStream("utf-8")).getReader();
  let carry = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) break;
    carry += value;
    let start = 0;
    let nl: number;
    while ((nl = carry.indexOf("\n", start)) >= 0) {
      yield carry.slice(start, nl);
      start = nl + 1;
    }
    carry = carry.slice(start);
  }
  if (carry.length > 0) yield carry;
}

async function time(f: () => Promise<number>): Promise<{ seconds: number; chars: number }> {
  const t0 = performance.now();
  const chars = await f();
  return { seconds: (performance.now() - t0) / 1000, chars };
}

const floor = (path: string) =>
  time(async () =>
    new TextDecoder("utf-8", { fatal: true }).decode(await Deno.readFile(path)).length
  );
const current = (path: string) =>
  time(async () => {
    let n = 0;
    for await (const l of readLines(path)) n += l.text.length;
    return n;
  });
const previous = (path: string) =>
  time(async () => {
    let n = 0;
    for await (const l of previousReader(path)) n += l.length;
    return n;
  });

async function lineFile(mib: number): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".jsonl" });
  const body = "a".repeat(mib * MiB - 32);
  await Deno.writeTextFile(path, JSON.stringify({ sentence: body, label: 1 }) + "\n");
  return path;
}

const sizes = (flags.get("sizes") ?? "4,8,16").split(",").map(Number);
const big = Number(flags.get("big") ?? "50");
interface Row {
  readonly mib: number;
  readonly floorSeconds: number;
  readonly currentSeconds: number;
  readonly previousSeconds: number | null;
  readonly currentOverFloor: number;
  readonly previousOverFloor: number | null;
}
const rows: Row[] = [];
for (const mib of [...sizes, big]) {
  const path = await lineFile(mib);
  const f = await floor(path);
  const c = await current(path);
  const p = mib === big ? null : await previous(path);
  if (c.chars !== f.chars - 1 || (p && p.chars !== c.chars)) {
    throw new Error(`readers disagree at ${mib} MiB: ${f.chars - 1} / ${c.chars} / ${p?.chars}`);
  }
  rows.push({
    mib,
    floorSeconds: f.seconds,
    currentSeconds: c.seconds,
    previousSeconds: p?.seconds ?? null,
    currentOverFloor: c.seconds / f.seconds,
    previousOverFloor: p ? p.seconds / f.seconds : null,
  });
  await Deno.remove(path);
  console.log(JSON.stringify(rows.at(-1)));
}

const fmt = (x: number | null, d = 2) => (x === null ? "-" : x.toFixed(d));
const md = [
  "# Line reader on one long line",
  "",
  `Written by \`deno run -A bench/reader_bench.ts\` on ${new Date().toISOString()}; every figure`,
  "comes from this one run. `floor`: read the whole file and decode it at once; `readLines`:",
  "the data loaders' reader; `previous`: the reader it replaced (chunks appended to a carry",
  "string searched from its start).",
  "",
  "| line (MiB) | floor s | readLines s | readLines / floor | previous s | previous / floor |",
  "| ---------: | ------: | ----------: | ----------------: | ---------: | ---------------: |",
  ...rows.map((r) =>
    `| ${r.mib} | ${fmt(r.floorSeconds)} | ${fmt(r.currentSeconds)} | ` +
    `${fmt(r.currentOverFloor, 1)} | ${fmt(r.previousSeconds)} | ${fmt(r.previousOverFloor, 1)} |`
  ),
  "",
].join("\n");
await Deno.mkdir("bench/results", { recursive: true });
await Deno.writeTextFile("bench/results/reader.json", JSON.stringify({ rows }, null, 2) + "\n");
await Deno.writeTextFile("bench/results/reader.md", md);
// Keep the table aligned as `deno fmt --check` (part of `deno task ok`) expects.
await new Deno.Command(Deno.execPath(), { args: ["fmt", "-q", "bench/results/reader.md"] })
  .output();
console.log(md);
