/**
 * A small, deterministic report input shared by the report tests: three methods, a sweep over
 * p with two seeds each, step logs and drift logs.
 *
 * @module
 */
import type { ReportInput, RunResult, StepLog } from "../src/report/types.ts";

function steps(seed: number, K1: number, K2: number, total: number): StepLog[] {
  const out: StepLog[] = [];
  for (let step = 0; step < total; step++) {
    const inCycle = step % (K1 + K2);
    const state = inCycle < K1 ? "alignment" : "finetune";
    out.push({
      step,
      state,
      loss: 2 / (1 + step / 10) + (state === "alignment" ? 0.3 : 0) + seed * 0.01,
    });
  }
  return out;
}

/** Runs for SFT, BSO and Lisa over p in {0.05, 0.1, 0.2} and seeds {0, 1}. */
export function fixtureRuns(): RunResult[] {
  const runs: RunResult[] = [];
  const base = { SFT: 30, BSO: 25, Lisa: 15 } as const;
  for (const method of ["SFT", "BSO", "Lisa"] as const) {
    for (const p of [0.05, 0.1, 0.2]) {
      for (const seed of [0, 1]) {
        const lisaLike = method !== "SFT";
        runs.push({
          method,
          task: "sst2",
          p,
          n: 500,
          rho: method === "Lisa" ? 1 : 0,
          K1: lisaLike ? 10 : 0,
          K2: lisaLike ? 90 : 0,
          seed,
          HS: base[method] + p * 100 + seed,
          FA: 93 - (method === "Lisa" ? 1 : 0) + seed * 0.5,
          HSPlus: base[method] + p * 100 + seed + 2,
          ...(p === 0.1 && lisaLike
            ? {
              steps: steps(seed, 10, 90, 200),
              drift: [1, 2, 3, 4].map((i) => ({
                switchIndex: i,
                step: i * 50,
                from: i % 2 ? "alignment" as const : "finetune" as const,
                drift: (method === "Lisa" ? 0.5 : 2) / i + seed * 0.01,
              })),
            }
            : {}),
        });
      }
    }
  }
  return runs;
}

/** The fixture as a sweep over p. */
export function fixtureInput(): ReportInput {
  return {
    title: "SST2 <sweep> over p & seeds",
    createdAt: "2024-01-01T00:00:00.000Z",
    judge: "classifier",
    sweep: "p",
    notes: ["Toy numbers for the report tests."],
    runs: fixtureRuns(),
  };
}
