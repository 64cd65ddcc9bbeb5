/**
 * Finished sweep folders read back as one set of runs, without training or evaluating anything:
 * a methods table whose cells are not one full grid (Vaccine with SFT and Lisa, RepNoise with
 * SFT only, ...) or whose seeds ran in separate processes is several sweeps, merged here. Every
 * evaluated cell of every folder is read from its recorded metrics; the folders must share
 * every setting that changes what a cell trains or how it is scored.
 *
 * @module
 */
import { Data, Effect } from "effect";
import {
  ALIGNMENT_METHODS,
  configChanges,
  describeChanges,
  type ExperimentConfig,
  FINETUNE_METHODS,
  REPAIR_METHODS,
  resolveConfig,
} from "../config/mod.ts";
import type { JudgeCard } from "../eval/mod.ts";
import { attemptIO, errorText, pathExistsSync } from "../io/mod.ts";
import type { RunResult } from "../report/mod.ts";
import type { RepairName } from "../repair/mod.ts";
import { type AlignmentMethodName, type FinetuneMethodName, methodSpec } from "../train/mod.ts";
import { repairDir } from "./phases.ts";
import { runResult } from "./report.ts";
import { readRunMarker, readRunRecord, RUN_MARKER } from "./rundir.ts";
import { evalDir, isModelRow, isTrainSummary, type ModelRow } from "./rows.ts";
import { cellConfig, cellName, type SweepCell } from "./sweep.ts";

/** Sweep folders that cannot be merged: not a sweep, damaged, or not comparable. */
export class SweepsNotMergeable extends Data.TaggedError("SweepsNotMergeable")<{
  readonly path: string;
  readonly detail: string;
}> {
  /** One line naming the folder. */
  override get message(): string {
    return `${this.path}: ${this.detail}`;
  }
}

/** The merged runs of several sweep folders and the judge card their reports recorded. */
export interface CollectedSweeps {
  /** The settings the folders share (the first folder's config). */
  readonly config: ExperimentConfig;
  /** One run per evaluated cell and repair, in a fixed order (see {@link collectSweeps}). */
  readonly runs: readonly RunResult[];
  /** The judge card of the first folder's report, when it has one. */
  readonly judgeCard?: JudgeCard;
}

/** A cell folder's name read back: the inverse of {@link cellName}, or null for another name. */
export function parseCellName(
  name: string,
): Omit<SweepCell, "alignment" | "seed"> | null {
  const m = /^(.+)-p(.+?)-n(\d+)-rho(.+)-k(\d+)_(\d+)$/.exec(name);
  if (!m) return null;
  const method = m[1]!;
  if (!(FINETUNE_METHODS as readonly string[]).includes(method)) return null;
  const [p, n, rho, k1, k2] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as number[];
  if (![p, n, rho, k1, k2].every(Number.isFinite)) return null;
  return { method: method as FinetuneMethodName, p: p!, n: n!, rho: rho!, k: [k1!, k2!] };
}

/** Settings two merged sweeps may differ in: the grid, where they write, the backend. */
const mayDiffer = (path: string) =>
  path.startsWith("sweep.") || path.startsWith("output.") || path === "method.compare" ||
  path === "backend";

const subdirs = (dir: string) =>
  attemptIO(dir, "list", async () => {
    const names: string[] = [];
    for await (const e of Deno.readDir(dir)) if (e.isDirectory) names.push(e.name);
    return names.sort();
  });

/** The (alignment method, folder) pairs of one seed folder of a sweep. */
function alignmentBases(
  cfg: ExperimentConfig,
  seedDir: string,
): Effect.Effect<Array<[AlignmentMethodName, string]>, SweepsNotMergeable> {
  if (!cfg.sweep.alignment.length) {
    return Effect.succeed([[cfg.alignment.method, seedDir]]);
  }
  return Effect.map(
    Effect.mapError(subdirs(seedDir), (e) => notMergeable(seedDir, e.message)),
    (names) =>
      names.flatMap((name): Array<[AlignmentMethodName, string]> => {
        const a = name.replace(/^alignment-/, "");
        return name.startsWith("alignment-") &&
            (ALIGNMENT_METHODS as readonly string[]).includes(a)
          ? [[a as AlignmentMethodName, `${seedDir}/${name}`]]
          : [];
      }),
  );
}

