/**
 * Every failure class has its own tag, so `catchTags` (and the CLI's exit-code table) can tell
 * them apart: two classes sharing a tag would be handled as one.
 */
import assert from "node:assert/strict";

const root = new URL("../", import.meta.url).pathname;

async function* sources(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) yield* sources(path);
    else if (e.name.endsWith(".ts")) yield path;
  }
}

Deno.test("every tagged error class has a unique tag", async () => {
  const byTag = new Map<string, string[]>();
  for (const dir of ["src", "backends"]) {
    for await (const file of sources(`${root}${dir}`)) {
      const text = await Deno.readTextFile(file);
      for (const m of text.matchAll(/class (\w+) extends Data\.TaggedError\("([^"]+)"\)/g)) {
        const [, cls, tag] = m;
        byTag.set(tag!, [...(byTag.get(tag!) ?? []), `${cls} (${file.slice(root.length)})`]);
      }
    }
  }
  assert.ok(byTag.size >= 20, `found only ${byTag.size} tagged errors`);
  const shared = [...byTag].filter(([, classes]) => classes.length > 1);
  assert.deepEqual(shared, [], "tags shared by more than one class");
});
