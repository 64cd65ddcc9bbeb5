/**
 * `tensorflow`: libtensorflow through `@tensorflow/tfjs-node` (CPU) or `@tensorflow/tfjs-node-gpu`
 * (CUDA). Optional: it is loaded only when the user has installed one of those packages
 * (their install script downloads libtensorflow, which needs network access). It must be the
 * same tfjs version as this project's `@tensorflow/tfjs-core` (4.22.0).
 *
 * Search order: `$LISA_TFJS_NODE` (a path to the package folder), then
 * `node_modules/@tensorflow/tfjs-node-gpu`, then `node_modules/@tensorflow/tfjs-node`, both
 * relative to the working directory.
 *
 * @module
 */
import type { BackendProvider } from "./types.ts";
import { activate } from "./tf.ts";

const PACKAGES = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"];

/** Candidate package folders, in search order. */
export function tensorflowCandidates(): string[] {
  const fromEnv = Deno.env.get("LISA_TFJS_NODE");
  const cwd = Deno.cwd();
  return [...(fromEnv ? [fromEnv] : []), ...PACKAGES.map((p) => `${cwd}/node_modules/${p}`)];
}

async function findPackage(): Promise<{ dir: string; gpu: boolean } | null> {
  for (const dir of tensorflowCandidates()) {
    try {
      const pkg = JSON.parse(await Deno.readTextFile(`${dir}/package.json`)) as { name?: string };
      return { dir, gpu: pkg.name?.endsWith("-gpu") ?? false };
    } catch {
      // not here; try the next place
    }
  }
  return null;
}

const HOW_TO = "install it with `npm install @tensorflow/tfjs-node@4.22.0` (or `-gpu` for CUDA) " +
  "in the project folder, or point LISA_TFJS_NODE at the package; its installer downloads " +
  "libtensorflow, so it needs network access";

/** The libtensorflow backend. */
export const tensorflowProvider: BackendProvider = {
  name: "tensorflow",
  needs: "@tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu (libtensorflow; CUDA for -gpu)",
  probe: async () => {
    const found = await findPackage();
    return found
      ? {
        name: "tensorflow",
        available: true,
        autoEligible: true,
        reason: `libtensorflow via ${found.dir}${found.gpu ? " (CUDA)" : ""}`,
      }
      : {
        name: "tensorflow",
        available: false,
        autoEligible: false,
        reason: `not installed (looked in ${tensorflowCandidates().join(", ")}): ${HOW_TO}`,
      };
  },
  init: async () => {
    const found = await findPackage();
    if (!found) throw new Error(`@tensorflow/tfjs-node is not installed: ${HOW_TO}`);
    const pkg = JSON.parse(await Deno.readTextFile(`${found.dir}/package.json`)) as {
      main?: string;
    };
    await import(`file://${found.dir}/${pkg.main ?? "dist/index.js"}`);
    await activate("tensorflow");
    return {
      name: "tensorflow",
      tfBackend: "tensorflow",
      device: found.gpu ? "libtensorflow (CUDA)" : "libtensorflow (CPU)",
      details: { package: found.dir },
    };
  },
};
