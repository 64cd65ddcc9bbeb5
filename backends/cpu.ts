/**
 * `cpu`: TensorFlow.js's pure-JavaScript kernels. Slow, available everywhere, and the
 * reference every other backend is checked against.
 *
 * @module
 */
import type { BackendProvider } from "./types.ts";
import { activate, tf } from "./tf.ts";

/** Register the cpu backend (idempotent) and silence its one-off Node.js banner. */
export async function ensureCpuRegistered(): Promise<void> {
  await import("@tensorflow/tfjs-backend-cpu");
  const backend = tf.findBackend("cpu") as { firstUse?: boolean } | null;
  if (backend) backend.firstUse = false;
}

/** The pure-JS reference backend. */
export const cpuProvider: BackendProvider = {
  name: "cpu",
  needs: "nothing (pure JavaScript)",
  probe: () =>
    Promise.resolve({
      name: "cpu",
      available: true,
      autoEligible: true,
      reason: "pure JavaScript reference kernels (slow)",
    }),
  init: async () => {
    await ensureCpuRegistered();
    await activate("cpu");
    await ensureCpuRegistered();
    return { name: "cpu", tfBackend: "cpu", device: "CPU (pure JavaScript)", details: {} };
  },
};
