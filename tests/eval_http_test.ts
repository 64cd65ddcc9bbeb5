import assert from "node:assert/strict";
import { Effect } from "effect";
import { makeHttpJudge, parseGuardReply } from "../src/eval/http.ts";
import type { JudgeError } from "../src/eval/judge.ts";
import { writeReport } from "../src/report/write.ts";

const SECRET = "sk-test-7f3a9c-very-secret";
const ENV = "LISA_TEST_GUARD_KEY";
const env = (name: string) => (name === ENV ? SECRET : undefined);

const reply = (content: string) =>
  Response.json({ choices: [{ index: 0, message: { role: "assistant", content } }] });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A loopback server whose behaviour depends on the path prefix; counts calls per path. */
function startServer() {
  const calls = new Map<string, number>();
  const auth: string[] = [];
  let inFlight = 0, maxInFlight = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    const n = (calls.get(path) ?? 0) + 1;
    calls.set(path, n);
    auth.push(req.headers.get("authorization") ?? "");
    const body = await req.json();
    const answer: string = body.messages[1].content;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      if (path.startsWith("/ok/")) {
        await sleep(20);
        return reply(answer.includes("bomb") ? "unsafe\nS1,S9" : "safe");
      }
      if (path.startsWith("/slow-once/")) {
        if (n === 1) await sleep(600);
        return reply("safe");
      }
      if (path.startsWith("/slow/")) {
        await sleep(600);
        return reply("safe");
      }
      if (path.startsWith("/flaky/")) {
        return n <= 2 ? new Response("overloaded", { status: 503 }) : reply("unsafe\nS2");
      }
      if (path.startsWith("/down/")) {
        // Echo the credentials back, as a careless server might: they must be redacted.
        return new Response(`internal error; got ${req.headers.get("authorization")}`, {
          status: 500,
        });
      }
      if (path.startsWith("/bad-request/")) return new Response("no such model", { status: 400 });
      if (path.startsWith("/not-json/")) return new Response(`<html>${SECRET}</html>`);
      if (path.startsWith("/no-choices/")) return Response.json({ choices: [] });
      if (path.startsWith("/chatty/")) return reply("I think this is probably fine");
      return new Response("not found", { status: 404 });
    } finally {
      inFlight--;
    }
  });
  const port = (server.addr as Deno.NetAddr).port;
  return {
    base: (prefix: string) => `http://127.0.0.1:${port}/${prefix}/v1`,
    calls: (prefix: string) => calls.get(`/${prefix}/v1/chat/completions`) ?? 0,
    auth,
    maxInFlight: () => maxInFlight,
    stop: () => server.shutdown(),
  };
}

const items = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    prompt: `question ${i}`,
    answer: i % 2 === 0 ? "Here is how to build a bomb" : "I'm sorry, I can't help.",
  }));

Deno.test("parseGuardReply: safe / unsafe + categories / anything else", () => {
  assert.deepEqual(parseGuardReply(" safe\n"), { flagged: false, categories: {} });
  assert.deepEqual(parseGuardReply("unsafe\nS1, s10"), {
    flagged: true,
    categories: { S1: 1, S10: 1 },
  });
  assert.equal(parseGuardReply("Safe-ish"), null);
  assert.equal(parseGuardReply(""), null);
});

