/**
 * The `Progress` service: a one-line progress bar (step, state, loss, tokens/s, ETA) when
 * stdout is a terminal, plain periodic lines otherwise, or nothing.
 *
 * @module
 */
import { Context, Effect, Layer, Option } from "effect";
import type { LisaState } from "./schedule.ts";

/** One progress update. */
export interface ProgressInfo {
  /** Steps completed. */
  readonly done: number;
  /** Steps in the phase. */
  readonly total: number;
  /** State of the last step (`alignment`, `finetune`), or the phase's own word (`eval`). */
  readonly state: LisaState | string;
  /** Loss of the last step. */
  readonly loss: number;
  /** Throughput of the last step. */
  readonly tokensPerSec: number;
  /** Estimated seconds left. */
  readonly etaSec: number;
}

/** What a progress reporter does. */
export interface ProgressShape {
  /** A phase starts. */
  readonly start: (label: string, total: number) => Effect.Effect<void>;
  /** A step finished. */
  readonly update: (info: ProgressInfo) => Effect.Effect<void>;
  /** The phase ended. */
  readonly finish: () => Effect.Effect<void>;
}

/** Format seconds as `1h02m`, `3m05s` or `12s`. */
export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return "?";
  const s = Math.round(sec);
  if (s >= 3600) {
    return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
  }
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

/** The text of one progress line (bar included when `width` > 0). */
export function progressLine(label: string, p: ProgressInfo, width = 0): string {
  const frac = p.total > 0 ? p.done / p.total : 1;
  const filled = Math.round(frac * width);
  const bar = width > 0 ? `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ` : "";
  return `${label} ${bar}${p.done}/${p.total} ${p.state.padEnd(9)} loss ${
    Number.isFinite(p.loss) ? p.loss.toFixed(4) : "-"
  } ` +
    `${p.tokensPerSec.toFixed(0)} tok/s ETA ${formatDuration(p.etaSec)}`;
}

const encoder = new TextEncoder();

/**
 * Progress reporting, provided by one of the layers below. It is optional: the training loop
 * and evaluation report to it when a layer provides one, and to {@link Progress.none}
 * otherwise.
 */
export class Progress extends Context.Service<Progress, ProgressShape>()("lisa/Progress") {
  /** The reporter that reports nothing. */
  static readonly none: ProgressShape = {
    start: () => Effect.void,
    update: () => Effect.void,
    finish: () => Effect.void,
  };
  /** The reporter in the environment, or {@link Progress.none}. */
  static readonly current: Effect.Effect<ProgressShape> = Effect.map(
    Effect.serviceOption(Progress),
    Option.getOrElse(() => Progress.none),
  );
  /** A live bar on a terminal, else a line every `every` steps (default: 20 lines a phase). */
  static auto(every?: number): Layer.Layer<Progress> {
    return Deno.stdout.isTerminal() ? Progress.bar : Progress.lines(every);
  }
  /** A bar redrawn in place. */
  static readonly bar: Layer.Layer<Progress> = Layer.sync(Progress, () => {
    let label = "";
    return {
      start: (l) => Effect.sync(() => void (label = l)),
      update: (p) =>
        Effect.sync(() => {
          Deno.stdout.writeSync(encoder.encode(`\r\x1b[2K${progressLine(label, p, 24)}`));
        }),
      finish: () => Effect.sync(() => void Deno.stdout.writeSync(encoder.encode("\n"))),
    };
  });
  /** Plain lines, one every `every` steps and at the end of the phase. */
  static lines(every?: number): Layer.Layer<Progress> {
    return Layer.sync(Progress, () => {
      let label = "";
      return {
        start: (l) => Effect.sync(() => void (label = l)),
        update: (p) =>
          Effect.sync(() => {
            const n = every ?? Math.max(1, Math.ceil(p.total / 20));
            if (p.done % n === 0 || p.done === p.total) console.log(progressLine(label, p));
          }),
        finish: () => Effect.void,
      };
    });
  }
  /** Reports nothing (the same as providing no layer). */
  static readonly silent: Layer.Layer<Progress> = Layer.succeed(Progress, Progress.none);
}
