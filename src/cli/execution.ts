/**
 * Flags that choose how an experiment runs, not what it computes: worker processes and the
 * cluster. They are not config fields: a resumed run may change them, and a database URL
 * (which may hold a password) is never written to a run's `config.json`.
 *
 * @module
 */
import { Flag } from "effect/cli";
import { optionalString, type SharedInput } from "./flags.ts";
import { UsageInvalid } from "./parser.ts";

/** How to run. */
export interface ExecutionFlags {
  /** `--workers N`: worker processes for independent phases, or null for the default. */
  readonly workers: number | null;
  /** `--cluster.db URL`: the PostgreSQL database of a cluster, or null to run locally. */
  readonly clusterDb: string | null;
  /** `--cluster.host H`: the address other runners reach this runner at, or null. */
  readonly clusterHost: string | null;
  /** `--cluster.port P`: the port this runner listens on, or null. */
  readonly clusterPort: number | null;
  /** `--status DIR`: watch the cluster sweep in DIR instead of submitting one, or null. */
  readonly status: string | null;
}

const text = (name: string, what: string) =>
  Flag.optional(Flag.String(name).pipe(Flag.withDescription(what)));

/** The execution flags, for the shared flag set. */
export const EXECUTION_FLAGS = {
  workers: text("workers", "worker processes for independent phases"),
  "cluster.db": text("cluster.db", "PostgreSQL URL of a cluster"),
  "cluster.host": text("cluster.host", "the address other runners reach this runner at"),
  "cluster.port": text("cluster.port", "the port this runner listens on"),
  status: text("status", "watch the cluster sweep in this folder"),
};

/** Their help lines. */
export const EXECUTION_OPTIONS: ReadonlyArray<readonly [string, string]> = [
  ["--workers N", "worker processes for independent phases (default: one per core)"],
  ["--cluster.db URL", "PostgreSQL URL of a cluster: `runner` joins it, `sweep` submits to it"],
  ["--cluster.host H", "runner: the address other runners reach it at (default: host name)"],
  ["--cluster.port P", "runner: the port it listens on (default 34431)"],
  ["--status DIR", "sweep --cluster.db: watch a submitted sweep, then collect its report"],
];

function wholeNumber(flag: string, raw: string | null, max: number): number | null {
  if (raw === null) return null;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new UsageInvalid({
      detail: `flag --${flag}: expected a whole number from 1 to ${max}, found "${raw}"`,
    });
  }
  return n;
}

/** The execution flags of a parse; a malformed value fails with {@link UsageInvalid}. */
export function executionOf(input: SharedInput): ExecutionFlags {
  const db = optionalString(input, "cluster.db");
  if (db !== null && !/^postgres(ql)?:\/\/./.test(db)) {
    // The value is not echoed: it may hold a password.
    throw new UsageInvalid({
      detail: "flag --cluster.db: expected a PostgreSQL URL (postgres://user@host:port/database)",
    });
  }
  return {
    workers: wholeNumber("workers", optionalString(input, "workers"), 1024),
    clusterDb: db,
    clusterHost: optionalString(input, "cluster.host"),
    clusterPort: wholeNumber("cluster.port", optionalString(input, "cluster.port"), 65535),
    status: optionalString(input, "status"),
  };
}
