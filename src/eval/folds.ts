/**
 * Cross-validation folds for labelled pairs: stratified by label and grouped by prompt, so two
 * answers to the same prompt never sit on both sides of a split (BeaverTails has prompts with
 * both a safe and an unsafe answer; splitting them would leak the prompt's words across).
 * Deterministic by seed.
 *
 * @module
 */
import { shuffle } from "../data/rng.ts";

/** The grouping key of a prompt: case and whitespace do not make a new prompt. */
export function promptKey(prompt: string): string {
  return prompt.trim().toLowerCase().replace(/\s+/g, " ");
}

/** Row indices grouped by prompt key, groups in order of first appearance. */
export function promptGroups(prompts: readonly string[]): number[][] {
  const groups = new Map<string, number[]>();
  prompts.forEach((p, i) => {
    const key = promptKey(p);
    const g = groups.get(key);
    if (g) g.push(i);
    else groups.set(key, [i]);
  });
  return [...groups.values()];
}

/**
 * Assign each row a fold in [0, k). Groups of rows sharing a prompt go to one fold; groups are
 * shuffled by seed, split by their majority label, and dealt to the fold that currently holds
 * the fewest rows of that label (ties to the lowest fold), which keeps both the fold sizes and
 * the label shares even.
 *
 * @example
 * ```ts
 * const fold = stratifiedGroupFolds(rows.map((r) => r.prompt), rows.map((r) => !r.isSafe), 5, 0);
 * ```
 */
export function stratifiedGroupFolds(
  prompts: readonly string[],
  labels: readonly boolean[],
  k: number,
  seed: number,
): number[] {
  if (!Number.isInteger(k) || k < 2) throw new RangeError(`folds: k must be >= 2, got ${k}`);
  if (prompts.length !== labels.length) {
    throw new RangeError(`folds: ${prompts.length} prompts but ${labels.length} labels`);
  }
  const order = shuffle(promptGroups(prompts), seed);
  const fold = new Array<number>(prompts.length).fill(0);
  const held = [Array<number>(k).fill(0), Array<number>(k).fill(0)]; // [label][fold] row counts
  for (const members of order) {
    const positives = members.filter((i) => labels[i]).length;
    const label = positives * 2 >= members.length ? 1 : 0;
    const counts = held[label]!;
    let best = 0;
    for (let f = 1; f < k; f++) if (counts[f]! < counts[best]!) best = f;
    for (const i of members) {
      fold[i] = best;
      held[labels[i] ? 1 : 0]![best]!++;
    }
  }
  return fold;
}

/** The row indices of fold `f` (test) and of the others (train). */
export function foldSplit(fold: readonly number[], f: number): { train: number[]; test: number[] } {
  const train: number[] = [];
  const test: number[] = [];
  fold.forEach((g, i) => (g === f ? test : train).push(i));
  return { train, test };
}

/**
 * A held-out split grouped by prompt and stratified by label: prompt groups are shuffled by
 * seed and each goes to the held-out side while that side holds fewer than `fraction` of its
 * majority label's rows. Returns the row indices of each side.
 *
 * @example
 * ```ts
 * const { train, holdout } = groupedHoldout(prompts, labels, 0.2, 0);
 * ```
 */
export function groupedHoldout(
  prompts: readonly string[],
  labels: readonly boolean[],
  fraction: number,
  seed: number,
): { train: number[]; holdout: number[] } {
  if (!(fraction >= 0 && fraction < 1)) {
    throw new RangeError(`holdout fraction must be in [0, 1), got ${fraction}`);
  }
  const totals = [labels.filter((l) => !l).length, labels.filter((l) => l).length];
  const held = [0, 0];
  const holdout: number[] = [];
  const train: number[] = [];
  for (const members of shuffle(promptGroups(prompts), seed)) {
    const positives = members.filter((i) => labels[i]).length;
    const label = positives * 2 >= members.length ? 1 : 0;
    const take = held[label]! < fraction * totals[label]!;
    for (const i of members) {
      (take ? holdout : train).push(i);
      if (take) held[labels[i] ? 1 : 0]!++;
    }
  }
  return { train: train.sort((a, b) => a - b), holdout: holdout.sort((a, b) => a - b) };
}
