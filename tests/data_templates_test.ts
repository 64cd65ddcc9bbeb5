/** Prompt templates, task formats and chat templates render byte for byte. */
import assert from "node:assert/strict";
import {
  AGNEWS_INSTRUCTION,
  agNewsExample,
  chatTemplateFrom,
  DataInvalid,
  formatChatPrompt,
  formatPrompt,
  formatTarget,
  gsm8kExample,
  gsm8kGold,
  normalisePrompt,
  SST2_INSTRUCTION,
  sst2Example,
} from "../src/data/mod.ts";

const prov = { source: "t", row: 1, kind: "task" as const };

Deno.test("Alpaca template with input, byte-exact", () => {
  const got = formatPrompt(sst2Example("a fine film ", 1, prov));
  const want =
    "Below is an instruction that describes a task, paired with an input that provides " +
    "further context. Write a response that appropriately completes the request.\n\n" +
    "### Instruction:\nAnalyze the sentiment of the input, and respond only positive or negative\n\n" +
    "### Input:\na fine film \n\n### Response:";
  assert.equal(got, want);
  assert.equal(formatTarget(sst2Example("x", 0, prov)), "negative");
});

Deno.test("Alpaca template without input, byte-exact", () => {
  const got = formatPrompt({ instruction: "Name a colour.", input: "" });
  const want =
    "Below is an instruction that describes a task. Write a response that appropriately " +
    "completes the request.\n\n### Instruction:\nName a colour.\n\n### Response:";
  assert.equal(got, want);
});

Deno.test("task instructions and targets", () => {
  assert.equal(
    SST2_INSTRUCTION,
    "Analyze the sentiment of the input, and respond only positive or negative",
  );
  assert.equal(
    AGNEWS_INSTRUCTION,
    "Categorize the news article given in the input into one of the 4 categories:\n\nWorld\nSports\nBusiness\nSci/Tech\n",
  );
  const ag = agNewsExample("Stocks fall", 2, prov);
  assert.deepEqual([ag.output, ag.label], ["Business", "Business"]);
  const g = gsm8kExample("What is 2+2?", "2+2=<<2+2=4>>4\n#### 1,004", prov);
  assert.equal(g.output, "2+2=<<2+2=4>>4\nThe final answer is:  1,004");
  assert.equal(g.label, "1004");
  assert.equal(g.input, "");
  assert.equal(formatPrompt(g).includes("### Input:"), false);
  assert.equal(gsm8kGold("no marker"), null);
});

Deno.test("normalised prompts ignore case and whitespace", () => {
  assert.equal(
    normalisePrompt({ instruction: "How  do I\tX?", input: "" }),
    normalisePrompt({ instruction: "how do i x? ", input: "" }),
  );
  assert.notEqual(
    normalisePrompt({ instruction: "a", input: "b" }),
    normalisePrompt({ instruction: "a", input: "c" }),
  );
});

Deno.test("chat template from tokenizer_config.json", () => {
  const t = chatTemplateFrom({
    chat_template:
      "{{ bos_token }}{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}{{ eos_token }}\n{% endfor %}" +
      "{% if add_generation_prompt %}<|assistant|>\n{% endif %}",
    bos_token: "<s>",
    eos_token: { content: "</s>" },
  });
  const got = formatChatPrompt(t, { instruction: "Classify.", input: "good" });
  assert.equal(got, "<s><|user|>\nClassify.\ngood</s>\n<|assistant|>\n");
  const named = chatTemplateFrom({
    chat_template: [{ name: "default", template: "{{ messages[0].content }}" }],
  });
  assert.equal(formatChatPrompt(named, { instruction: "hi", input: "" }), "hi");
  assert.throws(
    () => chatTemplateFrom({}),
    (e: unknown) => e instanceof DataInvalid && e.field === "chat_template",
  );
});
