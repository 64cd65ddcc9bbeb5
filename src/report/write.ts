/**
 * Writing a report folder: `report.json` (machine-readable: the input runs and their
 * aggregates), `report.md` and a self-contained `report.html`, each written atomically.
 *
 * @module
 */
import { Data, Effect } from "effect";
import { aggregateRuns } from "./aggregate.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { faultPoint } from "../io/fault.ts";
import { renderCharts } from "./charts.ts";
import { renderHtml } from "./html.ts";
import { renderMarkdown } from "./markdown.ts";
import type { ReportInput } from "./types.ts";

/** Where a report was written. */
export interface ReportPaths {
  /** `report.json` */
  readonly json: string;
  /** `report.md` */
  readonly md: string;
  /** `report.html` */
  readonly html: string;
}

/** Writing the report failed (folder not writable, disk full...). */
export class ReportWriteFailed extends Data.TaggedError("ReportWriteFailed")<{
  readonly path: string;
  readonly reason: string;
}> {
  /** One line with the path and reason. */
  override get message(): string {
    return `could not write the report to ${this.path}: ${this.reason}`;
  }
}

/**
 * The `report.json` document: schema tag, the input (runs with their logs) and the aggregates.
 * Non-finite numbers become `null` (JSON has no NaN).
 */
export function reportJson(input: ReportInput): string {
  const doc = { schema: "lisa-report/1", ...input, aggregates: aggregateRuns(input.runs) };
  return JSON.stringify(
    doc,
    (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v),
    2,
  ) +
    "\n";
}

/**
 * Render and write `report.json`, `report.md` and `report.html` into `dir` (created).
 *
 * @example
 * ```ts
 * const paths = await Effect.runPromise(writeReport("runs/sst2", { title: "SST2", runs }));
 * ```
 */
export function writeReport(
  dir: string,
  input: ReportInput,
): Effect.Effect<ReportPaths, ReportWriteFailed> {
  const full: ReportInput = { ...input, createdAt: input.createdAt ?? new Date().toISOString() };
  const paths = { json: `${dir}/report.json`, md: `${dir}/report.md`, html: `${dir}/report.html` };
  return Effect.tryPromise({
    try: async () => {
      await Deno.mkdir(dir, { recursive: true });
      const charts = await renderCharts(full);
      await writeFileAtomic(paths.json, reportJson(full));
      faultPoint("report-write");
      await writeFileAtomic(paths.md, renderMarkdown(full));
      faultPoint("report-write");
      await writeFileAtomic(paths.html, renderHtml(full, charts));
      return paths;
    },
    catch: (e) =>
      new ReportWriteFailed({ path: dir, reason: e instanceof Error ? e.message : String(e) }),
  });
}
