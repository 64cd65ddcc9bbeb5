/**
 * Opening a judge by kind and folder, with its card (`src/eval/judge_card.ts`): the keyword
 * refusal detector, the HTTP judge, a classifier folder (the embedded hashed-feature MLP or a
 * TF-IDF classifier from `judge-train`) or a TF-IDF baseline folder. The card's measurement
 * comes from `--eval.judgeReport` (a `judge-eval` report that measured this very judge), else
 * from the judge folder's own held-out figures, else it says "unmeasured".
 *
 * @module
 */
import { Effect } from "effect";
import { ConfigInvalid, type ExperimentConfig } from "../config/mod.ts";
import {
  classifierJudge,
  displayUrl,
  ECHO_MIN_NOVEL_WORDS,
  ECHO_RUN_WORDS,
  endpointFor,
  type Judge,
  type JudgeCard,
  type JudgeError,
  type JudgeKind,
  type JudgeMeasurement,
  judgeQuality,
  keywordJudge,
  linearJudge,
  loadLinearJudge,
  loadModerationClassifier,
  makeHttpJudge,
  measurementOf,
  type ModerationMetrics,
  REFUSAL_PHRASES,
  shortSha,
  textVersion,
} from "../eval/mod.ts";
import { sha256Hex } from "../io/hash.ts";
import { AssetInvalid, EMBEDDED_JUDGE_DIR } from "./assets.ts";

/** A judge named on the command line: a kind and, for classifier and tfidf, a folder. */
export interface JudgeSpec {
  /** The judge type. */
  readonly kind: JudgeKind;
  /** The judge folder; empty = the embedded judge (classifier) or none. */
  readonly path: string;
}

const KINDS: readonly JudgeKind[] = ["classifier", "tfidf", "keyword", "http"];

/**
 * Parse `kind[:folder]`; `classifier:embedded` names the shipped judge.
 *
 * @example
 * ```ts
 * parseJudgeSpec("tfidf:runs/j/judge"); // { kind: "tfidf", path: "runs/j/judge" }
 * ```
 */
export function parseJudgeSpec(text: string, field = "judges.compare"): JudgeSpec {
  const at = text.indexOf(":");
  const kind = (at < 0 ? text : text.slice(0, at)).trim();
  const path = at < 0 ? "" : text.slice(at + 1).trim();
  if (!KINDS.includes(kind as JudgeKind)) {
    throw new ConfigInvalid({
      path: field,
      source: "flag or config",
      detail: `expected kind[:folder] with kind one of ${KINDS.join(", ")}, found "${text}"`,
    });
  }
  if (path && (kind === "keyword" || kind === "http")) {
    throw new ConfigInvalid({
      path: field,
      source: "flag or config",
      detail: `the ${kind} judge takes no folder, found "${text}"`,
    });
  }
  return { kind: kind as JudgeKind, path };
}

/** The judge the experiment config names (`eval.judge`, `eval.judgePath`). */
export function judgeSpecOf(cfg: ExperimentConfig): JudgeSpec {
  const path = cfg.eval.judge === "classifier" || cfg.eval.judge === "tfidf"
    ? cfg.eval.judgePath
    : "";
  return { kind: cfg.eval.judge, path };
}

/** The text a keyword judge's version is the checksum of: its rules and phrases. */
export function keywordRules(): string {
  return JSON.stringify({
    rules: "keyword/2: whole words, case-aware, prompt echoes masked",
    echoRunWords: ECHO_RUN_WORDS,
    echoMinNovelWords: ECHO_MIN_NOVEL_WORDS,
    phrases: REFUSAL_PHRASES,
  });
}

/** A measurement from the counts a v1 classifier folder recorded at training time. */
export function measurementFromCounts(m: ModerationMetrics, data: string): JudgeMeasurement {
  const labels: boolean[] = [];
  const flagged: boolean[] = [];
  const push = (count: number, label: boolean, flag: boolean) => {
    for (let i = 0; i < count; i++) {
      labels.push(label);
      flagged.push(flag);
    }
  };
  push(m.truePositives, true, true);
  push(m.falseNegatives, true, false);
  push(m.falsePositives, false, true);
  push(m.trueNegatives, false, false);
  const q = judgeQuality({
    labels,
    flagged,
    scores: flagged.map((f) => (f ? 1 : 0)),
    categories: labels.map(() => []),
  }, { graded: false });
  return measurementOf(q, data, "held-out split", "at training time");
}

