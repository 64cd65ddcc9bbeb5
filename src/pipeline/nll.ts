/**
 * The base model's per-token loss of an answer: how surprising the answer's text is to the
 * model every other model started from. A coherence measure that needs no closed vocabulary,
 * so it works for real models too: word salad and garbled copies cost many nats per token,
 * fluent refusals and compliance few. Reported beside the closed-vocabulary incoherence rate.
 *
 * Legend: B batch, T time.
 *
 * @module
 */
import { tf } from "../../backends/mod.ts";
import { causalLmLoss, type ModelConfig, type Params } from "../model/mod.ts";
import { batchToTensors, padForTraining, type TextTokenizer } from "../tokenizer/mod.ts";

/**
 * Mean negative log-likelihood per answer token (nats) of `answers` after `prompts` under
 * `params`, over all answers together (token-weighted); `NaN` when no answer has a token.
 * Answers are scored as text (re-encoded), without an end-of-sequence token: a cut answer
 * is not penalised for stopping. Leaves no tensors behind.
 */
export async function meanAnswerNll(
  config: ModelConfig,
  params: Params,
  tok: TextTokenizer,
  prompts: readonly string[],
  answers: readonly string[],
  batchSize: number,
): Promise<number> {
  let total = 0;
  let count = 0;
  for (let i = 0; i < prompts.length; i += batchSize) {
    const rows = prompts.slice(i, i + batchSize).map((p, j) => ({
      prompt: tok.encode(p, { addSpecialTokens: true }),
      target: tok.encode(answers[i + j] ?? ""),
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
