/**
 * A throwaway PostgreSQL server for tests: `initdb` in a fresh temporary folder, `pg_ctl start`
 * on a free loopback port, trust authentication on loopback only, and `stop()` that stops the
 * server and removes the folder. initdb refuses to run as root, so as root the folder is given
 * to the `postgres` user and the binaries run as that user (`runuser -u postgres --`).
 *
 * @module
 */

/** A running throwaway server. */
export interface TestPostgres {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` (no password: trust on loopback). */
  readonly url: string;
  /** Stop the server and remove its folder. */
  readonly stop: () => Promise<void>;
}

/** The newest installed PostgreSQL's `bin/` folder (Debian's versioned layout), or null. */
export function postgresBin(): string | null {
  try {
    const versions = [...Deno.readDirSync("/usr/lib/postgresql")]
      .map((e) => e.name)
      .filter((n) => /^\d+$/.test(n))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const bin = `/usr/lib/postgresql/${v}/bin`;
      try {
        Deno.statSync(`${bin}/initdb`);
        Deno.statSync(`${bin}/pg_ctl`);
        return bin;
      } catch {
        // an incomplete install: try the next version
      }
    }
  } catch {
    // no PostgreSQL at all
  }
  return null;
}

/** Why a PostgreSQL test cannot run here, or null when it can. */
export function missingPostgres(): string | null {
  if (postgresBin() === null) {
    return "PostgreSQL is not installed (Debian package postgresql: initdb and pg_ctl)";
  }
  if (Deno.uid() === 0 && userId("postgres") === null) {
    return "running as root without a postgres user to run initdb as";
  }
  return null;
}

function userId(name: string): { uid: number; gid: number } | null {
  try {
    for (const line of Deno.readTextFileSync("/etc/passwd").split("\n")) {
      const f = line.split(":");
      if (f[0] === name && f[2] && f[3]) return { uid: Number(f[2]), gid: Number(f[3]) };
    }
  } catch {
    // no passwd file
  }
  return null;
}

/** A free TCP port on 127.0.0.1 (the OS picks one; it is released before returning). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function exec(args: string[], asUser: boolean): Promise<void> {
  const [cmd, ...rest] = asUser ? ["runuser", "-u", "postgres", "--", ...args] : args;
  const r = await new Deno.Command(cmd!, { args: rest, stdout: "piped", stderr: "piped" })
    .output();
  if (r.code !== 0) {
    const err = new TextDecoder().decode(r.stderr) + new TextDecoder().decode(r.stdout);
    throw new Error(`${args[0]} failed (${r.code}): ${err.trim().slice(-800)}`);
  }
}

/** Start a throwaway server (see the module doc). Call `stop()` in a `finally`. */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBin();
  if (!bin) throw new Error(missingPostgres() ?? "no PostgreSQL");
  const root = Deno.uid() === 0;
  const dir = await Deno.makeTempDir({ prefix: "lisa-pg-" });
  if (root) {
    const pg = userId("postgres")!;
    await Deno.chown(dir, pg.uid, pg.gid);
  }
  const data = `${dir}/data`;
  const port = freePort();
  let started = false;
  const stop = async () => {
    if (started) {
      await exec([`${bin}/pg_ctl`, "-D", data, "-m", "immediate", "-w", "stop"], root)
        .catch(() => {});
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    await exec([
      `${bin}/initdb`,
      "-D",
      data,
      "-U",
      "postgres",
      "--auth=trust",
      "--no-sync",
      "-E",
      "UTF8",
    ], root);
    const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off ` +
      "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200";
    await exec([`${bin}/pg_ctl`, "-D", data, "-o", opts, "-l", `${dir}/log`, "-w", "start"], root);
    started = true;
  } catch (e) {
    await stop();
    throw e;
  }
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, stop };
}
