/**
 * The closed word vocabulary of the embedded suite: every word any generator here can write
 * (prompts, refusals, compliant answers and their paraphrases, tasks, the pretraining corpus).
 * A model trained only on this suite has no honest reason to write a word outside it, so the
 * share of out-of-vocabulary words in an answer measures garbling (see `src/eval/coherence.ts`).
 *
 * @module
 */
import { makeRng } from "../data/rng.ts";
import { formatPrompt } from "../data/templates.ts";
import type { Example } from "../data/types.ts";
import { words } from "../eval/features.ts";
import { answerOfForm, HARMFUL_FORMS, SAFE_FORMS } from "./answers.ts";
import { corpusExamples } from "./corpus.ts";
import * as harmVocab from "./harm_vocab.ts";
import {
  alignmentSet,
  harmfulEvalPrompts,
  harmfulSet,
  harmfulTrainPrompts,
  harmfulValidationPrompts,
} from "./harmful.ts";
import * as taskVocab from "./task_vocab.ts";
import { arithmeticTask, sentimentTask, topicTask } from "./tasks.ts";

/** Every string inside a value (arrays and records walked deeply). */
function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) { for (const v of value) strings(v, out); }
  else if (value !== null && typeof value === "object") {
    for (const v of Object.values(value)) strings(v, out);
  }
  return out;
}

let cached: ReadonlySet<string> | null = null;

/**
 * The suite's vocabulary (lower-cased words as `words()` splits them), built once. Word lists
 * are read whole; template words come from generating every part of the suite, including the
 * judge's answer forms other than garble.
 *
 * @example
 * ```ts
 * embeddedVocabulary().has("sorry"); // true
 * ```
 */
export function embeddedVocabulary(): ReadonlySet<string> {
  if (cached) return cached;
  const texts: string[] = [...strings(harmVocab), ...strings(taskVocab)];
  const doc = (e: Example) => texts.push(formatPrompt(e), e.output);
  corpusExamples(0, 3000).forEach(doc);
  alignmentSet(0, 600).forEach(doc);
  harmfulSet(0, 600).forEach(doc);
  for (const t of [sentimentTask, topicTask, arithmeticTask]) {
    const s = t(0, { train: 400, test: 0 });
    s.train.forEach(doc);
  }
  const prompts = [
    ...harmfulTrainPrompts(),
    ...harmfulValidationPrompts(),
    ...harmfulEvalPrompts(),
  ];
  const rng = makeRng(0);
  const forms = [...HARMFUL_FORMS, ...SAFE_FORMS].filter((f) => f !== "garble");
  for (const family of ["train", "validation", "test"] as const) {
    const ctx = { family, rng, words: [], others: prompts };
    for (const p of prompts) {
      texts.push(p.prompt);
      for (const f of forms) {
        if (f !== "compliance-garbled") texts.push(answerOfForm(f, p, ctx));
      }
    }
  }
  const vocab = new Set<string>();
  for (const t of texts) for (const w of words(t)) vocab.add(w);
  cached = vocab;
  return vocab;
}
