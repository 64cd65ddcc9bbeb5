/**
 * `--help` text, generated from the config schema so every knob shows with its default.
 *
 * @module
 */
import { CONFIG_FIELDS } from "../config/mod.ts";

/** The CLI's commands and what each does. */
export const COMMANDS: ReadonlyArray<readonly [string, string]> = [
  ["run", "the whole experiment: align, fine-tune, evaluate, report (default)"],
  ["align", "the alignment stage only: train, merge and save the aligned model"],
  ["finetune", "the fine-tuning stage only, from an aligned model"],
  ["eval", "evaluate a model (harmful score, fine-tune accuracy)"],
  ["sweep", "a grid over methods, p, n, rho, K1:K2 and seeds; resumable; mean ± std tables"],
  ["judge-eval", "measure judges on labelled rows (--judges.data): accuracy, F1, AUROC, agreement"],
  ["judge-train", "train a classifier or tfidf judge on labelled rows; report on a held-out split"],
  ["backends", "list every tensor backend and whether it can start here"],
];

const show = (v: unknown): string => Array.isArray(v) ? v.join(",") : JSON.stringify(v);

/** The full help text. */
export function helpText(): string {
  const cmdWidth = Math.max(...COMMANDS.map(([c]) => c.length));
  const rows = CONFIG_FIELDS.map((f) => {
    const choices = f.choices.length ? ` {${f.choices.join("|")}}` : "";
    return [
      `--${f.path}`,
      `${f.description}${choices} [default: ${show(f.defaultValue)}]`,
    ] as const;
  });
  const optWidth = Math.max(...rows.map(([a]) => a.length));
  return [
    "Safety-preserving fine-tuning (Lisa and baselines) on TensorFlow.js.",
    "",
    "Usage: deno task train [command] [--config exp.json] [--section.field=value ...]",
    "",
    "Commands:",
    ...COMMANDS.map(([c, d]) => `  ${c.padEnd(cmdWidth)}  ${d}`),
    "",
    "Options:",
    "  --config FILE         JSON experiment config, applied over the defaults",
    "  --resume DIR          continue an interrupted run from its last checkpoint",
    "  --print-config        print the fully resolved config as JSON and exit",
    "  --help                this text",
    "",
    "Config fields (flags override the file; `--a.b=v` or `--a.b v`):",
    ...rows.map(([a, d]) => `  ${a.padEnd(optWidth)}  ${d}`),
    "",
    "Exit codes: 0 success, 1 run failed, 2 invalid config, data or unavailable backend.",
  ].join("\n");
}
