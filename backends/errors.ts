import { Data } from "effect";
import type { Availability, BackendChoice } from "./types.ts";

/**
 * The requested backend could not be initialised. `report` lists every backend and why each
 * is or is not available, so the user can pick another or install what is missing.
 */
export class BackendUnavailable extends Data.TaggedError("BackendUnavailable")<{
  readonly requested: BackendChoice;
  readonly cause: string;
  readonly report: readonly Availability[];
}> {
  /** A multi-line explanation fit for a terminal. */
  override get message(): string {
    return formatUnavailable(this.requested, this.cause, this.report);
  }
}

/** Render the availability report as the text shown to the user. */
export function formatUnavailable(
  requested: BackendChoice,
  cause: string,
  report: readonly Availability[],
): string {
  const width = Math.max(...report.map((a) => a.name.length));
  const lines = report.map((a) =>
    `  ${a.name.padEnd(width)}  ${a.available ? "available  " : "unavailable"}  ${a.reason}`
  );
  return [`backend '${requested}' is unavailable: ${cause}`, "backends on this machine:", ...lines]
    .join("\n");
}
