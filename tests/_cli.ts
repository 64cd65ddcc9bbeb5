/**
 * Running the CLI as a user does, in a child process: its exit code and what it printed.
 *
 * @module
 */

/** The repository root (the CLI runs there, as `deno task train` does). */
export const ROOT = new URL("../", import.meta.url).pathname;

/** What a CLI run returned. */
export interface CliResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Options of a CLI run. */
export interface CliOptions {
  /** Extra environment variables. */
  readonly env?: Record<string, string>;
  /** Working folder (default: the repository root). */
  readonly cwd?: string;
}

/** The `deno` arguments that run the CLI with `args`. */
export function cliArgs(args: readonly string[]): string[] {
  return ["run", "-A", "--unstable-webgpu", `${ROOT}src/cli/main.ts`, ...args];
}

/** Run `deno task train <args>` and collect its exit code, stdout and stderr. */
export async function cli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: cliArgs(args),
    cwd: options.cwd ?? ROOT,
    stdout: "piped",
    stderr: "piped",
    ...(options.env ? { env: options.env } : {}),
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

/** Every file and symlink under `dir` (relative paths, sorted; links not followed); none when `dir` is absent. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (sub: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(`${dir}/${sub}`)];
    } catch {
      return;
    }
    for (const e of entries) {
      const rel = sub ? `${sub}/${e.name}` : e.name;
      if (e.isDirectory) walk(rel);
      else out.push(rel);
    }
  };
  walk("");
  return out.sort();
}
