/**
 * `deno task merge-sweeps`: one report from several finished sweep folders (seeds run in
 * separate processes, or cells that are no single grid), read from their recorded metrics;
 * nothing is trained or evaluated. Writes `report.json`, `report.md`, `report.html` and
 * `summary.json` (each row's mean ± std, pooled 95% intervals, seconds and per-seed figures).
 *
 * ```sh
 * deno task merge-sweeps --out runs/methods --sweeps runs/methods-a,runs/methods-b
 * ```
 *
 * @module
 */
import { Data, Effect } from "effect";
import { basename } from "node:path";
import { attemptIO, type IOFailed, writeFileAtomic } from "../io/mod.ts";
import { COMPOSITION_NOTE } from "../pipeline/report.ts";
import { collectSweeps, type SweepsNotMergeable } from "../pipeline/collect.ts";
import { type ReportWriteFailed, seedSummary, writeReport } from "../report/mod.ts";
import { printError } from "./exit.ts";
import { parseToolFlags } from "./parser.ts";

/** The files this command writes into `--out` (and the only files it replaces there). */
export const MERGED_FILES: readonly string[] = [
  "report.json",
  "report.md",
  "report.html",
  "summary.json",
];

/** A bad command line or an `--out` folder holding files this command did not write. */
export class MergeArgsInvalid extends Data.TaggedError("MergeArgsInvalid")<{
  readonly detail: string;
}> {
  /** The one line shown. */
  override get message(): string {
    return this.detail;
  }
}

/** `--out` and the sweep folders, or null when `--help` answered. */
export function parseMergeArgs(
  argv: readonly string[],
): Effect.Effect<{ out: string; sweeps: string[] } | null, MergeArgsInvalid> {
  return parseToolFlags("merge-sweeps", { values: ["out", "sweeps"], switches: [] }, argv).pipe(
    Effect.mapError((e) => new MergeArgsInvalid({ detail: e.message })),
    Effect.flatMap((flags) => {
      if (!flags) return Effect.succeed(null);
      const out = flags.get("out");
      const sweeps = (flags.get("sweeps") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
      if (!out || sweeps.length === 0) {
        return Effect.fail(
          new MergeArgsInvalid({
            detail: "merge-sweeps: --out DIR and --sweeps DIR[,DIR...] are both required",
          }),
        );
      }
      return Effect.succeed({ out, sweeps });
    }),
  );
}

/** Refuse an `--out` folder that holds anything but this command's own files. */
function checkOut(out: string): Effect.Effect<void, MergeArgsInvalid | IOFailed> {
  return Effect.gen(function* () {
    const names = yield* attemptIO(out, "list", async () => {
      try {
        const found: string[] = [];
        for await (const e of Deno.readDir(out)) found.push(e.name);
        return found;
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return [];
        throw e;
      }
    });
    const foreign = names.filter((n) => !MERGED_FILES.includes(n));
    if (foreign.length > 0) {
      return yield* new MergeArgsInvalid({
        detail: `merge-sweeps: --out ${out} holds files it did not write ` +
          `(${foreign.slice(0, 3).join(", ")}); choose a new or empty folder`,
      });
    }
  });
}

/**
 * Merge `sweeps` into a report in `out`; returns the markdown summary table's lines for the
 * terminal. Fails before writing anything when a folder is not a sweep, the folders are not
 * comparable, or `out` holds other files.
 */
export function mergeSweeps(
  out: string,
  sweeps: readonly string[],
): Effect.Effect<
  string,
  MergeArgsInvalid | SweepsNotMergeable | IOFailed | ReportWriteFailed
> {
  return Effect.gen(function* () {
    const merged = yield* collectSweeps(sweeps);
    if (merged.runs.length === 0) {
      return yield* new MergeArgsInvalid({
        detail: `merge-sweeps: no evaluated cell in ${sweeps.join(", ")}`,
      });
    }
    yield* checkOut(out);
    const cfg = merged.config;
    const seeds = [...new Set(merged.runs.map((r) => r.seed))].sort((a, b) => a - b);
    const summary = seedSummary(merged.runs);
    yield* writeReport(out, {
      title: `Methods: ${cfg.data.task}, p = ${cfg.data.p}, n = ${cfg.data.n} ` +
        `(${cfg.eval.split} split)`,
      judge: merged.judgeCard?.name ?? cfg.eval.judge,
      ...(merged.judgeCard ? { judgeCard: merged.judgeCard } : {}),
      runs: merged.runs,
      notes: [
        COMPOSITION_NOTE,
        `Merged from ${sweeps.length} sweep folder(s) (${
          sweeps.map((s) => basename(s)).join(", ")
        }); ` +
        `seeds ${seeds.join(", ")}; the seeds column says how many each row has.`,
      ],
    });
    yield* attemptIO(`${out}/summary.json`, "write", () =>
      writeFileAtomic(
        `${out}/summary.json`,
        JSON.stringify(
          {
            split: cfg.eval.split,
            task: cfg.data.task,
            judge: merged.judgeCard?.name ?? null,
            rows: summary,
          },
          (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v),
          2,
        ) + "\n",
      ));
    return summary.map((r) =>
      `${r.method}: seeds ${r.seeds.length}, HS ${r.HS?.[0].toFixed(1)} ± ${
        r.HS?.[1].toFixed(1)
      }, ` +
      `FA ${r.FA?.[0].toFixed(1)} ± ${r.FA?.[1].toFixed(1)}`
    ).join("\n");
  });
}

if (import.meta.main) {
  const code = await Effect.runPromise(
    parseMergeArgs(Deno.args).pipe(
      Effect.flatMap((args) =>
        args
          ? Effect.map(mergeSweeps(args.out, args.sweeps), (text) => {
            console.log(text);
            console.log(`report: ${args.out}/report.md`);
            return 0;
          })
          : Effect.succeed(0)
      ),
      Effect.catchTags({
        MergeArgsInvalid: (e) => Effect.sync(() => (printError(e.message), 2)),
        SweepsNotMergeable: (e) => Effect.sync(() => (printError(e.message), 2)),
        IOFailed: (e) => Effect.sync(() => (printError(e.message), 1)),
        ReportWriteFailed: (e) => Effect.sync(() => (printError(e.message), 1)),
      }),
    ),
  );
  Deno.exit(code);
}
