/**
 * Credentials never reach a run folder or the terminal: a key inside the judge URL is refused
 * (from a flag or a config file) with the parts named but not repeated, before any folder is
 * made; a key from the environment reaches the server and nowhere else, even when the server
 * echoes it back in an error. Checked by grepping every file the run wrote and everything it
 * printed.
 */
import assert from "node:assert/strict";
import { urlCredentialParts } from "../src/config/secrets.ts";
import { cli, filesUnder } from "./_cli.ts";
import { tinyModelDir, tinyRunFlags } from "./_tiny_lm.ts";

const KEY = "sk-reliability-4c1d-do-not-leak";

Deno.test("secrets: credential parts of a URL are named, never their values", () => {
  assert.deepEqual(urlCredentialParts(`http://user:${KEY}@127.0.0.1:8000/v1?api_key=${KEY}`), [
    "a user name",
    "a password",
    'query parameter "api_key"',
  ]);
  assert.deepEqual(urlCredentialParts(`https://h/v1?api-version=2024-02&Access-Token=${KEY}`), [
    'query parameter "Access-Token"',
  ]);
  assert.deepEqual(urlCredentialParts("https://x.example/openai?api-version=2024-02"), []);
  assert.deepEqual(urlCredentialParts("http://127.0.0.1:8000/v1"), []);
  assert.deepEqual(urlCredentialParts("not a url"), []);
});

/** Every place a key could land: what was printed and every file under `dir`. */
async function leaks(dir: string, printed: string): Promise<string[]> {
  const hits = printed.includes(KEY) ? ["(terminal output)"] : [];
  for (const f of filesUnder(dir)) {
    const bytes = await Deno.readFile(`${dir}/${f}`);
    if (new TextDecoder().decode(bytes).includes(KEY)) hits.push(f);
  }
  return hits;
}

Deno.test("secrets: a key in --eval.http.baseUrl or in a config file is refused before any folder exists", async () => {
  const out = await Deno.makeTempDir({ prefix: "lisa-secret-" });
  const url = `http://user:${KEY}@127.0.0.1:9/v1?api_key=${KEY}`;
  const flag = await cli([
    "--eval.judge=http",
    `--eval.http.baseUrl=${url}`,
    `--output.dir=${out}/runs`,
    "--backend=cpu",
  ]);
  assert.equal(flag.code, 2, flag.err);
  assert.match(flag.err, /eval\.http\.baseUrl.*a user name, a password, query parameter "api_key"/);
  assert.match(flag.err, /apiKeyEnv/);
  await Deno.writeTextFile(
    `${out}/exp.json`,
    JSON.stringify({ eval: { judge: "http", http: { baseUrl: url } } }),
  );
  const file = await cli([
    "--config",
    `${out}/exp.json`,
    `--output.dir=${out}/runs`,
    "--print-config",
  ]);
  assert.equal(file.code, 2, file.err);
  assert.match(file.err, new RegExp(`${out}/exp\\.json.*eval\\.http\\.baseUrl`));
  assert.deepEqual(filesUnder(`${out}/runs`), [], "no run folder was made");
  assert.deepEqual(await leaks(`${out}/runs`, flag.out + flag.err + file.out + file.err), []);
  await Deno.remove(out, { recursive: true });
});

Deno.test("secrets: an environment key reaches the judge server and no file or log line", async () => {
  const seen: string[] = [];
  let calls = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.text();
    seen.push(req.headers.get("authorization") ?? "");
    // The first call fails echoing the credentials, as a careless server might.
    if (calls++ === 0) {
      return new Response(`upstream error for ${req.headers.get("authorization")}`, {
        status: 503,
      });
    }
    return Response.json({
      choices: [{ index: 0, message: { role: "assistant", content: "safe" } }],
    });
  });
  const port = (server.addr as Deno.NetAddr).port;
  const model = await tinyModelDir(11);
  const out = await Deno.makeTempDir({ prefix: "lisa-secret-run-" });
  try {
    const r = await cli([
      ...tinyRunFlags(model, out),
      "--backend=wasm",
      "--eval.judge=http",
      `--eval.http.baseUrl=http://127.0.0.1:${port}/v1`,
      "--eval.http.retries=3",
      "--output.name=r",
    ], { env: { LISA_JUDGE_API_KEY: KEY } });
    assert.equal(r.code, 0, r.err);
    assert.ok(seen.length > 1 && seen.every((a) => a === `Bearer ${KEY}`), "the key was sent");
    const files = filesUnder(`${out}/r`);
    assert.ok(files.includes("config.json") && files.includes("report.html"), files.join(" "));
    assert.deepEqual(await leaks(`${out}/r`, r.out + r.err), []);
  } finally {
    await server.shutdown();
    await Deno.remove(out, { recursive: true });
    await Deno.remove(model, { recursive: true });
  }
});
