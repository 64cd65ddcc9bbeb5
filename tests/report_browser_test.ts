/**
 * The HTML report in headless Chromium: it loads with no console errors or exceptions, every
 * chart's SVG is laid out with a real size, and a screenshot is taken. Skipped (with a message)
 * when no chromium binary is installed (Debian: `apt-get install chromium`).
 */
import assert from "node:assert/strict";
import { Effect } from "effect";
import { writeReport } from "../src/report/write.ts";
import { fixtureInput } from "./_report_fixture.ts";
import { requires } from "./_helpers.ts";

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function findChromium(): string | null {
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
      try {
        if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
      } catch { /* not here */ }
    }
  }
  return null;
}

/** Wait for the `DevTools listening on ws://...` line on stderr. */
async function devtoolsUrl(stderr: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
    const m = seen.match(/DevTools listening on (ws:\/\/\S+)/);
    if (m) {
      // Keep draining stderr so chromium never blocks on a full pipe.
      (async () => {
        try {
          while (!(await reader.read()).done) { /* drain */ }
        } catch { /* closed */ }
      })();
      return m[1]!;
    }
  }
  throw new Error(`chromium did not print its DevTools URL; stderr: ${seen.slice(0, 500)}`);
}

/** A minimal DevTools protocol client over one WebSocket. */
async function connect(url: string) {
  const ws = new WebSocket(url);
  await new Promise((ok, err) => {
    ws.onopen = ok;
    ws.onerror = err;
  });
  let id = 0;
  const pending = new Map<number, (msg: { result?: unknown; error?: unknown }) => void>();
  const events: { method: string; params: Record<string, unknown>; sessionId?: string }[] = [];
  const waiters: { method: string; resolve: () => void }[] = [];
  ws.onmessage = (e) => {
    const msg = JSON.parse(e.data);
    if (msg.id !== undefined) pending.get(msg.id)?.(msg);
    else {
      events.push(msg);
      for (const w of waiters.filter((w) => w.method === msg.method)) w.resolve();
    }
  };
  const send = (method: string, params: Record<string, unknown> = {}, sessionId?: string) =>
    new Promise<Record<string, unknown>>((ok, err) => {
      const n = ++id;
      pending.set(
        n,
        (m) => (m.error ? err(new Error(JSON.stringify(m.error))) : ok(m.result as never)),
      );
      ws.send(JSON.stringify({ id: n, method, params, ...(sessionId ? { sessionId } : {}) }));
    });
  const waitFor = (method: string, ms: number) =>
    new Promise<void>((ok, err) => {
      if (events.some((e) => e.method === method)) return ok();
      const timer = setTimeout(() => err(new Error(`no ${method} within ${ms} ms`)), ms);
      waiters.push({ method, resolve: () => (clearTimeout(timer), ok()) });
    });
  const close = () =>
    new Promise<void>((ok) => {
      ws.onclose = () => ok();
      ws.close();
    });
  return { send, waitFor, events, close };
}

const chromiumHere = findChromium();

Deno.test({
  ...requires(
    "report.html in headless Chromium: no console errors, charts render, screenshot",
    chromiumHere ? null : "no chromium binary on PATH (apt-get install chromium)",
  ),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const chromium = chromiumHere!;
    const dir = await Deno.makeTempDir();
    const profile = await Deno.makeTempDir();
    const { html } = await Effect.runPromise(writeReport(`${dir}/report`, fixtureInput()));
    const pageUrl = new URL(`file://${html}`).href;
    const proc = new Deno.Command(chromium, {
      args: [
        ...FLAGS,
        `--user-data-dir=${profile}`,
        "--remote-debugging-port=0",
        "--window-size=1200,2000",
        "about:blank",
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    try {
      const cdp = await connect(await devtoolsUrl(proc.stderr));
      const { targetId } = await cdp.send("Target.createTarget", { url: "about:blank" });
      const { sessionId } = await cdp.send("Target.attachToTarget", {
        targetId,
        flatten: true,
      }) as { sessionId: string };
      for (const domain of ["Runtime", "Log", "Page"]) {
        await cdp.send(`${domain}.enable`, {}, sessionId);
      }
      await cdp.send("Page.navigate", { url: pageUrl }, sessionId);
      await cdp.waitFor("Page.loadEventFired", 20_000);
      const { result } = await cdp.send("Runtime.evaluate", {
        expression: `JSON.stringify([...document.querySelectorAll("figure > svg")].map((s) => {
          const r = s.getBoundingClientRect();
          return { id: s.parentElement.id, w: r.width, h: r.height, marks: s.querySelectorAll("path, rect, line").length };
        }))`,
        returnByValue: true,
      }, sessionId) as { result: { value: string } };
      const charts = JSON.parse(result.value) as {
        id: string;
        w: number;
        h: number;
        marks: number;
      }[];
      // HS, FA, loss, drift, the HS-FA trade-off, and the sweep's HS and FA.
      assert.equal(charts.length, 7, `expected 7 charts, found ${charts.length}`);
      assert.ok(charts.some((c) => c.id === "chart-tradeoff"), "no trade-off chart");
      for (const c of charts) {
        assert.ok(c.w > 100 && c.h > 100, `${c.id} is ${c.w}x${c.h}`);
        assert.ok(c.marks > 5, `${c.id} has ${c.marks} marks`);
      }
      const shot = await cdp.send("Page.captureScreenshot", { format: "png" }, sessionId) as {
        data: string;
      };
      assert.ok(shot.data.length > 10_000, "screenshot should not be empty");
      const problems = cdp.events.filter((e) =>
        e.method === "Runtime.exceptionThrown" ||
        (e.method === "Runtime.consoleAPICalled" &&
          ["error", "assert"].includes(String(e.params.type))) ||
        (e.method === "Log.entryAdded" && (e.params.entry as { level: string }).level === "error")
      );
      assert.deepEqual(problems.map((p) => JSON.stringify(p.params).slice(0, 300)), []);
      await cdp.close();
    } finally {
      proc.kill("SIGKILL");
      await proc.status;
    }
    // The plain --screenshot route as well, kept for a person to look at.
    const out = Deno.env.get("LISA_SCREENSHOT_DIR") ?? dir;
    const png = `${out}/report.png`;
    const shot = await new Deno.Command(chromium, {
      args: [
        ...FLAGS,
        `--user-data-dir=${profile}-shot`,
        `--screenshot=${png}`,
        "--window-size=1200,2000",
        pageUrl,
      ],
      stdout: "null",
      stderr: "null",
    }).output();
    assert.equal(shot.code, 0);
    const bytes = await Deno.readFile(png);
    assert.deepEqual([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
    assert.equal(new DataView(bytes.buffer).getUint32(16), 1200); // width from the IHDR chunk
    console.log(`screenshot: ${bytes.length} bytes`);
    await Deno.remove(`${profile}-shot`, { recursive: true }).catch(() => {});
    await Deno.remove(profile, { recursive: true }).catch(() => {});
    if (out === dir) await Deno.remove(dir, { recursive: true });
  },
});
