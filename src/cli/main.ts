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
  EMBEDDED_DATA_SIZES,
  EMBEDDED_PRESET,
  openRunDir,
  type PipelineCommand,
  runPipeline,
  runSweep,
  sweepCells,
} from "../pipeline/mod.ts";
import { Progress } from "../train/mod.ts";
import { judgeEval, judgeTrain } from "../judges/mod.ts";
import { COMMANDS, helpText } from "./help.ts";

/** The process exit code of a CLI invocation. */
export type ExitCode = 0 | 1 | 2;

/** Failures caused by the user's input (config, data, paths, machine): exit code 2. */
const USAGE_ERRORS = new Set([
  "ConfigInvalid",
  "BackendUnavailable",
  "DataInvalid",
  "SourceTooSmall",
  "SplitOverlap",
  "AssetInvalid",
  "RunDirInvalid",
  "RunDirExists",
  "JudgeConfigInvalid",
  "TokenizerInvalid",
  "SafetensorsInvalid",
  "AdapterInvalid",
  "ClassifierCorrupt",
  "FileInvalid",
]);

/**
 * Resolve the config: the embedded preset applies under the user's choices when the model is
 * the embedded one; with a user's model on an embedded task, only the embedded data sizes do.
 */
export async function configFor(args: ParsedArgs): Promise<ExperimentConfig> {
  if (args.resume) {
    // A resumed run keeps its recorded config. A sweep may widen its grid (the aligned
    // models and finished cells are reused); any run may move to another backend.
    const sweepGrid = (k: string) => k.startsWith("sweep.") || k === "method.compare";
    const allowed = (k: string) => k === "backend" || (args.command === "sweep" && sweepGrid(k));
    const extra = args.overrides.filter(([k]) => !allowed(k));
    if (extra.length) {
      throw new ConfigInvalid({
        path: extra[0]![0],
        source: `flag --${extra[0]![0]}`,
        detail: "a resumed run keeps its recorded config; only --backend (and, for a sweep, " +
          "--sweep.* and --method.compare) may change",
      });
    }
    return await resolveConfig({
      configFile: `${args.resume}/config.json`,
      overrides: args.overrides,
    });
  }
  const plain = await resolveConfig(args);
  if (!plain.model.path) return await resolveConfig(args, EMBEDDED_PRESET);
  return plain.data.task.startsWith("embedded-")
    ? await resolveConfig(args, EMBEDDED_DATA_SIZES)
    : plain;
}

function describe(e: unknown): { tag: string; message: string } {
  if (typeof e === "object" && e !== null && "_tag" in e) {
    const tag = String((e as { _tag: unknown })._tag);
    const message = "message" in e && (e as { message: unknown }).message
      ? String((e as { message: unknown }).message)
      : JSON.stringify(e);
    return { tag, message };
  }
  return { tag: "Error", message: e instanceof Error ? e.message : String(e) };
}

/** Run the CLI with `argv`; returns the exit code instead of exiting (testable). */
export async function main(argv: readonly string[]): Promise<ExitCode> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    console.error(`error: ${describe(e).message}`);
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
    const config = yield* Effect.tryPromise({ try: () => configFor(args), catch: (e) => e });
    const backend = yield* Backend;
    console.error(`backend: ${backend.name} (${backend.device})`);
    if (args.printConfig) {
      console.log(JSON.stringify(config, null, 2));
      return 0 as ExitCode;
    }
    const methods = config.method.compare.length ? config.method.compare : [config.method.name];
    const label = command === "run" ? methods.join("+") : command;
    if (command === "sweep" && args.printConfig === false) {
      console.error(`sweep: ${sweepCells(config).length} cells`);
    }
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
    if (result.rows.length) {
      console.log(comparisonTable(result.rows));
    }
    console.log(`results: ${runDir}/metrics.json, report: ${runDir}/report.html`);
    return 0 as ExitCode;
  });
  const layers = Layer.mergeAll(
    Layer.unwrap(
      Effect.tryPromise({ try: () => configFor(args), catch: (e) => e }).pipe(
        Effect.map((c) => Backend.layer(c.backend)),
      ),
    ),
    Progress.auto(),
  );
  const exit = await Effect.runPromiseExit(Effect.provide(program, layers));
  if (exit._tag === "Success") return exit.value;
  const failure = exit.cause.reasons.find((r) => r._tag === "Fail");
  if (failure && "error" in failure) {
    const { tag, message } = describe(failure.error);
    console.error(`error: ${message}`);
    return USAGE_ERRORS.has(tag) ? 2 : 1;
  }
  console.error(`error: ${String(exit.cause)}`);
  return 1;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
