/**
 * Run folders: `--output.overwrite` replaces only a folder this tool made (it holds the
 * marker), never one reached through `..`, a path, an absolute name or a symlink, and never a
 * user's folder; generated names never collide; an output folder that cannot take files is
 * named before anything runs. Each refusal leaves every file where it was.
 */
import assert from "node:assert/strict";
import { Effect, Exit } from "effect";
import { resolveConfig } from "../src/config/mod.ts";
import {
  createRunDir,
  isRunFolder,
  openRunDir,
  planRunDir,
  RUN_MARKER,
  RunDirInvalid,
} from "../src/pipeline/mod.ts";
import { filesUnder } from "./_cli.ts";
import { commandLine } from "./_helpers.ts";

const config = (...flags: string[]) => Effect.runPromise(resolveConfig(commandLine(flags)));

async function refused(flags: string[], pattern: RegExp): Promise<void> {
  const exit = await Effect.runPromiseExit(openRunDir(await config(...flags), "run", null));
  assert.ok(Exit.isFailure(exit), `expected ${flags.join(" ")} to be refused`);
  const err = exit.cause.reasons.find((r) => r._tag === "Fail");
  assert.ok(err && "error" in err && err.error instanceof RunDirInvalid, String(exit.cause));
  assert.match(err.error.message, pattern);
}

/** Every file under `dir` with its contents, to show nothing changed. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of filesUnder(dir)) {
    const path = `${dir}/${f}`;
    out[f] = Deno.lstatSync(path).isSymlink
      ? `-> ${Deno.readLinkSync(path)}`
      : await Deno.readTextFile(path);
  }
  return out;
}

Deno.test("overwrite: a folder without the marker is refused and left as it was", async () => {
  const root = await Deno.makeTempDir({ prefix: "lisa-rundir-" });
  await Deno.mkdir(`${root}/x/precious`, { recursive: true });
  await Deno.writeTextFile(`${root}/x/precious/notes.txt`, "hi");
  await Deno.writeTextFile(`${root}/x/precious/config.json`, "{}"); // looks like a run; is not ours
  const before = await snapshot(root);
  await refused(
    [`--output.dir=${root}/x`, "--output.name=precious", "--output.overwrite=true"],
    /not a run folder this tool made \(no \.lisa-run\.json\)/,
  );
  assert.deepEqual(await snapshot(root), before);
  await Deno.remove(root, { recursive: true });
});

Deno.test("overwrite: '..', paths, absolute names and symlinks are refused", async () => {
  const root = await Deno.makeTempDir({ prefix: "lisa-rundir-" });
  await Deno.mkdir(`${root}/runs/old`, { recursive: true });
  await Deno.mkdir(`${root}/elsewhere`);
  await Deno.writeTextFile(`${root}/elsewhere/${RUN_MARKER}`, '{"tool":"lisa-safe-finetune"}');
  await Deno.writeTextFile(`${root}/elsewhere/keep.txt`, "mine");
  await Deno.symlink(`${root}/elsewhere`, `${root}/runs/link`);
  const before = await snapshot(root);
  const dir = `--output.dir=${root}/runs`;
  for (const name of ["..", ".", "../elsewhere", "a/b", `${root}/elsewhere`, " old", "x\\y"]) {
    await refused([dir, `--output.name=${name}`, "--output.overwrite=true"], /one folder name/);
  }
  await refused([dir, "--output.name=link", "--output.overwrite=true"], /symbolic link/);
  assert.deepEqual(await snapshot(root), before);
  await Deno.remove(root, { recursive: true });
});

Deno.test("overwrite: a marked run folder is replaced, only when the run is created", async () => {
  const root = await Deno.makeTempDir({ prefix: "lisa-rundir-" });
  const first = await Effect.runPromise(
    openRunDir(await config(`--output.dir=${root}`, "--output.name=r"), "run", null),
  );
  assert.ok(isRunFolder(first));
  await Deno.writeTextFile(`${first}/metrics.json`, "{}");
  const cfg = await config(`--output.dir=${root}`, "--output.name=r", "--output.overwrite=true");
  const plan = await Effect.runPromise(planRunDir(cfg, "run", null));
  assert.equal(plan.replace, true);
  assert.ok(filesUnder(first).includes("metrics.json"), "planning deletes nothing");
  await Effect.runPromise(createRunDir(cfg, plan));
  assert.deepEqual(filesUnder(first), [RUN_MARKER, "config.json"].sort());
  // Without overwrite the same folder is refused.
  await refused([`--output.dir=${root}`, "--output.name=r"], /already holds a run/);
  await Deno.remove(root, { recursive: true });
});

Deno.test("run names: generated names never collide, even within one second", async () => {
  const root = await Deno.makeTempDir({ prefix: "lisa-rundir-" });
  const cfg = await config(`--output.dir=${root}`);
  const dirs = await Promise.all(
    Array.from({ length: 4 }, () => Effect.runPromise(openRunDir(cfg, "lisa", null))),
  );
  assert.equal(new Set(dirs).size, 4, dirs.join(" "));
  for (const d of dirs) assert.ok(isRunFolder(d), d);
  await Deno.remove(root, { recursive: true });
});

Deno.test("output folder: one that cannot take run folders is named before anything runs", async () => {
  const root = await Deno.makeTempDir({ prefix: "lisa-rundir-" });
  await Deno.writeTextFile(`${root}/file`, "x");
  await refused([`--output.dir=${root}/file`], /is not a folder/);
  await refused([`--output.dir=${root}/file/sub`], /is not a folder/);
  assert.deepEqual(filesUnder(root), ["file"]);
  await Deno.remove(root, { recursive: true });
});
