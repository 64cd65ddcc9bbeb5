/**
 * Starting and talking to the PyTorch peer (`torch_peer.py`): which Python to use, a line
 * protocol over its stdin/stdout, and its peak-RSS mode. The project never needs Python; the
 * bench uses it only when one with torch, transformers and peft is found.
 *
 * Python: `LISA_PEER_PYTHON` when set, else `python3` on PATH.
 *
 * @module
 */

const SCRIPT = new URL("./torch_peer.py", import.meta.url).pathname;

/** The Python the peer runs with, or why there is none. */
export type PeerPython = { ok: true; python: string; versions: string } | {
  ok: false;
  reason: string;
};

/** Look for a Python that imports torch, transformers and peft. */
export async function findPeerPython(): Promise<PeerPython> {
  const python = Deno.env.get("LISA_PEER_PYTHON")?.trim() || "python3";
  try {
    const out = await new Deno.Command(python, {
      args: [
        "-c",
        "import torch, transformers, peft; " +
        "print(f'torch {torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}')",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      const err = new TextDecoder().decode(out.stderr).trim().split("\n").pop() ?? "";
      return { ok: false, reason: `${python} cannot import torch, transformers and peft (${err})` };
    }
    return { ok: true, python, versions: new TextDecoder().decode(out.stdout).trim() };
  } catch (e) {
    return { ok: false, reason: `${python} did not start: ${e instanceof Error ? e.message : e}` };
  }
}

/** A running peer: send one command, get its one JSON line back. */
export interface Peer {
  readonly info: Record<string, unknown>;
  call(command: string): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Start the peer with `spec` (see `torch_peer.py`) and wait for it to be ready. */
export async function startPeer(python: string, spec: unknown): Promise<Peer> {
  const child = new Deno.Command(python, {
    args: [SCRIPT, JSON.stringify(spec)],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const next = async (): Promise<Record<string, unknown>> => {
    while (!buffer.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error("the PyTorch peer exited early");
      buffer += value;
    }
    const i = buffer.indexOf("\n");
    const line = buffer.slice(0, i);
    buffer = buffer.slice(i + 1);
    return JSON.parse(line) as Record<string, unknown>;
  };
  const info = await next();
  return {
    info,
    call: async (command) => {
      await writer.write(new TextEncoder().encode(`${command}\n`));
      const r = await next();
      if (typeof r.error === "string") throw new Error(`PyTorch peer: ${r.error}`);
      return r;
    },
    close: async () => {
      await writer.write(new TextEncoder().encode("quit\n")).catch(() => undefined);
      await writer.close().catch(() => undefined);
      await lines.cancel().catch(() => undefined);
      await child.status;
    },
  };
}

/** Peak RSS (bytes) of a peer process that only builds the training model and runs 2 steps. */
export async function peerPeakRss(python: string, spec: unknown): Promise<number> {
  const out = await new Deno.Command(python, {
    args: [SCRIPT, JSON.stringify(spec), "--rss-only"],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error("the PyTorch peer's memory run failed");
  const last = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "{}";
  return Number((JSON.parse(last) as { peakRssBytes?: number }).peakRssBytes);
}
