/**
 * SHA-256 checksums of a built asset folder: `checksums.json` lists every file (paths relative
 * to the folder, `/`-separated, sorted) except itself and `build.json`, whose timings differ
 * from run to run. Two builds from the same recipe on the same backend have equal checksums.
 *
 * @module
 */
import { sha256Hex, writeFileAtomic } from "../io/mod.ts";

/** The checksum file's name. */
export const CHECKSUMS_FILE = "checksums.json";

/** The build record's name (not checksummed: it holds timings). */
export const BUILD_FILE = "build.json";

/** `checksums.json`: algorithm and the hex digest of each file. */
export interface Checksums {
  /** The digest algorithm. */
  readonly algorithm: "sha256";
  /** Hex digest by relative path. */
  readonly files: Readonly<Record<string, string>>;
}

/** Every file under `dir` (relative, sorted), except the checksum and build files at the top. */
export async function listAssetFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(rel === "" ? dir : `${dir}/${rel}`)) {
      const path = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory) await walk(path);
      else if (e.isFile && path !== CHECKSUMS_FILE && path !== BUILD_FILE) out.push(path);
    }
  };
  await walk("");
  return out.sort();
}

/** Compute the checksums of a folder. */
export async function computeChecksums(dir: string): Promise<Checksums> {
  const files: Record<string, string> = {};
  for (const f of await listAssetFiles(dir)) {
    files[f] = await sha256Hex(await Deno.readFile(`${dir}/${f}`));
  }
  return { algorithm: "sha256", files };
}

/** Compute and write `<dir>/checksums.json` (atomically). */
export async function writeChecksums(dir: string): Promise<Checksums> {
  const sums = await computeChecksums(dir);
  await writeFileAtomic(`${dir}/${CHECKSUMS_FILE}`, JSON.stringify(sums, null, 2) + "\n");
  return sums;
}

/** One disagreement between `checksums.json` and the folder. */
export interface ChecksumProblem {
  /** The file, relative to the folder. */
  readonly file: string;
  /** What `checksums.json` says (or "not listed"). */
  readonly expected: string;
  /** What the folder has (or "missing"). */
  readonly found: string;
}

/**
 * Compare a folder with its `checksums.json`: every listed file must exist with that digest,
 * and no unlisted file may exist. Returns the problems (empty when all match).
 */
export async function verifyChecksums(dir: string): Promise<ChecksumProblem[]> {
  const listed = JSON.parse(await Deno.readTextFile(`${dir}/${CHECKSUMS_FILE}`)) as Checksums;
  const actual = await computeChecksums(dir);
  const problems: ChecksumProblem[] = [];
  for (const [file, want] of Object.entries(listed.files)) {
    const got = actual.files[file];
    if (got !== want) problems.push({ file, expected: want, found: got ?? "missing" });
  }
  for (const [file, got] of Object.entries(actual.files)) {
    if (!(file in listed.files)) problems.push({ file, expected: "not listed", found: got });
  }
  return problems;
}
