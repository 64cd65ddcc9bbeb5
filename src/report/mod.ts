/**
 * Reports: `report.json`, `report.md` and a self-contained `report.html` with SVG charts, from
 * plain run records (mean ± std over seeds, in the shape of the paper's tables).
 *
 * @example
 * ```ts
 * import { writeReport } from "./src/report/mod.ts";
 * await Effect.runPromise(writeReport("runs/sst2", { title: "SST2, p = 0.1", runs }));
 * ```
 *
 * @module
 */
export * from "./types.ts";
export * from "./aggregate.ts";
export * from "./dynamics.ts";
export * from "./charts.ts";
export * from "./html.ts";
export * from "./markdown.ts";
export * from "./seeds.ts";
export * from "./write.ts";
