/**
 * The small contract every tensor backend fulfils: a name, what it needs, a cheap probe
 * that says whether it can start here, and an `init` that makes it the active
 * TensorFlow.js backend.
 *
 * @module
 */

/** Every backend name the project knows, including the `native` slot. */
export const BACKEND_NAMES = ["native", "tensorflow", "webgpu", "wasm", "cpu"] as const;

/** A backend name. */
export type BackendName = typeof BACKEND_NAMES[number];

/** What a user may ask for: a backend by name, or `auto`. */
export type BackendChoice = BackendName | "auto";

/** Whether `name` is one of {@link BACKEND_NAMES}. */
export function isBackendName(name: string): name is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(name);
}

/** Whether `choice` is a backend name or `auto`. */
export function isBackendChoice(choice: string): choice is BackendChoice {
  return choice === "auto" || isBackendName(choice);
}

/**
 * The order `auto` tries backends in, fastest first. `webgpu` counts here only on a hardware
 * adapter; a software adapter (lavapipe) is slower than the CPU backends and is used only
 * when asked for by name.
 */
export const AUTO_PRIORITY: readonly BackendName[] = [
  "tensorflow",
  "webgpu",
  "native",
  "wasm",
  "cpu",
];

/** The outcome of probing one backend. */
export interface Availability {
  /** The backend this describes. */
  readonly name: BackendName;
  /** True when `init` is expected to succeed. */
  readonly available: boolean;
  /** True when `auto` may pick it (available and not a slow fallback such as a software GPU). */
  readonly autoEligible: boolean;
  /** Why it is or is not available, in words a user can act on. */
  readonly reason: string;
}

/** What the active backend is, as reported to users and written in run records. */
export interface BackendInfo {
  /** The backend's name. */
  readonly name: BackendName;
  /** The TensorFlow.js backend name that is active (`native` registers its own). */
  readonly tfBackend: string;
  /** The device, e.g. `"CPU (pure JS)"`, `"llvmpipe (software Vulkan)"`. */
  readonly device: string;
  /** Free-form details: SIMD, threads, BLAS library path... */
  readonly details: Readonly<Record<string, string | number | boolean>>;
}

/** One backend implementation. */
export interface BackendProvider {
  /** The name it registers under. */
  readonly name: BackendName;
  /** What the backend needs on the machine, for the README table and error messages. */
  readonly needs: string;
  /** A cheap check that does not change the active backend. */
  readonly probe: () => Promise<Availability>;
  /** Initialise the backend and make it the active TensorFlow.js backend. */
  readonly init: () => Promise<BackendInfo>;
}