const notMergeable = (path: string, detail: string) => new SweepsNotMergeable({ path, detail });

/** The judge card a sweep's last report recorded, if any. */
async function recordedJudgeCard(reportFile: string): Promise<JudgeCard | undefined> {
  if (!pathExistsSync(reportFile)) return undefined;
  const doc: unknown = JSON.parse(await Deno.readTextFile(reportFile));
  const card = (doc as { judgeCard?: unknown } | null)?.judgeCard;
  return typeof card === "object" && card !== null && typeof (card as JudgeCard).name === "string"
    ? card as JudgeCard
    : undefined;
}

/** How {@link collectSweep} reads the cells: which split, and a change to each recorded row. */
export interface CollectOptions<E = never> {
  /** The split whose answers and metrics are read (default: the folder's `eval.split`). */
  readonly split?: ExperimentConfig["eval"]["split"];
  /**
   * A new row for each recorded one, given the cell's settings and the folder holding the
   * row's `metrics.json` and `answers.jsonl` (e.g. the answers judged again).
   */
  readonly mapRow?: (
    cfg: ExperimentConfig,
    row: ModelRow,
    dir: string,
  ) => Effect.Effect<ModelRow, E>;
}

/**
 * Every evaluated cell of one sweep folder (any grid it ran, across resumes that changed the
 * grid): its recorded metrics with the training logs and the alignment stage's seconds, as the
 * sweep's own report reads them. Cells not yet evaluated are left out.
 */
export function collectSweep<E = never>(
  dir: string,
  opts: CollectOptions<E> = {},
): Effect.Effect<{ config: ExperimentConfig; runs: RunResult[] }, SweepsNotMergeable | E> {
  return Effect.gen(function* () {
    const marker = readRunMarker(dir);
    if (!marker) return yield* notMergeable(dir, `not a run folder (it has no ${RUN_MARKER})`);
    if (marker.label !== "sweep") {
      return yield* notMergeable(dir, `a '${marker.label}' run folder, not a sweep`);
    }
    const configFile = `${dir}/config.json`;
    const recorded = yield* Effect.mapError(
      resolveConfig({ configFile }),
      (e) => notMergeable(configFile, e.message),
    );
    const edited = marker.config === undefined ? [] : configChanges(marker.config, recorded);
    if (edited.length > 0) {
      return yield* notMergeable(
        configFile,
        `was edited after the sweep started (${describeChanges(edited)}); its cells were ` +
          "trained with the recorded config",
      );
    }
    const cfg: ExperimentConfig = opts.split
      ? { ...recorded, eval: { ...recorded.eval, split: opts.split } }
      : recorded;
    const seeds = (yield* Effect.mapError(subdirs(dir), (e) => notMergeable(dir, e.message)))
      .flatMap((name) => {
        const m = /^seed-(\d+)$/.exec(name);
        return m ? [Number(m[1])] : [];
      });
    if (seeds.length === 0) return yield* notMergeable(dir, "not a sweep folder (no seed-<s>)");
    const runs: RunResult[] = [];
    for (const seed of seeds) {
      for (const [alignment, base] of yield* alignmentBases(cfg, `${dir}/seed-${seed}`)) {
        const done = yield* Effect.mapError(
          readRunRecord(`${base}/align/done.json`, "stage summary", isTrainSummary),
          (e) => notMergeable(e.path, e.detail),
        );
        const cells = yield* Effect.mapError(subdirs(base), (e) => notMergeable(base, e.message));
        for (const name of cells) {
          const parsed = parseCellName(name);
          if (!parsed) continue;
          const cell: SweepCell = { ...parsed, alignment, seed };
          const cc = cellConfig(cfg, cell);
          const cdir = `${base}/${cellName(cell)}`;
          const onBase = !methodSpec(cell.method).needsAlignedModel || !cfg.alignment.enabled;
          for (const r of REPAIR_METHODS) {
            const rowDir = evalDir(cfg, repairDir(cdir, r));
            const recordedRow = yield* Effect.mapError(
              readRunRecord(`${rowDir}/metrics.json`, "model metrics record", isModelRow),
              (e) => notMergeable(e.path, e.detail),
            );
            if (!recordedRow) continue;
            const row = opts.mapRow ? yield* opts.mapRow(cc, recordedRow, rowDir) : recordedRow;
            runs.push(
              yield* Effect.tryPromise({
                try: () => runResult(cc, row, `${cdir}/train`, onBase ? 0 : done?.seconds),
                catch: (e) => notMergeable(`${cdir}/train`, `unreadable log: ${errorText(e)}`),
              }),
            );
          }
        }
      }
    }
    return { config: cfg, runs };
  });
}

