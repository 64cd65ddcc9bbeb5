/**
 * The cluster's PostgreSQL connection. The URL comes from `--cluster.db` (a password may sit in
 * it or in `PGPASSWORD`); it is held as a redacted value, and only {@link describeDb}'s
 * credential-free form is ever printed. Nothing writes it to a run folder.
 *
 * @module
 */
import { PgClient } from "@effect/sql-pg";
import { Effect, type Layer, Redacted } from "effect";
import { SqlClient, type SqlError } from "effect/sql";

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

/**
 * A SQL error with the server's own reason and SQLSTATE (the client's message alone is a
 * generic "Query failed"): the messages along the error's `cause` chain, each once.
 */
export function sqlText(e: { readonly message: string; readonly cause?: unknown }): string {
  const parts: string[] = [];
  let code: string | null = null;
  let at: unknown = e;
  for (let depth = 0; depth < 8 && typeof at === "object" && at !== null; depth++) {
    const m = "message" in at ? String(at.message) : "";
    if (m && !parts.includes(m)) parts.push(m);
    if (code === null && "code" in at && typeof at.code === "string") code = at.code;
    at = "cause" in at ? at.cause : undefined;
  }
  return `${parts.join(": ")}${code ? ` (SQLSTATE ${code})` : ""}`;
}

/** An error's one-line message; for a `SqlError`, with the server's reason ({@link sqlText}). */
export function describeError(e: unknown): string {
  if (typeof e !== "object" || e === null || !("message" in e)) return String(e);
  const text = e as { message: string; cause?: unknown };
  return "_tag" in e && e._tag === "SqlError" ? sqlText(text) : String(text.message);
}

/**
 * Run `work` holding the session-level PostgreSQL advisory lock `(space, hashtext(key))` on a
 * connection reserved for it: other holders of the same key, in any process, wait. The lock
 * is released when `work` ends, or by the server when this process dies.
 */
export function withAdvisoryLock<A, E, R>(
  space: number,
  key: string,
  work: Effect.Effect<A, E, R>,
): Effect.Effect<A, E | SqlError.SqlError, R | SqlClient.SqlClient> {
  return Effect.scoped(Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient;
    const conn = yield* sql.reserve;
    yield* Effect.acquireRelease(
      conn.execute(
        "SELECT pg_advisory_lock($1::int4, hashtext($2::text))",
        [space, key],
        undefined,
      ),
      () =>
        conn.execute(
          "SELECT pg_advisory_unlock($1::int4, hashtext($2::text))",
          [space, key],
          undefined,
        ).pipe(Effect.ignore),
    );
    return yield* work;
  }));
}
