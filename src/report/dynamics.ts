/**
 * Training dynamics of Bi-State runs, in the paper's terms: the drift per state (squared
 * distance moved in a finished state, `||w_end - w_start||^2`), Lisa's drift relative to BSO's,
 * and how hard the proximal term pulls, as the ratio of the proximal to the data gradient norm
 * (both before clipping) at the end of each gated state and on average over its gated steps.
 *
 * States are split at the proximal gate (`gateStep`): before it Lisa is BSO, so only the states
 * that start at or after it say what the proximal term does.
 *
 * @module
 */
import { formatMeanStd, type MeanStd, meanStd } from "../eval/metrics.ts";
import type { RunResult, TrainState } from "./types.ts";

/** One setting's dynamics over its seeds. */
export interface DynamicsRow {
  /** Defense name. */
  readonly method: string;
  /** Proximal strength. */
  readonly rho: number;
  /** Alignment steps per cycle (K1). */
  readonly K1: number;
  /** Fine-tune steps per cycle (K2). */
  readonly K2: number;
  /** Harmful ratio. */
  readonly p: number;
  /** Seeds in the group. */
  readonly seeds: number;
  /** Drift per state that starts at or after the gate (all seeds), by state. */
  readonly drift: Readonly<Record<TrainState, MeanStd>>;
  /** Drift per fine-tune state that starts before the gate (Lisa runs as BSO there). */
  readonly driftBeforeGate: MeanStd;
  /**
   * `proximalGradNorm / dataGradNorm` at the last step of each state the proximal term was on
   * in (n = 0 without a proximal term).
   */
  readonly ratioAtStateEnd: MeanStd;
  /** The same ratio averaged over every step the proximal term was on in. */
  readonly ratioMean: MeanStd;
}

/** The last step of each maximal run of one state in a step log, with its state. */
function stateEnds<T extends { state: TrainState }>(steps: readonly T[]): T[] {
  return steps.filter((s, i) => i + 1 === steps.length || steps[i + 1]!.state !== s.state);
}

/**
 * Dynamics per setting (method, rho, K1:K2, p), over seeds. Runs without drift logs (SFT, the
 * base and aligned models) are left out.
 */
export function dynamicsRows(runs: readonly RunResult[]): DynamicsRow[] {
  const groups = new Map<string, RunResult[]>();
  for (const r of runs) {
    if (!r.drift || r.drift.length === 0) continue;
    const key = JSON.stringify([r.method, r.rho, r.K1, r.K2, r.p, r.n, r.task]);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((g) => {
    const first = g[0]!;
    // A drift record closes the state that began at the previous record's step (or 0).
    const states = g.flatMap((r) =>
      (r.drift ?? []).map((d, i, all) => ({
        from: d.from,
        drift: d.drift,
        gated: (i === 0 ? 0 : all[i - 1]!.step) >= (r.gateStep ?? 0),
      }))
    );
    const drift = (s: TrainState) =>
      meanStd(states.filter((d) => d.from === s && d.gated).map((d) => d.drift));
    const gated = g.flatMap((r) =>
      (r.steps ?? []).filter((s) => (s.proximalGradNorm ?? 0) > 0 && (s.dataGradNorm ?? 0) > 0)
    );
    const ratio = (s: { dataGradNorm?: number; proximalGradNorm?: number }) =>
      (s.proximalGradNorm ?? 0) / (s.dataGradNorm ?? 1);
    const ends = g.flatMap((r) =>
      stateEnds(r.steps ?? []).filter((s) => (s.proximalGradNorm ?? 0) > 0)
    );
    return {
      method: first.method,
      rho: first.rho,
      K1: first.K1,
      K2: first.K2,
      p: first.p,
      seeds: g.length,
      drift: { alignment: drift("alignment"), finetune: drift("finetune") },
      driftBeforeGate: meanStd(
        states.filter((d) => d.from === "finetune" && !d.gated).map((d) => d.drift),
      ),
      ratioAtStateEnd: meanStd(ends.map(ratio)),
      ratioMean: meanStd(gated.map(ratio)),
    };
  });
}

/**
 * A markdown table of the dynamics, with each row's fine-tune drift (states from the gate on)
 * relative to the BSO row of the same K1:K2 and p (Lisa's excess-drift reduction). A `p` column
 * follows the method when the rows span more than one harmful ratio.
 */
export function dynamicsTable(rows: readonly DynamicsRow[]): string {
  const bso = (r: DynamicsRow) =>
    rows.find((b) =>
      b.rho === 0 && b.method.toLowerCase() === "bso" && b.K1 === r.K1 &&
      b.K2 === r.K2 && b.p === r.p
    );
  const fmt = (m: MeanStd) => (m.n === 0 ? "–" : formatMeanStd(m, 3));
  const byP = new Set(rows.map((r) => r.p)).size > 1;
  const head = [
    "method",
    ...(byP ? ["p"] : []),
    "rho",
    "K1:K2",
    "fine-tune drift, before the gate",
    "fine-tune drift, gate open",
    "alignment drift, gate open",
    "fine-tune drift / BSO's (gate open)",
    "prox/data grad at state end",
    "prox/data grad, mean",
  ];
  const body = rows.map((r) => {
    const b = bso(r);
    const rel = b && b.drift.finetune.mean > 0
      ? r.drift.finetune.mean / b.drift.finetune.mean
      : NaN;
    return [
      r.method,
      ...(byP ? [String(r.p)] : []),
      String(r.rho),
      `${r.K1}:${r.K2}`,
      fmt(r.driftBeforeGate),
      fmt(r.drift.finetune),
      fmt(r.drift.alignment),
      Number.isFinite(rel) ? rel.toFixed(3) : "–",
      fmt(r.ratioAtStateEnd),
      fmt(r.ratioMean),
    ];
  });
  const numeric = byP ? 4 : 3; // the columns before the figures: method, (p,) rho, K1:K2
  const align = head.map((_, i) => (i >= numeric ? "---:" : "---"));
  return [head, align, ...body].map((r) => `| ${r.join(" | ")} |`).join("\n");
}