/** The label of a row's composition split back into its three method choices. */
function orderKey(r: RunResult): number[] {
  const parts = r.method.split("+");
  const idx = (list: readonly string[], x: string | undefined, dflt: number) =>
    x === undefined ? dflt : Math.max(list.indexOf(x), 0);
  // A label is [alignment+]method[+repair]; the alignment and repair are the optional ends.
  const fine = parts.findIndex((x) => (FINETUNE_METHODS as readonly string[]).includes(x));
  const alignment = fine > 0 ? parts[0] : undefined;
  const repair = fine >= 0 && fine < parts.length - 1 ? parts[parts.length - 1] : undefined;
  return [
    idx(ALIGNMENT_METHODS, alignment, 0),
    idx(FINETUNE_METHODS, parts[fine] ?? r.method, FINETUNE_METHODS.length),
    idx(REPAIR_METHODS as readonly RepairName[], repair, 0),
    r.rho,
    r.K1,
    r.K2,
    r.p,
    r.n,
    r.seed,
  ];
}

const compareKeys = (a: number[], b: number[]) => {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
};

/**
 * Merge sweep folders into one set of runs: every folder's settings must match the first's
 * but for the grid, the output and the backend (else {@link SweepsNotMergeable} names the
 * fields), and no (composition, settings, seed) may be in two folders. Runs come ordered by
 * alignment method, fine-tuning method and repair (each in its registry's order), then
 * settings and seed, so each row's seeds are together whatever folder they came from.
 */
export function collectSweeps<E = never>(
  dirs: readonly string[],
  opts: CollectOptions<E> = {},
): Effect.Effect<CollectedSweeps, SweepsNotMergeable | E> {
  return Effect.gen(function* () {
    if (dirs.length === 0) return yield* notMergeable("", "no sweep folder given");
    const first = yield* collectSweep(dirs[0]!, opts);
    const runs: Array<RunResult & { readonly from: string }> = first.runs.map((r) => ({
      ...r,
      from: dirs[0]!,
    }));
    for (const dir of dirs.slice(1)) {
      const next = yield* collectSweep(dir, opts);
      const changed = configChanges(first.config, next.config).filter((c) => !mayDiffer(c.path));
      if (changed.length > 0) {
        return yield* notMergeable(
          dir,
          `its settings differ from ${dirs[0]}'s (${describeChanges(changed)}); only the ` +
            "grid (sweep.*, method.compare), output.* and the backend may differ",
        );
      }
      runs.push(...next.runs.map((r) => ({ ...r, from: dir })));
    }
    const seen = new Map<string, string>();
    for (const r of runs) {
      const key = JSON.stringify([r.method, r.p, r.n, r.rho, r.K1, r.K2, r.seed]);
      const other = seen.get(key);
      if (other !== undefined) {
        return yield* notMergeable(
          r.from,
          `${r.method} (seed ${r.seed}, p ${r.p}, n ${r.n}, rho ${r.rho}, K ${r.K1}:${r.K2}) ` +
            `is also in ${other}: each cell may come from one folder only`,
        );
      }
      seen.set(key, r.from);
    }
    const ordered = runs
      .map((r) => ({ r, key: orderKey(r) }))
      .sort((a, b) => compareKeys(a.key, b.key))
      .map(({ r: { from: _from, ...r } }) => r);
    const judgeCard = yield* Effect.tryPromise({
      try: () => recordedJudgeCard(`${evalDir(first.config, dirs[0]!)}/report.json`),
      catch: (e) => notMergeable(dirs[0]!, `unreadable report.json: ${errorText(e)}`),
    });
    return { config: first.config, runs: ordered, ...(judgeCard ? { judgeCard } : {}) };
  });
}
