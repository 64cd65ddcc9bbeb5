/**
 * Choosing a backend: probe them all, pick one by name or by `auto` priority, initialise it.
 *
 * @module
 */
import { cpuProvider } from "./cpu.ts";
import { nativeProvider } from "./native.ts";
import { tensorflowProvider } from "./tensorflow.ts";
import { wasmProvider } from "./wasm.ts";
import { webgpuProvider } from "./webgpu.ts";
import { BackendUnavailable } from "./errors.ts";
import {
  AUTO_PRIORITY,
  type Availability,
  BACKEND_NAMES,
  type BackendChoice,
  type BackendInfo,
  type BackendName,
  type BackendProvider,
  isBackendName,
} from "./types.ts";

const providers = new Map<BackendName, BackendProvider>([
  ["cpu", cpuProvider],
  ["wasm", wasmProvider],
  ["webgpu", webgpuProvider],
  ["tensorflow", tensorflowProvider],
  ["native", nativeProvider],
]);

/** The provider registered for `name`. */
export function provider(name: BackendName): BackendProvider {
  const p = providers.get(name);
  if (!p) throw new Error(`no provider registered for backend '${name}'`);
  return p;
}

/**
 * Replace the provider for a backend name. The native engine registers itself here; tests may
 * use it to simulate a missing backend.
 */
export function registerProvider(p: BackendProvider): void {
  providers.set(p.name, p);
}

/** Probe every backend, in the canonical order of {@link BACKEND_NAMES}. */
export async function probeAll(): Promise<Availability[]> {
  const out: Availability[] = [];
  for (const name of BACKEND_NAMES) {
    try {
      out.push(await provider(name).probe());
    } catch (e) {
      out.push({
        name,
        available: false,
        autoEligible: false,
        reason: `probe failed: ${e instanceof Error ? e.message : e}`,
      });
    }
  }
  return out;
}

const errorText = (e: unknown): string => e instanceof Error ? e.message : String(e);

/**
 * Initialise the requested backend and make it active. `auto` tries {@link AUTO_PRIORITY} in
 * order, skipping backends whose probe says they are unavailable or not auto-eligible, and
 * takes the first that initialises.
 *
 * @throws {BackendUnavailable} when the backend (or, for `auto`, every backend) fails.
 */
export async function initBackend(choice: BackendChoice): Promise<BackendInfo> {
  const report = await probeAll();
  if (choice !== "auto") {
    if (!isBackendName(choice)) {
      throw new BackendUnavailable({
        requested: choice,
        cause: `unknown backend; expected one of auto, ${BACKEND_NAMES.join(", ")}`,
        report,
      });
    }
    const probed = report.find((a) => a.name === choice);
    if (probed && !probed.available) {
      throw new BackendUnavailable({ requested: choice, cause: probed.reason, report });
    }
    try {
      return await provider(choice).init();
    } catch (e) {
      throw new BackendUnavailable({ requested: choice, cause: errorText(e), report });
    }
  }
  const failures: string[] = [];
  for (const name of AUTO_PRIORITY) {
    const probed = report.find((a) => a.name === name);
    if (!probed?.available || !probed.autoEligible) continue;
    try {
      return await provider(name).init();
    } catch (e) {
      failures.push(`${name}: ${errorText(e)}`);
    }
  }
  throw new BackendUnavailable({
    requested: "auto",
    cause: failures.length ? failures.join("; ") : "no backend is available",
    report,
  });
}
