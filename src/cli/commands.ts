/**
 * The CLI's commands, one entry each: a name, a one-line summary for `--help`, and a `run`
 * that receives the parsed command line and the resolved config and returns an exit code.
 * Adding a command is adding an entry here (its failures must be tagged errors that
 * `exit.ts` maps to an exit code; the type checker says when one is missing).
 *
 * @module
 */
import { Effect } from "effect";
import { Backend, formatUnavailable, probeAll } from "../../backends/mod.ts";
import type { ExperimentConfig } from "../config/mod.ts";
import { ConfigInvalid } from "../config/mod.ts";
import { judgeEval, judgeTrain } from "../judges/mod.ts";
import {
  comparisonTable,
  configuredMethods,
  openRunDir,
  type PipelineCommand,
  planRunDir,
  removeIfUntouched,
  runPipeline,
  sweepCells,
} from "../pipeline/mod.ts";
import { defaultWorkers, runPipelineInWorkers, runSweepInWorkers } from "../parallel/mod.ts";
import { clusterSweep, runnerCommand } from "./cluster.ts";
import type { CliFailure, ExitCode } from "./exit.ts";
import type { ParsedCommandLine } from "./parse.ts";

/** What a command runs with. */
export interface CommandContext {
  /** The parsed command line. */
  readonly parsed: ParsedCommandLine;
  /** The config, resolved once (defaults, preset, file, flags; or the resumed run's). */
  readonly config: ExperimentConfig;
  /** Tell the CLI where the run writes, so an interruption can say how to resume it. */
  readonly setRunDir: (dir: string) => void;
}

/** One CLI command: it runs with a config and a backend, or (`backends`) with neither. */
export type CliCommand =
  & {
    /** Its name on the command line. */
    readonly name: string;
    /** One line for `--help`. */
    readonly summary: string;
  }
  & (
    | {
      /** Runs with the resolved config and an initialised backend. */
      readonly needsBackend: true;
      /** Run it; failures are tagged errors the CLI maps to exit codes. */
      readonly run: (ctx: CommandContext) => Effect.Effect<ExitCode, CliFailure, Backend>;
    }
    | {
      /** Needs neither a config nor a backend. */
      readonly needsBackend: false;
      /** Run it. */
      readonly run: () => Effect.Effect<ExitCode>;
    }
  );

const pipelineCommand = (name: PipelineCommand, summary: string): CliCommand => ({
  name,
  summary,
  needsBackend: true,
  run: (ctx) =>
    Effect.gen(function* () {
      const label = name === "run" ? configuredMethods(ctx.config).join("+") : name;
      // Where the run will write, checked now; the folder is made (or an old run replaced)
      // only once every input has passed its checks.
      const plan = yield* planRunDir(ctx.config, label, ctx.parsed.resume);
      ctx.setRunDir(plan.dir);
      console.error(`run directory: ${plan.dir}`);
      const workers = ctx.parsed.execution.workers ?? defaultWorkers();
      const result = name === "run"
        ? yield* runPipelineInWorkers(ctx.config, plan, workers)
        : yield* runPipeline(ctx.config, plan, name);
      if (result.rows.length) console.log(comparisonTable(result.rows));
      const dir = result.runDir;
      console.log(`results: ${dir}/metrics.json, report: ${dir}/report.html`);
      return 0 as const;
    }),
});

const judgeCommand = (name: "judge-eval" | "judge-train", summary: string): CliCommand => ({
  name,
  summary,
  needsBackend: true,
  run: (ctx) =>
    Effect.gen(function* () {
      if (ctx.parsed.resume) {
        return yield* new ConfigInvalid({
          path: "",
          source: "flag --resume",
          detail: `${name} does not resume; run it again`,
        });
      }
      const runDir = yield* openRunDir(ctx.config, name, null);
      console.error(`run directory: ${runDir}`);
      // Refused inputs (checked inside the command) leave no empty run folder behind.
      const lines = yield* (name === "judge-eval"
        ? judgeEval(ctx.config, runDir)
        : judgeTrain(ctx.config, runDir)).pipe(Effect.tapError(() => removeIfUntouched(runDir)));
      for (const line of lines) {
        console.log(line);
      }
      console.log(`report: ${runDir}/judge-report.md`);
      return 0 as const;
    }),
});

/** Every command; the first runs when none is named. */
export const COMMANDS: readonly CliCommand[] = [
  pipelineCommand("run", "the whole experiment: align, fine-tune, evaluate, report (default)"),
  pipelineCommand("align", "the alignment stage only: train, merge and save the aligned model"),
  pipelineCommand("finetune", "the fine-tuning stage only, from an aligned model"),
  pipelineCommand("eval", "evaluate a model (harmful score, fine-tune accuracy)"),
  {
    name: "sweep",
    summary: "a grid over methods, p, n, rho, K1:K2 and seeds; resumable; mean ± std tables",
    needsBackend: true,
    run: (ctx) =>
      Effect.gen(function* () {
        console.error(`sweep: ${sweepCells(ctx.config).length} cells`);
        const db = ctx.parsed.execution.clusterDb;
        if (db) return yield* clusterSweep(ctx.parsed, ctx.config, db);
        if (ctx.parsed.execution.status) {
          return yield* new ConfigInvalid({
            path: "",
            source: "flag --status",
            detail: "watches a cluster sweep: give --cluster.db URL too",
          });
        }
        const plan = yield* planRunDir(ctx.config, "sweep", ctx.parsed.resume);
        ctx.setRunDir(plan.dir);
        console.error(`run directory: ${plan.dir}`);
        const workers = ctx.parsed.execution.workers ?? defaultWorkers();
        console.log(yield* runSweepInWorkers(ctx.config, plan, workers));
        console.log(`report: ${plan.dir}/report.html`);
        return 0 as const;
      }),
  },
  {
    name: "runner",
    summary: "join a cluster (--cluster.db URL) and run sweep cells until stopped",
    needsBackend: true,
    run: (ctx) => runnerCommand(ctx.parsed),
  },
  judgeCommand(
    "judge-eval",
    "measure judges on labelled rows (--judges.data): accuracy, F1, AUROC, agreement",
  ),
  judgeCommand(
    "judge-train",
    "train a classifier or tfidf judge on labelled rows; report on a held-out split",
  ),
  {
    name: "backends",
    summary: "list every tensor backend and whether it can start here",
    needsBackend: false,
    run: () =>
      // probeAll catches each probe's failure and reports it as unavailable.
      Effect.promise(async () => {
        const report = await probeAll();
        console.log(
          formatUnavailable("auto", "listing only", report).split("\n").slice(1).join("\n"),
        );
        return 0 as const;
      }),
  },
];

/** The command named `name`. */
export function commandNamed(name: string): CliCommand | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** Print the backend a command runs on (stderr, so stdout stays the command's output). */
export const announceBackend: Effect.Effect<void, never, Backend> = Effect.map(
  Effect.service(Backend),
  (b) => console.error(`backend: ${b.name} (${b.device})`),
);
