/**
 * `deno task rescore`: judge the saved answers of finished runs or sweeps again with the
 * configured judge and write a new report (see `src/pipeline/rescore.ts`); nothing is trained
 * or evaluated, and the source folders are only read.
 *
 * ```sh
 * deno task rescore --out runs/rho-rescored --runs runs/rho [--split validation] [--backend native]
 * deno task rescore --out runs/methods-rescored --runs runs/methods-a,runs/methods-b
 * ```
 *
 * @module
 */
import { Data, Effect } from "effect";
import {
  BACKEND_NAMES,
  type BackendChoice,
  initBackendEffect,
  isBackendChoice,
} from "../../backends/mod.ts";
import { rescore, type RescoreResult } from "../pipeline/rescore.ts";
import { printError } from "./exit.ts";
import { parseToolFlags } from "./parser.ts";

/** A bad command line. */
export class RescoreArgsInvalid extends Data.TaggedError("RescoreArgsInvalid")<{
  readonly detail: string;
}> {
  /** The one line shown. */
  override get message(): string {
    return this.detail;
  }
}

/** What the command line asks for, or null when `--help` answered. */
export interface RescoreArgs {
  /** The new report folder. */
  readonly out: string;
  /** Run or sweep folders. */
  readonly runs: string[];
  /** The split whose answers are judged (default: each folder's own). */
  readonly split?: "test" | "validation";
  /** The tensor backend the judge runs on (default `auto`). */
  readonly backend: BackendChoice;
}

/** Parse `--out`, `--runs` and `--split`. */
export function parseRescoreArgs(
  argv: readonly string[],
): Effect.Effect<RescoreArgs | null, RescoreArgsInvalid> {
  return parseToolFlags("rescore", {
    values: ["out", "runs", "split", "backend"],
    switches: [],
  }, argv).pipe(
    Effect.mapError((e) => new RescoreArgsInvalid({ detail: e.message })),
    Effect.flatMap((flags) => {
      if (!flags) return Effect.succeed(null);
      const out = flags.get("out");
      const runs = (flags.get("runs") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
      if (!out || runs.length === 0) {
        return Effect.fail(
          new RescoreArgsInvalid({
            detail: "rescore: --out DIR and --runs DIR[,DIR...] are both required",
          }),
        );
      }
      const split = flags.get("split");
      if (split !== undefined && split !== "test" && split !== "validation") {
        return Effect.fail(
          new RescoreArgsInvalid({
            detail: `rescore: --split: expected test or validation, found '${split}'`,
          }),
        );
      }
      const backend = flags.get("backend") ?? "auto";
      if (!isBackendChoice(backend)) {
        return Effect.fail(
          new RescoreArgsInvalid({
            detail: `rescore: --backend: expected auto or one of ${BACKEND_NAMES.join(", ")}, ` +
              `found '${backend}'`,
          }),
        );
      }
      return Effect.succeed({
        out,
        runs,
        backend,
        ...(split ? { split } : {}),
      });
    }),
  );
}

/** The lines printed when done: each re-judged model's HS before and after. */
export function rescoreLines(r: RescoreResult): string {
  return [
    `judge ${r.judge.name} (version ${r.judge.version}); ${r.flips.length} verdict(s) changed`,
    ...r.rows.map((x) =>
      `${x.model} seed ${x.seed}: HS ${x.HS.before.toFixed(1)} -> ${x.HS.after.toFixed(1)} ` +
      `(${x.flagged.before} -> ${x.flagged.after} of ${x.n})`
    ),
  ].join("\n");
}

if (import.meta.main) {
  const code = await Effect.runPromise(
    parseRescoreArgs(Deno.args).pipe(
      Effect.flatMap((args) =>
        args
          ? Effect.map(
            Effect.flatMap(
              initBackendEffect(args.backend),
              () => rescore(args.out, args.runs, args.split ? { split: args.split } : {}),
            ),
            (r) => {
              console.log(rescoreLines(r));
              console.log(`report: ${args.out}/report.md`);
              return 0;
            },
          )
          : Effect.succeed(0)
      ),
      Effect.catchTags({
        RescoreArgsInvalid: (e) => Effect.sync(() => (printError(e.message), 2)),
        RescoreInvalid: (e) => Effect.sync(() => (printError(e.message), 2)),
        SweepsNotMergeable: (e) => Effect.sync(() => (printError(e.message), 2)),
        AssetInvalid: (e) => Effect.sync(() => (printError(e.message), 2)),
        BackendUnavailable: (e) => Effect.sync(() => (printError(e.message), 2)),
        IOFailed: (e) => Effect.sync(() => (printError(e.message), 1)),
        ReportWriteFailed: (e) => Effect.sync(() => (printError(e.message), 1)),
      }),
      Effect.catch((e) => Effect.sync(() => (printError(judgeErrorText(e)), 1))),
    ),
  );
  Deno.exit(code);
}

/** The judge's failure as one line. */
function judgeErrorText(e: unknown): string {
  return `rescore: the judge failed: ${e instanceof Error ? e.message : String(e)}`;
}
