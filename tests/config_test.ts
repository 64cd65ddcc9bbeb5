import assert from "node:assert/strict";
import {
  CONFIG_FIELDS,
  ConfigInvalid,
  decodeConfig,
  DEFAULT_CONFIG,
  parseArgs,
  resolveConfig,
} from "../src/config/mod.ts";

const rejects = async (p: Promise<unknown>, path: string, re: RegExp) => {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ConfigInvalid, `expected ConfigInvalid, got ${e}`);
    assert.equal(e.path, path);
    assert.match(e.message, re);
    return true;
  });
};

Deno.test("defaults are the paper's reference values and decode cleanly", () => {
  const cfg = decodeConfig(DEFAULT_CONFIG, "defaults");
  assert.equal(cfg.method.alignmentSteps, 100);
  assert.equal(cfg.method.finetuneSteps, 900);
  assert.equal(cfg.method.rho, 1);
  assert.equal(cfg.method.proximalWarmup, 0.1);
  assert.equal(cfg.finetune.lora.r, 8);
  assert.deepEqual(cfg.finetune.lora.targets, ["q_proj", "v_proj"]);
  assert.equal(cfg.alignment.lora.r, 16);
  assert.equal(cfg.alignment.optim.lr, 1e-3);
  assert.equal(cfg.finetune.optim.lr, 1e-5);
  assert.equal(cfg.finetune.optim.maxGradNorm, 1);
  assert.equal(cfg.data.p, 0.1);
  assert.equal(cfg.data.n, 5000);
});

Deno.test("every config field is documented", () => {
  assert.ok(CONFIG_FIELDS.length > 40);
  for (const f of CONFIG_FIELDS) assert.ok(f.description.length > 5, `${f.path} lacks a doc`);
});

Deno.test("load order: defaults, then file, then flags", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/exp.json`;
  await Deno.writeTextFile(file, JSON.stringify({ method: { rho: 0.5, name: "bso" }, seed: 7 }));
  const cfg = await resolveConfig(
    parseArgs(["--config", file, "--method.rho=2", "--finetune.lora.targets", "q_proj,k_proj"]),
  );
  assert.equal(cfg.method.rho, 2);
  assert.equal(cfg.method.name, "bso");
  assert.equal(cfg.seed, 7);
  assert.deepEqual(cfg.finetune.lora.targets, ["q_proj", "k_proj"]);
  assert.equal(cfg.method.alignmentSteps, 100);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("invalid values are rejected with the field path", async () => {
  await rejects(resolveConfig(parseArgs(["--method.rho=-1"])), "method.rho", /greater than/);
  await rejects(resolveConfig(parseArgs(["--data.p", "1.5"])), "data.p", /between 0 and 1/);
  await rejects(resolveConfig(parseArgs(["--method.name=dpo"])), "method.name", /"lisa"/);
  await rejects(resolveConfig(parseArgs(["--method.rho=abc"])), "method.rho", /expected a number/);
  await rejects(resolveConfig(parseArgs(["--method.rh=1"])), "method.rh", /unknown option/);
  await rejects(
    resolveConfig(parseArgs(["--method.alignmentSteps=0", "--method.finetuneSteps=0"])),
    "method.alignmentSteps",
    /alignmentSteps \+ finetuneSteps > 0/,
  );
  await rejects(
    resolveConfig(parseArgs(["--finetune.lora.targets=q_proj,qq_proj"])),
    "finetune.lora.targets.1",
    /q_proj/,
  );
});

Deno.test("unknown keys and bad JSON in a config file name the file", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/bad.json`;
  await Deno.writeTextFile(file, JSON.stringify({ method: { rho: 1, extra: true } }));
  await rejects(resolveConfig(parseArgs(["--config", file])), "method.extra", /bad\.json/);
  await Deno.writeTextFile(file, "{ not json");
  await rejects(resolveConfig(parseArgs(["--config", file])), "", /not valid JSON/);
  await rejects(resolveConfig(parseArgs(["--config", `${dir}/missing.json`])), "", /cannot read/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("parseArgs separates the command, switches and overrides", () => {
  const a = parseArgs(["align", "--print-config", "--seed", "3", "--data.skipInvalid"]);
  assert.equal(a.command, "align");
  assert.equal(a.printConfig, true);
  assert.deepEqual(a.overrides, [["seed", "3"], ["data.skipInvalid", true]]);
});
