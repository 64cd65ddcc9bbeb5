/**
 * The cluster's PostgreSQL connection. The URL comes from `--cluster.db` (a password may sit in
 * it or in `PGPASSWORD`); it is held as a redacted value, and only {@link describeDb}'s
 * credential-free form is ever printed. Nothing writes it to a run folder.
 *
 * @module
 */
import { PgClient } from "@effect/sql-pg";
import { type Layer, Redacted } from "effect";
import type { SqlClient, SqlError } from "effect/sql";

/** `host:port/database` of a PostgreSQL URL: no user name, password or query. */
export function describeDb(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}${u.port ? `:${u.port}` : ""}${u.pathname === "/" ? "" : u.pathname}`;
  } catch {
    return "(unparsable database URL)";
  }
}

/**
 * The SQL client layer for `url`. Without a password in the URL, `PGPASSWORD` (as libpq
 * reads it) supplies one.
 */
export function pgLayer(
  url: string,
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, SqlError.SqlError> {
  const env = Deno.env.get("PGPASSWORD");
  let hasPassword = false;
  try {
    hasPassword = new URL(url).password !== "";
  } catch {
    // PgClient reports the malformed URL
  }
  return PgClient.layer({
    url: Redacted.make(url),
    ...(env && !hasPassword ? { password: Redacted.make(env) } : {}),
    applicationName: "lisa-safe-finetune",
  });
}