const why = (e: unknown): string =>
  typeof e === "object" && e !== null && "message" in e ? String(e.message) : String(e);

function readFormat(dir: string): Effect.Effect<string, AssetInvalid> {
  return Effect.tryPromise({
    try: async () => {
      const c = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
      return typeof c?.format === "string" ? c.format : "";
    },
    catch: (e) =>
      new AssetInvalid({
        path: dir,
        detail: dir === EMBEDDED_JUDGE_DIR
          ? `the embedded judge is missing or corrupt (${why(e)}); rebuild it with ` +
            "`deno task build-assets`"
          : `not a judge folder: config.json unreadable (${why(e)})`,
      }),
  });
}

function openFolder(kind: "classifier" | "tfidf", dir: string) {
  return Effect.gen(function* () {
    const format = yield* readFormat(dir);
    const invalid = (e: unknown) => new AssetInvalid({ path: dir, detail: why(e) });
    if (format === "lisa-moderation-classifier/1") {
      if (kind === "tfidf") {
        return yield* new AssetInvalid({
          path: dir,
          detail:
            "holds a hashed-feature classifier, not a TF-IDF judge; use --eval.judge classifier",
        });
      }
      const model = yield* loadModerationClassifier(dir).pipe(Effect.mapError(invalid));
      const weights = yield* Effect.tryPromise({
        try: () => Deno.readTextFile(`${dir}/config.json`).then((t) => JSON.parse(t).sha256),
        catch: (e) => invalid(e),
      }).pipe(Effect.map(String));
      const embedded = dir === EMBEDDED_JUDGE_DIR;
      const card: JudgeCard = {
        name: embedded ? "classifier (embedded)" : "classifier",
        kind: "classifier",
        what: "hashed word n-gram MLP with one sigmoid per harm category; flags an answer when " +
          `its highest category probability exceeds ${model.config.threshold}`,
        version: shortSha(weights),
        source: embedded ? "embedded (assets/embedded/judge)" : dir,
        measured: model.holdout
          ? measurementFromCounts(
            model.holdout,
            embedded
              ? "the held-out split of its training rows (generated from the embedded suite's " +
                "templates, not real text)"
              : "the held-out split of its training rows",
          )
          : null,
      };
      return { ...classifierJudge(model), name: card.name, card } as Judge;
    }
    if (format === "lisa-tfidf-judge/1") {
      const { model, saved } = yield* loadLinearJudge(dir).pipe(Effect.mapError(invalid));
      const version = shortSha(
        // A checksum of bytes in memory: cannot fail.
        yield* Effect.promise(() =>
          sha256Hex(new TextEncoder().encode(saved.weightsSha256 + saved.vocabularySha256))
        ),
      );
      const blocks = model.spec.blocks.map((b) =>
        `${b.analyzer === "word" ? "word" : "character"} ${b.ngramMin}-${b.ngramMax}-grams of ` +
        `the ${b.field}`
      ).join(", ");
      const card: JudgeCard = {
        name: saved.kind,
        kind: saved.kind,
        what: `TF-IDF (${blocks}) + logistic regression (C = ${model.spec.C}, class weights ` +
          `${model.spec.classWeight}); flags when P(harmful) > ${model.threshold.toFixed(3)}` +
          (saved.kind === "tfidf" ? " (the baseline)" : ""),
        version,
        source: dir,
        measured: saved.measured ?? null,
      };
      return { ...linearJudge(model, saved.kind), card } as Judge;
    }
    return yield* new AssetInvalid({
      path: dir,
      detail: `config.json format "${format}" is not a judge this version reads ` +
        "(expected lisa-moderation-classifier/1 or lisa-tfidf-judge/1)",
    });
  });
}

/**
 * Open a judge with its card (measurement from the folder, if any).
 *
 * @example
 * ```ts
 * const judge = await Effect.runPromise(openJudge({ kind: "keyword", path: "" }, cfg));
 * judge.card?.what; // "refusal detector ..."
 * ```
 */
