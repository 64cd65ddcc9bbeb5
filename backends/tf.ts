/**
 * The one TensorFlow.js core instance every part of the project shares. Importing it loads
 * tfjs-core and registers gradients; no backend is registered or initialised here.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
// Gradients: tfjs-core's own registrations cannot load under Deno, so ours are registered
// here, once, for every importer of `tf`. Registering gradients starts no backend.
import "./gradients.ts";

export { tf };

/** Make `name` the active backend, failing with a readable reason when it cannot start. */
export async function activate(name: string): Promise<void> {
  let ok = false;
  try {
    ok = await tf.setBackend(name);
    await tf.ready();
  } catch (e) {
    throw new Error(`tf.setBackend('${name}') failed: ${e instanceof Error ? e.message : e}`);
  }
  if (!ok || tf.getBackend() !== name) {
    throw new Error(`tf.setBackend('${name}') did not initialise the backend`);
  }
}
