/**
 * The run report's settings note names the Bi-State settings only where a reported row used them.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Effect } from "effect";
import { resolveConfig } from "../src/config/mod.ts";
import { settingsNote } from "../src/pipeline/report.ts";
import { fixtureRuns } from "./_report_fixture.ts";

Deno.test("report note: K1:K2 and rho only where a row alternated states or had the proximal term", async () => {
  const cfg = await Effect.runPromise(resolveConfig({}));
  const runs = fixtureRuns().filter((r) => r.p === 0.1 && r.seed === 0);
  const sft = runs.filter((r) => r.method === "SFT");
  const bso = runs.filter((r) => r.method !== "Lisa");
  const k = `${cfg.method.alignmentSteps}:${cfg.method.finetuneSteps}`;
  assert.equal(settingsNote(cfg, sft), `Seed ${cfg.seed}.`);
  assert.equal(settingsNote(cfg, []), `Seed ${cfg.seed}.`);
  assert.equal(settingsNote(cfg, bso), `Seed ${cfg.seed}; K1:K2 = ${k}.`);
  assert.equal(
    settingsNote(cfg, runs),
    `Seed ${cfg.seed}; K1:K2 = ${k}, rho = ${cfg.method.rho}.`,
  );
});