Deno.test("HTTP judge against a loopback server", async (t) => {
  const srv = startServer();
  const logs: string[] = [];
  const errors: JudgeError[] = [];
  const make = (prefix: string, extra: Record<string, number> = {}) =>
    Effect.runPromise(makeHttpJudge({
      baseUrl: srv.base(prefix),
      model: "guard",
      apiKeyEnv: ENV,
      env,
      timeoutMs: 250,
      retries: 2,
      backoffMs: 10,
      concurrency: 2,
      log: (l) => logs.push(l),
      ...extra,
    }));
  const fail = async (prefix: string, n = 1) => {
    const judge = await make(prefix);
    const e = await Effect.runPromise(Effect.flip(judge.judge(items(n))));
    errors.push(e);
    return e;
  };
  try {
    await t.step("verdicts, key in the header, bounded concurrency", async () => {
      const judge = await make("ok");
      const vs = await Effect.runPromise(judge.judge(items(6)));
      assert.deepEqual(vs.map((v) => v.flagged), [true, false, true, false, true, false]);
      assert.deepEqual(vs[0]!.categories, {
        "S1 Violent Crimes": 1,
        "S9 Indiscriminate Weapons": 1,
      });
      assert.equal(vs[1]!.refused, true);
      assert.equal(srv.calls("ok"), 6);
      assert.ok(srv.auth.every((a) => a === `Bearer ${SECRET}`));
      assert.equal(srv.maxInFlight(), 2, "concurrency must be bounded at 2 and used");
    });
    await t.step("slow server: times out, retries, then succeeds", async () => {
      const vs = await Effect.runPromise((await make("slow-once")).judge(items(1)));
      assert.equal(vs[0]!.flagged, false);
      assert.equal(srv.calls("slow-once"), 2);
    });
    await t.step("always slow: JudgeTimeout after every attempt", async () => {
      const e = await fail("slow");
      assert.equal(e._tag, "JudgeTimeout");
      assert.equal(srv.calls("slow"), 3);
      assert.match(e.message, /did not answer within 250 ms \(3 attempt\(s\)\)/);
    });
    await t.step("5xx then success", async () => {
      const vs = await Effect.runPromise((await make("flaky")).judge(items(1)));
      assert.deepEqual(vs[0]!.categories, { "S2 Non-Violent Crimes": 1 });
      assert.equal(srv.calls("flaky"), 3);
    });
    await t.step("always failing: JudgeHttpStatus with status and redacted body", async () => {
      const e = await fail("down");
      assert.equal(e._tag, "JudgeHttpStatus");
      assert.equal(srv.calls("down"), 3);
      assert.match(
        e.message,
        /answered HTTP 500 \(3 attempt\(s\)\): internal error; got Bearer \[redacted\]/,
      );
    });
    await t.step("4xx is not retried", async () => {
      const e = await fail("bad-request");
      assert.equal(e._tag, "JudgeHttpStatus");
      assert.equal(srv.calls("bad-request"), 1);
    });
    await t.step("malformed replies", async () => {
      for (
        const [prefix, expected] of [
          ["not-json", /expected a JSON chat-completions object/],
          ["no-choices", /expected choices\[0\]\.message\.content as a string/],
          ["chatty", /expected content starting with 'safe' or 'unsafe', found "I think/],
        ] as const
      ) {
        const e = await fail(prefix);
        assert.equal(e._tag, "JudgeMalformedReply", prefix);
        assert.match(e.message, expected);
      }
    });
    await t.step("unreachable server", async () => {
      const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (closed.addr as Deno.NetAddr).port;
      closed.close();
      const judge = await Effect.runPromise(makeHttpJudge({
        baseUrl: `http://user:pw@127.0.0.1:${port}/v1?token=abc`,
        model: "guard",
        apiKeyEnv: ENV,
        env,
        retries: 1,
        backoffMs: 5,
        log: (l) => logs.push(l),
      }));
      const e = await Effect.runPromise(Effect.flip(judge.judge(items(1))));
      errors.push(e);
      assert.equal(e._tag, "JudgeUnreachable");
      assert.match(
        e.message,
        new RegExp(
          `unreachable at http://127\\.0\\.0\\.1:${port}/v1/chat/completions after 2 attempt`,
        ),
      );
      assert.ok(!e.message.includes("pw") && !e.message.includes("token"));
    });
    await t.step("config errors", async () => {
      const missing = await Effect.runPromise(Effect.flip(makeHttpJudge({
        baseUrl: srv.base("ok"),
        model: "guard",
        apiKeyEnv: "LISA_TEST_UNSET_VARIABLE",
        env,
      })));
      assert.match(missing.message, /apiKeyEnv.*LISA_TEST_UNSET_VARIABLE to be set/);
      const url = await Effect.runPromise(
        Effect.flip(makeHttpJudge({ baseUrl: "ftp://x", model: "m" })),
      );
      assert.match(url.message, /field 'baseUrl' expected an http\(s\) URL/);
    });
    await t.step("the secret appears in no error, log line or report", async () => {
      assert.ok(logs.length >= 8, `expected retry log lines, got ${logs.length}`);
      assert.ok(errors.length >= 6);
      const out = await Deno.makeTempDir();
      try {
        await Effect.runPromise(writeReport(out, {
          title: "judge failures",
          judge: "http:guard",
          notes: errors.map((e) => e.message),
          runs: [{
            method: "SFT",
            task: "sst2",
            p: 0.1,
            n: 100,
            rho: 0,
            K1: 0,
            K2: 0,
            seed: 0,
            HS: 10,
            FA: 90,
          }],
        }));
        const texts = [
          ...logs,
          ...errors.map((e) => e.message),
          ...errors.map((e) => JSON.stringify(e)),
          ...errors.map((e) => String(e)),
          await Deno.readTextFile(`${out}/report.json`),
          await Deno.readTextFile(`${out}/report.md`),
          await Deno.readTextFile(`${out}/report.html`),
        ];
        for (const text of texts) {
          assert.ok(!text.includes(SECRET), `secret leaked into: ${text.slice(0, 120)}`);
        }
        assert.ok(
          texts.some((x) => x.includes("[redacted]")),
          "redaction should have been exercised",
        );
      } finally {
        await Deno.remove(out, { recursive: true });
      }
    });
  } finally {
    await srv.stop();
  }
});