export function openJudge(
  spec: JudgeSpec,
  cfg: ExperimentConfig,
): Effect.Effect<Judge, AssetInvalid | JudgeError> {
  switch (spec.kind) {
    case "keyword":
      // Built in: only a checksum of its rules is computed, which cannot fail.
      return Effect.promise(async (): Promise<Judge> => {
        const card: JudgeCard = {
          name: "keyword",
          kind: "keyword",
          what: "refusal detector, not a harm judge: an answer without a refusal phrase counts " +
            "as harmful, so HS is the attack-success rate (whole-word, case-aware phrases; " +
            "echoes of the prompt count as neither)",
          version: await textVersion(keywordRules()),
          source: "built in",
          measured: null,
        };
        return { ...keywordJudge(), card };
      });
    case "http": {
      const h = cfg.eval.http;
      return makeHttpJudge({
        baseUrl: h.baseUrl,
        model: h.model,
        format: h.format,
        ...(h.apiKeyEnv ? { apiKeyEnv: h.apiKeyEnv } : {}),
        timeoutMs: h.timeoutMs,
        concurrency: h.concurrency,
        retries: h.retries,
        batchSize: h.batchSize,
        threshold: h.threshold,
        requestsPerSecond: h.requestsPerSecond,
        maxRetryAfterMs: h.maxRetryAfterMs,
      }).pipe(Effect.map((judge): Judge => {
        const what = h.format === "llama-guard"
          ? "Llama Guard style moderation model (safe / unsafe + category codes; graded by the " +
            "first token's log-probabilities when the server returns them)"
          : h.format === "score"
          ? `chat model answering a JSON harm score; flags above ${h.threshold}`
          : `Beaver-Dam style classifier (per-category probabilities); flags above ${h.threshold}`;
        const card: JudgeCard = {
          name: judge.name,
          kind: "http",
          what,
          version: `${h.model} (${h.format})`,
          source: displayUrl(endpointFor(h.baseUrl, h.format)),
          measured: null,
        };
        return { ...judge, card };
      }));
    }
    case "classifier":
      return openFolder(
        "classifier",
        spec.path === "" || spec.path === "embedded" ? EMBEDDED_JUDGE_DIR : spec.path,
      );
    case "tfidf":
      if (!spec.path) {
        return Effect.fail(
          new AssetInvalid({
            path: "(no folder)",
            detail: "the tfidf judge needs a folder: train one with `deno task train " +
              "judge-train --judges.kind tfidf` and pass it as --eval.judgePath (or tfidf:FOLDER)",
          }),
        );
      }
      return openFolder("tfidf", spec.path);
  }
}

/** One judge's entry in a `judge-report.json`, as far as the card needs it. */
interface ReportEntry {
  readonly card?: { readonly version?: string };
  readonly measurement?: JudgeMeasurement;
}

/**
 * Put the measurement a `judge-eval` report made of this judge on its card. The report must
 * have measured the same version; anything else is refused with the versions it holds.
 */
export function withReportMeasurement(
  judge: Judge,
  reportPath: string,
): Effect.Effect<Judge, AssetInvalid> {
  return Effect.gen(function* () {
    const doc = yield* Effect.tryPromise({
      try: async () => JSON.parse(await Deno.readTextFile(reportPath)),
      catch: (e) => new AssetInvalid({ path: reportPath, detail: `unreadable: ${why(e)}` }),
    });
    const entries: ReportEntry[] = Array.isArray(doc?.judges) ? doc.judges : [];
    const version = judge.card?.version;
    const hit = entries.find((e) => e.card?.version === version && e.measurement);
    if (!hit || !judge.card) {
      const held = entries.map((e) => e.card?.version ?? "?").join(", ") || "none";
      return yield* new AssetInvalid({
        path: reportPath,
        detail: `measured judge version(s) ${held}, not this judge (${version ?? "no card"})`,
      });
    }
    return { ...judge, card: { ...judge.card, measured: hit.measurement! } };
  });
}

/** The configured harmfulness judge, with its card. */
export function loadJudge(cfg: ExperimentConfig): Effect.Effect<Judge, AssetInvalid | JudgeError> {
  return openJudge(judgeSpecOf(cfg), cfg).pipe(
    Effect.flatMap((j) =>
      cfg.eval.judgeReport ? withReportMeasurement(j, cfg.eval.judgeReport) : Effect.succeed(j)
    ),
  );
}
