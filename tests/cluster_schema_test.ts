/**
 * The cluster's tables on a fresh database, set up by many clients at the same moment:
 * sixteen independent clients (each its own connection pool, as separate runners would be) run
 * the start-up schema set-up at once, and every one must succeed with every table there.
 * Without the set-up's advisory lock, concurrent `CREATE TABLE IF NOT EXISTS` fails in some of
 * them (a duplicate key in the catalogue, SQLSTATE 23505; 2 of 4 runs failed with the lock
 * removed), which once stopped a runner at start-up.
 * Without PostgreSQL the test is ignored.
 */
import assert from "node:assert/strict";
import { Effect } from "effect";
import { SqlClient } from "effect/sql";
import { describeError, pgLayer, prepareSchema } from "../src/cluster/mod.ts";
import { requires } from "./_helpers.ts";
import { missingPostgres, startPostgres } from "./_postgres.ts";

const TABLES = [
  "cluster_messages",
  "cluster_replies",
  "cluster_runners",
  "cluster_locks",
  "lisa_sweep_jobs",
];

Deno.test({
  ...requires(
    "cluster schema: sixteen clients setting up a fresh database at once all succeed",
    missingPostgres(),
  ),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const pg = await startPostgres();
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 16 }, () =>
          Effect.runPromise(
            prepareSchema.pipe(
              Effect.provide(pgLayer(pg.url)),
              Effect.match({ onFailure: describeError, onSuccess: () => "ok" }),
            ),
          )),
      );
      assert.deepEqual(outcomes, Array(16).fill("ok"), outcomes.join("\n"));
      const found = await Effect.runPromise(
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient;
          const rows = yield* sql<{ name: string }>`SELECT tablename AS name FROM pg_tables
            WHERE schemaname = 'public'`;
          return rows.map((r) => r.name);
        }).pipe(Effect.provide(pgLayer(pg.url))),
      );
      for (const t of TABLES) assert.ok(found.includes(t), `${t} in ${found.join(", ")}`);
      // Set up again on the ready database: nothing to do, no failure.
      await Effect.runPromise(prepareSchema.pipe(Effect.provide(pgLayer(pg.url))));
    } finally {
      await pg.stop();
    }
  },
});
