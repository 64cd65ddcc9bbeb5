/**
 * What a run trained on, as checksums: each dataset's examples (their text, labels and
 * categories, not the path they were read from) and each file the model, adapter and judge
 * folders supply. A run records them when it starts; a resumed run recomputes them and refuses
 * to continue when any differs, naming it, so a checkpoint is never continued on other data
 * or another model. A sweep, whose resumed grid may ask for more rows (a larger n or p), records
 * its data files whole instead of the rows it read. The held-out sets are recorded per split
 * (`harmfulEval`, `harmfulEval@validation`): a finished run may be evaluated on the other split,
 * and a split's sets are checked from the first time it is evaluated on.
 *
 * @module
 */
import type { Effect } from "effect";
import type { ExperimentConfig } from "../config/mod.ts";
import type { Example } from "../data/mod.ts";
import { attemptIO, type IOFailed, sha256File, sha256Hex } from "../io/mod.ts";
import { modelDir } from "./assets.ts";
import type { Datasets } from "./datasets.ts";

/** Checksums (SHA-256, hex) of a run's inputs. */
export interface InputFingerprint {
  /** Each dataset the run built, by name (`taskTrain`, `harmfulEval`, ...). */
  readonly data: Readonly<Record<string, string>>;
  /** Each file read from the model, adapter and judge folders (`model/config.json`, ...). */
  readonly files: Readonly<Record<string, string>>;
}

const DATASETS = [
  "alignment",
  "harmful",
  "alignmentHarmful",
  "harmfulEval",
  "taskTrain",
  "taskTest",
] as const;

/** The held-out sets: built from the split `eval.split` names. */
const HELD_OUT: ReadonlySet<string> = new Set(["harmfulEval", "taskTest"]);

/** A dataset's key in the fingerprint: a held-out set of the validation split is marked so. */
function datasetKey(cfg: ExperimentConfig, name: (typeof DATASETS)[number]): string {
  return HELD_OUT.has(name) && cfg.eval.split !== "test" ? `${name}@${cfg.eval.split}` : name;
}

/** A held-out set's key (of any split). */
const isHeldOutKey = (key: string) => HELD_OUT.has(key.split("@")[0]!);

/** SHA-256 of examples' content (provenance left out: the same rows from a moved file match). */
function examplesDigest(examples: readonly Example[]): Promise<string> {
  const content = examples.map(({ provenance: _p, ...rest }) => rest);
  return sha256Hex(new TextEncoder().encode(JSON.stringify(content)));
}

/** The files a loader reads from a folder: its JSON and safetensors files, sorted. */
function folderFiles(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)]
      .filter((e) => !e.isDirectory && /\.(json|safetensors)$/.test(e.name))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

/** The folders whose files a run reads, by the name used in the fingerprint. */
function folders(cfg: ExperimentConfig, command: string): Array<readonly [string, string]> {
  const out: Array<readonly [string, string]> = [["model", modelDir(cfg)]];
  if (command === "eval" && cfg.eval.adapterPath) out.push(["adapter", cfg.eval.adapterPath]);
  if (cfg.eval.judgePath) out.push(["judge", cfg.eval.judgePath]);
  return out;
}

/** The data files a config names, by field (`data.taskPath`, ...). */
function dataFiles(cfg: ExperimentConfig): Array<readonly [string, string]> {
  return Object.entries(cfg.data)
    .filter(([k, v]) => k.endsWith("Path") && typeof v === "string" && v !== "")
    .map(([k, v]) => [`data.${k}`, v as string] as const);
}

/**
 * Checksums of the datasets `ds` (or, with `ds` null, as a sweep records them, of the data
 * files themselves) and of the model (adapter, judge) files `cfg` names.
 */
export function inputFingerprint(
  cfg: ExperimentConfig,
  ds: Datasets | null,
  command: string,
): Effect.Effect<InputFingerprint, IOFailed> {
  return attemptIO(modelDir(cfg), "compute checksums of the inputs in", async () => {
    const data: Record<string, string> = {};
    if (ds) {
      for (const name of DATASETS) data[datasetKey(cfg, name)] = await examplesDigest(ds[name]);
    }
    const files: Record<string, string> = {};
    if (!ds) { for (const [field, path] of dataFiles(cfg)) files[field] = await sha256File(path); }
    for (const [label, dir] of folders(cfg, command)) {
      for (const f of folderFiles(dir)) files[`${label}/${f}`] = await sha256File(`${dir}/${f}`);
    }
    return { data, files };
  });
}

/**
 * What differs between a recorded fingerprint and the current one (`data taskTrain`,
 * `file model/model.safetensors (absent now)`); empty when they match. A held-out set recorded
 * on one side only is no change (the run is evaluated on another split). Pure.
 */
export function fingerprintChanges(recorded: InputFingerprint, now: InputFingerprint): string[] {
  const out: string[] = [];
  const compare = (kind: string, a: Readonly<Record<string, string>>, b: typeof a) => {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      if (a[k] === b[k]) continue;
      if (kind === "data" && isHeldOutKey(k) && (a[k] === undefined || b[k] === undefined)) {
        continue;
      }
      const how = a[k] === undefined
        ? "new"
        : b[k] === undefined
        ? "absent now"
        : `SHA-256 ${a[k]!.slice(0, 12)}... -> ${b[k]!.slice(0, 12)}...`;
      out.push(`${kind} ${k} (${how})`);
    }
  };
  compare("data", recorded.data, now.data);
  compare("file", recorded.files, now.files);
  return out;
}
