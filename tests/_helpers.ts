/**
 * Shared test helpers: which backends to run on, and leak checks.
 *
 * `LISA_TEST_BACKENDS=cpu,wasm` restricts the backends a test run uses; by default every
 * backend that probes available (cpu, wasm, webgpu on lavapipe, native when built) is used.
 *
 * @module
 */
import { Effect } from "effect";
import {
  Backend,
  type BackendInfo,
  type BackendName,
  initBackend,
  probeAll,
  tf,
} from "../backends/mod.ts";
import { COMMANDS } from "../src/cli/commands.ts";
import { parseCommandLine, type ParsedCommandLine } from "../src/cli/parse.ts";

let cached: BackendName[] | null = null;

/** The backends tests should run on here. */
export async function testBackends(): Promise<BackendName[]> {
  if (cached) return cached;
  const only = Deno.env.get("LISA_TEST_BACKENDS")?.split(",").map((s) => s.trim());
  const report = await probeAll();
  cached = report
    .filter((a) => a.available && a.name !== "tensorflow")
    .map((a) => a.name)
    .filter((n) => !only || only.includes(n));
  return cached;
}

let active: BackendInfo | null = null;

/** Make `name` the active backend (the one {@link withBackend} provides). */
export async function useBackend(name: BackendName): Promise<void> {
  active = await initBackend(name);
}

/**
 * Provide the backend made active by {@link useBackend} (the cpu backend when none was) to a
 * stage that requires it: the test's own layer.
 */
export function withBackend<A, E>(effect: Effect.Effect<A, E, Backend>): Effect.Effect<A, E> {
  return Effect.gen(function* () {
    if (!active) yield* Effect.promise(() => useBackend("cpu"));
    return yield* Effect.provideService(effect, Backend, Backend.fromInfo(active!));
  });
}

/** Run `fn` and return how many tensors it left allocated. */
export async function leakedTensors(fn: () => unknown | Promise<unknown>): Promise<number> {
  const before = tf.memory().numTensors;
  await fn();
  return tf.memory().numTensors - before;
}

/** The shared real-data folder `../shared/data/<sub>`, or null when it is absent. */
export function sharedData(sub: string): string | null {
  const dir = new URL(`../../shared/data/${sub}`, import.meta.url).pathname;
  try {
    Deno.statSync(dir);
    return dir;
  } catch {
    return null;
  }
}

/**
 * The name and `ignore` flag of a test that needs something this machine may lack: when
 * `missing` (the reason) is not null the test is ignored, never silently passed, and its name
 * says why.
 */
export function requires(name: string, missing: string | null): { name: string; ignore: boolean } {
  return missing === null
    ? { name, ignore: false }
    : { name: `${name} (ignored: ${missing})`, ignore: true };
}

/** The reason a real-data test cannot run, or null when `../shared/data/<sub>` is present. */
export function missingSharedData(sub: string): string | null {
  return sharedData(sub) === null ? `../shared/data/${sub} is absent` : null;
}

/** Deterministic values in [-1, 1) from a small LCG (no Math.random), for kernel inputs. */
export function seededValues(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/**
 * A command line parsed by the CLI's own parser (`effect/cli`): the command and the config's
 * sources, ready for `resolveConfig`. Throws on a usage error.
 */
export function commandLine(argv: readonly string[]): ParsedCommandLine {
  const parsed = Effect.runSync(parseCommandLine(argv, COMMANDS.map((c) => c.name)));
  if (!parsed) throw new Error("the parser answered by itself (--help or --version)");
  return parsed;
}

/** Assert `got` is within `tol` of `want` (relative beyond 1, absolute below), naming `what`. */
export function assertClose(got: number, want: number, tol: number, what: string): void {
  if (!(Math.abs(got - want) <= tol * Math.max(1, Math.abs(want)))) {
    throw new Error(`${what}: ${got} vs ${want} (tolerance ${tol})`);
  }
}

/**
 * A JSON record without its wall-clock fields (seconds, tokens/s) and run folder names: what
 * two runs of the same config and seed must agree on.
 */
export function timeless(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(timeless);
  if (x && typeof x === "object") {
    return Object.fromEntries(
      Object.entries(x)
        .filter(([k]) => !/seconds|tokensPerSec|runDir/i.test(k))
        .map(([k, v]) => [k, timeless(v)]),
    );
  }
  return x;
}
