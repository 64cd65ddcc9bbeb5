/**
 * Test-only fault injection, so a test can kill a run at a moment it names instead of one a
 * timer happens to hit. With `LISA_FAULT=<point>@<n>` in the environment, the n-th time
 * execution reaches {@link faultPoint}`(<point>)` the process sends itself SIGKILL, exactly as
 * `kill -9` would: no `finally`, no cleanup, files as they were. Several faults may be listed,
 * comma-separated; `@n` defaults to 1. Without the variable (always, outside tests) a point
 * costs one lookup in an empty map.
 *
 * The points:
 * - `log-append`: a line was appended to a training log (`log.jsonl`, `drift.jsonl`);
 * - `checkpoint-write`: a checkpoint's first file is written, the rest are not;
 * - `checkpoint-rename`: a checkpoint is complete in its temporary folder, not yet renamed;
 * - `atomic-write`: a file's temporary copy is written, not yet renamed over the target;
 * - `generate-batch`: a batch of evaluation answers was generated;
 * - `report-write`: one of the report files was written.
 *
 * @module
 */

/** The fault points a test can name. */
export const FAULT_POINTS = [
  "log-append",
  "checkpoint-write",
  "checkpoint-rename",
  "atomic-write",
  "generate-batch",
  "report-write",
] as const;

/** A named moment where a test may kill the process. */
export type FaultPoint = (typeof FAULT_POINTS)[number];

/** Parse `LISA_FAULT` (`point@n,point@n`) into the hit at which each point kills. */
export function parseFaults(spec: string): Map<FaultPoint, number> {
  const out = new Map<FaultPoint, number>();
  for (const item of spec.split(",").map((s) => s.trim()).filter(Boolean)) {
    const [name, at = "1"] = item.split("@");
    const n = Number(at);
    if (!FAULT_POINTS.includes(name as FaultPoint) || !Number.isInteger(n) || n < 1) {
      throw new Error(
        `LISA_FAULT: '${item}' is not <point>@<n> with a point among ${FAULT_POINTS.join(", ")}`,
      );
    }
    out.set(name as FaultPoint, n);
  }
  return out;
}

function fromEnv(): Map<FaultPoint, number> {
  let spec: string | undefined;
  try {
    spec = Deno.env.get("LISA_FAULT");
  } catch {
    return new Map(); // no permission to read the environment: no faults
  }
  return spec ? parseFaults(spec) : new Map();
}

const faults = fromEnv();
const hits = new Map<FaultPoint, number>();

/** Reach the fault point `name`: kills the process when `LISA_FAULT` names this hit. */
export function faultPoint(name: FaultPoint): void {
  const at = faults.get(name);
  if (at === undefined) return;
  const n = (hits.get(name) ?? 0) + 1;
  hits.set(name, n);
  if (n === at) Deno.kill(Deno.pid, "SIGKILL");
}
