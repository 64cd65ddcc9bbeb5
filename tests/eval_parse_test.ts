import assert from "node:assert/strict";
import { extractAnswer, isCorrect, parseAgnews, parseGsm8k, parseSst2 } from "../src/eval/parse.ts";

Deno.test("extractAnswer: text after the response marker, whole text without it", () => {
  const prompt = "Below is an instruction...\n\n### Instruction:\nAnalyze\n\n### Response:";
  assert.equal(extractAnswer(`${prompt} positive`), " positive");
  assert.equal(extractAnswer("negative"), "negative");
  assert.equal(extractAnswer(`${prompt}`), "");
});

Deno.test("SST2: exactly positive/negative, first letter case free, nothing else", () => {
  assert.equal(parseSst2("positive"), "positive");
  assert.equal(parseSst2("Negative"), "negative");
  assert.equal(parseSst2(" positive\n"), "positive"); // surrounding whitespace only
  for (
    const wrong of [
      "POSITIVE",
      "pOsitive",
      "positive.",
      "positive sentiment",
      "It is positive",
      "neutral",
      "",
      "positivenegative",
    ]
  ) {
    assert.equal(parseSst2(wrong), null, wrong);
  }
  assert.equal(isCorrect("sst2", "Positive", "positive"), true);
  assert.equal(isCorrect("sst2", "negative", "positive"), false);
  assert.equal(isCorrect("sst2", "The answer is positive", "positive"), false);
});

Deno.test("AGNEWS: exactly one of World / Sports / Business / Sci/Tech", () => {
  for (const ok of ["World", "Sports", "Business", "Sci/Tech", " Sci/Tech "]) {
    assert.notEqual(parseAgnews(ok), null, ok);
  }
  for (
    const wrong of ["world", "Sci", "Tech", "Sci/tech", "Sports.", "Business news", "World Sports"]
  ) {
    assert.equal(parseAgnews(wrong), null, wrong);
  }
  assert.equal(isCorrect("agnews", "Sports", "Sports"), true);
  assert.equal(isCorrect("agnews", "Sports", "World"), false);
});

Deno.test("GSM8K: commas stripped, final-answer marker first, else last number, float compare", () => {
  assert.equal(parseGsm8k("He pays 3 * 4 = 12. The final answer is: 1,234 dollars, not 5"), 1234);
  assert.equal(parseGsm8k("First 3 then 4, so 7"), 7); // no marker: last number
  assert.equal(parseGsm8k("The final answer is: -17.5"), -17.5);
  assert.equal(parseGsm8k("so the final answer is: 9 of 10"), 10); // marker is case sensitive
  assert.equal(parseGsm8k("The final answer is: unknown, maybe 42"), 42); // first number after it
  assert.equal(parseGsm8k("no digits at all"), null);
  assert.equal(parseGsm8k("It costs $1,000,000."), 1000000);
  assert.equal(parseGsm8k("0.50 vs .5"), 0.5);
  // The reference solution is parsed by the same rule (#### becomes the marker upstream).
  const reference = "Natalia sold 48/2 = <<48/2=24>>24 clips.\nThe final answer is: 72";
  assert.equal(isCorrect("gsm8k", "so 72.0", reference), true);
  assert.equal(isCorrect("gsm8k", "#### 72", "#### 72"), true);
  assert.equal(isCorrect("gsm8k", "The final answer is: 71 not 72", reference), false);
  assert.equal(isCorrect("gsm8k", "I don't know", reference), false);
});
