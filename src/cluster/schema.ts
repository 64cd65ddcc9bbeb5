/**
 * The cluster's tables, set up once per process before anything uses them: the engine's
 * message and runner storage (its own migrations) and the sweep status table.
 *
 * Why a lock: runners are started many at once (a Kubernetes deployment, a test, a shell
 * loop), and every one of them, and every submitter, creates the tables it needs when it
 * starts. PostgreSQL does not make concurrent DDL race-free: two sessions running
 * `CREATE TABLE IF NOT EXISTS t` at the same moment both find `t` missing, and the slower one
 * fails on the catalogue's unique index (`pg_type_typname_nsp_index`, SQLSTATE 23505), which
 * stopped one of two runners started together at start-up ("Query failed"). So the whole
 * set-up runs under one cluster-wide advisory lock: the first process creates the tables, the
 * others wait for it and then find them there. The engine's layers, built afterwards, run
 * their migrations again and find nothing left to do.
 *
 * @module
 */
import { Effect, Layer } from "effect";
import { SqlMessageStorage, SqlRunnerStorage } from "effect/cluster";
import type { PgClient } from "@effect/sql-pg";
import type { SqlClient, SqlError } from "effect/sql";
import { pgLayer, withAdvisoryLock } from "./db.ts";
import { ensureStatusTable } from "./status.ts";

// 'LISC' (cluster schema): a key space of its own, apart from the jobs' and the engine's locks.
const SCHEMA_LOCK_SPACE = 0x4c495343;

/** Create every table the cluster needs, serialized across processes (see the module doc). */
export const prepareSchema: Effect.Effect<void, SqlError.SqlError, SqlClient.SqlClient> =
  withAdvisoryLock(
    SCHEMA_LOCK_SPACE,
    "lisa-safe-finetune cluster schema",
    Effect.gen(function* () {
      yield* Effect.scoped(Layer.build(SqlMessageStorage.layerMigrations({})));
      yield* Effect.scoped(Layer.build(SqlRunnerStorage.layerMigrations({})));
      yield* ensureStatusTable;
    }),
  );

/**
 * The SQL client layer for `url` whose tables are set up (by {@link prepareSchema}) before
 * the layer is available: provide it to the cluster's layers so that they start after it.
 */
export function clusterSqlLayer(
  url: string,
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, SqlError.SqlError> {
  return Layer.effectDiscard(prepareSchema).pipe(Layer.provideMerge(pgLayer(url)));
}
