/**
 * The base model's per-token loss of an answer's text on its own (after BOS only, without the
 * prompt): how fluent the text is to the model every other model started from. A coherence
 * measure that needs no closed vocabulary, so it works for real models too. On the embedded
 * suite it separates word salad (about 8 nats per token) from refusals (about 4) and compliant
 * answers (about 2.7), but it also reflects what the base model is used to writing: it has
 * seen refusal sentences only as copied text, so they cost more than compliance. Compare it
 * between models whose answers are of the same kind; the closed-vocabulary incoherence rate is
 * the measure HS+ uses.
 *
 * Legend: B batch, T time.
 *
 * @module
 */
import { tf } from "../../backends/mod.ts";
import { causalLmLoss, type ModelConfig, type Params } from "../model/mod.ts";
import { batchToTensors, padForTraining, type TextTokenizer } from "../tokenizer/mod.ts";

/**
 * Mean negative log-likelihood per answer token (nats) of `answers`, each scored after BOS
 * alone, under `params`, over all answers together (token-weighted); `NaN` when no answer has
 * a token. Answers are scored as text (re-encoded), without an end-of-sequence token: a cut
 * answer is not penalised for stopping. Leaves no tensors behind.
 */
export async function meanAnswerNll(
  config: ModelConfig,
  params: Params,
  tok: TextTokenizer,
  answers: readonly string[],
  batchSize: number,
): Promise<number> {
  let total = 0;
  let count = 0;
  const bos = tok.encode("", { addSpecialTokens: true });
  for (let i = 0; i < answers.length; i += batchSize) {
    const rows = answers.slice(i, i + batchSize).map((a) => ({
      prompt: bos,
      target: tok.encode(a.trim()),
    }));
    const batch = padForTraining(rows, tok.padId, config.maxPositionEmbeddings);
    // Targets counted as the loss counts them: label positions after the first.
    const n = batch.labels.reduce((a, r) => a + r.slice(1).filter((x) => x !== -100).length, 0);
    if (n === 0) continue;
    const loss = tf.tidy(() => {
      const t = batchToTensors(batch);
      return causalLmLoss(config, params, {
        inputIds: t.inputIds, // [B, T]
        labels: t.labels!, // [B, T]
        attentionMask: t.attentionMask, // [B, T]
      });
    });
    total += (await loss.data())[0]! * n;
    loss.dispose();
    count += n;
  }
  return count === 0 ? Number.NaN : total / count;
}
