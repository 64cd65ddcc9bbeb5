/**
 * The command-line entry: parse arguments, resolve the config, provide the layers (backend,
 * progress), run the command, and map tagged failures to clear messages and exit codes.
 *
 * @module
 */
import { Effect, Layer } from "effect";
import { Backend, formatUnavailable, probeAll } from "../../backends/mod.ts";
import {
  ConfigInvalid,
  type ExperimentConfig,
  parseArgs,
  type ParsedArgs,
  resolveConfig,
} from "../config/mod.ts";
import {
  comparisonTable,
  openRunDir,
  type PipelineCommand,
  runPipeline,
  runSweep,
  sweepCells,
} from "../pipeline/mod.ts";
import { Progress } from "../train/mod.ts";
import { judgeEval, judgeTrain } from "../judges/mod.ts";
import { COMMANDS, helpText } from "./help.ts";
import { type ExitCode, exitCodeOf, printError } from "./exit.ts";

/**
 * Resolve the config once: defaults, the preset of the model and task, the file, the flags.
 * A resumed run keeps its recorded config (only the backend, and a sweep's grid, may change).
 */
export function configFor(args: ParsedArgs): Effect.Effect<ExperimentConfig, ConfigInvalid> {
  if (!args.resume) return resolveConfig(args);
  // A resumed run keeps its recorded config. A sweep may widen its grid (the aligned
  // models and finished cells are reused); any run may move to another backend.
  const sweepGrid = (k: string) => k.startsWith("sweep.") || k === "method.compare";
  const allowed = (k: string) => k === "backend" || (args.command === "sweep" && sweepGrid(k));
  const extra = args.overrides.filter(([k]) => !allowed(k));
  if (extra.length) {
    return Effect.fail(
      new ConfigInvalid({
        path: extra[0]![0],
        source: `flag --${extra[0]![0]}`,
        detail: "a resumed run keeps its recorded config; only --backend (and, for a sweep, " +
          "--sweep.* and --method.compare) may change",
      }),
    );
  }
  return resolveConfig({ configFile: `${args.resume}/config.json`, overrides: args.overrides });
}

/** Run the CLI with `argv`; returns the exit code instead of exiting (testable). */
export async function main(argv: readonly string[]): Promise<ExitCode> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    printError(e instanceof Error ? e.message : String(e));
    return 2;
  }
  if (args.help) {
    console.log(helpText());
    return 0;
  }
  const command = args.command ?? "run";
  if (!COMMANDS.some(([c]) => c === command)) {
    console.error(
      `error: unknown command '${command}'; expected one of ${COMMANDS.map(([c]) => c).join(", ")}`,
    );
    return 2;
  }
  if (command === "backends") {
    const report = await probeAll();
    console.log(formatUnavailable("auto", "listing only", report).split("\n").slice(1).join("\n"));
    return 0;
  }
  const program = Effect.gen(function* () {
    const config = yield* configFor(args);
    return yield* Effect.gen(function* () {
      const backend = yield* Backend;
      console.error(`backend: ${backend.name} (${backend.device})`);
      if (args.printConfig) {
        console.log(JSON.stringify(config, null, 2));
        return 0 as ExitCode;
      }
      const methods = config.method.compare.length ? config.method.compare : [config.method.name];
      const label = command === "run" ? methods.join("+") : command;
      if (command === "sweep") console.error(`sweep: ${sweepCells(config).length} cells`);
      if ((command === "judge-eval" || command === "judge-train") && args.resume) {
        return yield* new ConfigInvalid({
          path: "",
          source: "flag --resume",
          detail: `${command} does not resume; run it again`,
        });
      }
      const runDir = yield* openRunDir(config, label, args.resume);
      console.error(`run directory: ${runDir}`);
      if (command === "judge-eval" || command === "judge-train") {
        const lines = command === "judge-eval"
          ? yield* judgeEval(config, runDir)
          : yield* judgeTrain(config, runDir);
        for (const line of lines) console.log(line);
        console.log(`report: ${runDir}/judge-report.md`);
        return 0 as ExitCode;
      }
      if (command === "sweep") {
        console.log(yield* runSweep(config, runDir));
        console.log(`report: ${runDir}/report.html`);
        return 0 as ExitCode;
      }
      const result = yield* runPipeline(config, runDir, command as PipelineCommand);
      if (result.rows.length) console.log(comparisonTable(result.rows));
      console.log(`results: ${runDir}/metrics.json, report: ${runDir}/report.html`);
      return 0 as ExitCode;
    }).pipe(Effect.provide(Layer.mergeAll(Backend.layer(config.backend), Progress.auto())));
  });
  return await Effect.runPromise(exitCodeOf(program));
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
