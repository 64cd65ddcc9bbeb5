/**
 * A cluster runner: a process that joins the cluster (PostgreSQL storage, socket transport
 * between runners), takes its share of the shards, and executes the sweep jobs delivered to
 * it, one at a time, on its own backend. Start one per machine, or several on a machine with
 * cores to spare. Stopping it (SIGINT/SIGTERM) hands its shards to the others; killing it does
 * too, once the others notice (health checks every few seconds), and its unfinished jobs start
 * again elsewhere from their newest checkpoints.
 *
 * @module
 */
import { NodeClusterSocket } from "@effect/platform-node";
import { Effect, Layer, Option, References, Semaphore } from "effect";
import { RunnerAddress } from "effect/cluster";
import type { Backend } from "../../backends/mod.ts";
import {
  alignSweepGroup,
  groupCells,
  groupNeedsAlignment,
  runSweepCell,
  type SweepCell,
  sweepCells,
} from "../pipeline/mod.ts";
import { methodSpec } from "../train/mod.ts";
import { Progress } from "../train/mod.ts";
import { cellEntityId, SweepAlignment, SweepCell as CellEntity } from "./entities.ts";
import { executeJob, sweepConfig } from "./jobs.ts";
import { clusterSqlLayer } from "./schema.ts";
import { markEnded } from "./status.ts";
import { cellJobName, groupJobName } from "../parallel/mod.ts";

/** The sharding settings every runner and client of a cluster shares. */
export const SHARDING = {
  // Fewer shards than the engine's 300: a sweep has tens of cells, and every shard is a lock.
  shardsPerGroup: 64,
  // Notice a dead runner within seconds, not the engine's default minute.
  runnerHealthCheckInterval: "5 seconds",
  shardLockRefreshInterval: "5 seconds",
  shardLockExpiration: "20 seconds",
  entityMessagePollInterval: "2 seconds",
  entityReplyPollInterval: "1 second",
  // Jobs are long: a resident entity is kept while its request runs.
  entityMaxIdleTime: "10 minutes",
} as const;

/** Where a runner listens and how it runs jobs. */
export interface RunnerOptions {
  /** The cluster's PostgreSQL URL. */
  readonly db: string;
  /** The host name or address other runners reach this one at. */
  readonly host: string;
  /** The port it listens on (socket transport). */
  readonly port: number;
  /** Its tensor backend (already started, or a layer that starts it). */
  readonly backend: Layer.Layer<Backend, unknown>;
}

/** The runner's layer: entities, cluster membership, storage, backend. Launch it to serve. */
export function runnerLayer(opts: RunnerOptions): Layer.Layer<never, unknown> {
  const runner = `${opts.host}:${opts.port}`;
  // The tables are set up (once, under a lock) before the engine's storage layers start.
  const sql = clusterSqlLayer(opts.db);
  const cluster = NodeClusterSocket.layer({
    storage: "sql",
    shardingConfig: {
      ...SHARDING,
      runnerAddress: Option.some(RunnerAddress.make(opts.host, opts.port)),
      runnerListenAddress: Option.some(RunnerAddress.make("0.0.0.0", opts.port)),
    },
  }).pipe(Layer.provide(sql));
  // One job at a time per runner: a job uses every core its backend can (start more runners
  // on a machine to run more at once).
  const slot = Semaphore.makeUnsafe(1);
  const alignments = SweepAlignment.toLayer(Effect.succeed(SweepAlignment.of({
    Align: ({ payload }) =>
      Effect.gen(function* () {
        const cfg = yield* sweepConfig(payload.dir);
        const group = {
          seed: payload.seed,
          alignment: payload.alignment as SweepCell["alignment"],
        };
        yield* slot.withPermit(
          executeJob(
            { dir: payload.dir, job: groupJobName(group), runner },
            alignSweepGroup(cfg, payload.dir, group),
          ),
        );
      }),
  })));
  const cells = CellEntity.toLayer(Effect.gen(function* () {
    const alignClient = yield* SweepAlignment.client;
    return CellEntity.of({
      Run: ({ payload }) => {
        const cell = payload.cell as SweepCell;
        const ctx = { dir: payload.dir, job: cellJobName(cell), runner };
        return Effect.gen(function* () {
          const cfg = yield* sweepConfig(payload.dir);
          const mine = groupCells(sweepCells(cfg), cell);
          if (groupNeedsAlignment(cfg, mine) && methodSpec(cell.method).needsAlignedModel) {
            // Outside the slot: the alignment may be queued on this very runner.
            yield* alignClient(cellEntityId(payload.submission, groupJobName(cell)))
              .Align({ dir: payload.dir, seed: cell.seed, alignment: cell.alignment })
              .pipe(Effect.mapError((e) => ({
                message:
                  `the alignment of seed ${cell.seed} (${cell.alignment}) failed: ${e.message}`,
                code: "code" in e && typeof e.code === "number" ? e.code : 1,
              })));
          }
          yield* slot.withPermit(executeJob(ctx, runSweepCell(cfg, payload.dir, cell)));
        }).pipe(
          // A failure before the cell started (its config, its group's alignment) is its end.
          Effect.tapError((e) => Effect.ignore(markEnded(ctx.dir, ctx.job, runner, e.message))),
        );
      },
    });
  }));
  const services = Layer.mergeAll(opts.backend, Progress.lines(), sql);
  return Layer.mergeAll(alignments, cells).pipe(
    Layer.provide(services),
    Layer.provide(cluster),
    Layer.provide(Layer.succeed(References.MinimumLogLevel, "Error")),
  );
}
