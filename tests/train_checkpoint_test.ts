/**
 * Checkpoint fallback: a newest checkpoint that fails its check is skipped with a warning and
 * the previous one is loaded; only when every kept checkpoint fails does loading fail; a run
 * with none starts afresh. A half-written checkpoint (its temporary folder) is never listed.
 */
import assert from "node:assert/strict";
import { Effect, Exit } from "effect";
import { tf } from "../backends/mod.ts";
import {
  CheckpointCorrupt,
  type CheckpointData,
  disposeCheckpoint,
  listCheckpoints,
  loadNewestIntact,
  saveCheckpoint,
} from "../src/train/mod.ts";
import { useBackend } from "./_helpers.ts";

function data(step: number): CheckpointData {
  return {
    step,
    state: "finetune",
    weights: { w: tf.tensor1d([step, step + 0.5]) },
    optimizer: { step, m: { w: tf.tensor1d([0.1, 0.2]) }, v: { w: tf.tensor1d([0.3, 0.4]) } },
    anchors: null,
    methodTensors: {},
    rng: null,
    cursors: { finetune: step },
  };
}

async function save(dir: string, step: number): Promise<string> {
  const d = data(step);
  const path = await Effect.runPromise(saveCheckpoint(dir, d));
  tf.dispose([...Object.values(d.weights), ...Object.values(d.optimizer.m), d.optimizer.v.w!]);
  return path;
}

function damage(file: string): void {
  const bytes = Deno.readFileSync(file);
  bytes[bytes.length - 1]! ^= 0xff;
  Deno.writeFileSync(file, bytes);
}

Deno.test("checkpoints: a damaged newest one falls back to the previous, with a warning", async () => {
  await useBackend("cpu");
  const dir = await Deno.makeTempDir({ prefix: "lisa-ckpt-" });
  const before = tf.memory().numTensors;
  const warnings: string[] = [];
  const warn = (m: string) => void warnings.push(m);

  assert.equal(await Effect.runPromise(loadNewestIntact(dir, warn)), null, "none: start afresh");
  await save(dir, 2);
  const newest = await save(dir, 4);
  // A checkpoint interrupted mid-write is only a temporary folder: never a candidate.
  await Deno.mkdir(`${dir}/checkpoints/.tmp-step-00000006`);
  assert.equal(listCheckpoints(dir).length, 2);

  const good = (await Effect.runPromise(loadNewestIntact(dir, warn)))!;
  assert.equal(good.step, 4);
  assert.deepEqual(warnings, []);
  disposeCheckpoint(good);

  damage(`${newest}/weights.safetensors`);
  const older = (await Effect.runPromise(loadNewestIntact(dir, warn)))!;
  assert.equal(older.step, 2);
  assert.deepEqual(Array.from(await older.weights.w!.data()), [2, 2.5]);
  disposeCheckpoint(older);
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0]!,
    /step-00000004.*failed its check.*SHA-256.*previous one.*step-00000002/,
  );

  damage(`${dir}/checkpoints/step-00000002/state.json`);
  const exit = await Effect.runPromiseExit(loadNewestIntact(dir, warn));
  assert.ok(Exit.isFailure(exit));
  const err = exit.cause.reasons.find((r) => r._tag === "Fail");
  assert.ok(err && "error" in err && err.error instanceof CheckpointCorrupt);
  assert.match(err.error.file, /step-00000004\/weights\.safetensors$/, "the newest is named");
  assert.equal(tf.memory().numTensors, before, "no tensor leaked");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("fault points: LISA_FAULT names a point and the hit that kills", async () => {
  const { parseFaults } = await import("../src/io/fault.ts");
  assert.deepEqual(
    [...parseFaults("checkpoint-write@2, report-write").entries()],
    [["checkpoint-write", 2], ["report-write", 1]],
  );
  assert.throws(() => parseFaults("checkpoint-writ@2"), /not <point>@<n>/);
  assert.throws(() => parseFaults("atomic-write@0"), /not <point>@<n>/);
});
