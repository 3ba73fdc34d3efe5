import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const deno = `${root}node_modules/.bin/deno`;

Deno.test("the portable artifact: deno bundle makes one JS file that analyses the sample from anywhere", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mpp-bundle-" });
  try {
    const out = `${dir}/mpp.js`;
    const b = await new Deno.Command(deno, {
      args: ["bundle", "-q", "-o", out, `${root}cli/main.ts`],
      cwd: root,
      stderr: "piped",
    }).output();
    assert.ok(b.success, new TextDecoder().decode(b.stderr));
    // Run from another directory with the bundle alone: no import of the source tree.
    const r = await new Deno.Command(deno, {
      args: ["run", "-A", "--no-config", out, "analyze", "--json", `${root}samples/demo.pcapng`],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(r.success, new TextDecoder().decode(r.stderr));
    const oneThread = new TextDecoder().decode(r.stdout);
    assert.equal(JSON.parse(oneThread).summary.packets, 1500);
    // Worker modules do not travel with the bundle: a sharded run stays on one thread and says so,
    // and --streams writes its files in-thread.
    const t = await new Deno.Command(deno, {
      args: [
        "run",
        "-A",
        "--no-config",
        out,
        "analyze",
        "--json",
        "--threads",
        "2",
        `${root}samples/demo.pcapng`,
      ],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(t.success, new TextDecoder().decode(t.stderr));
    assert.equal(new TextDecoder().decode(t.stdout), oneThread);
    assert.match(new TextDecoder().decode(t.stderr), /one thread: no Worker module/);
    const s = await new Deno.Command(deno, {
      args: [
        "run",
        "-A",
        "--no-config",
        out,
        "analyze",
        "-q",
        "--streams",
        `${dir}/streams`,
        `${root}samples/demo.pcapng`,
      ],
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.ok(s.success, new TextDecoder().decode(s.stderr));
    const index = JSON.parse(await Deno.readTextFile(`${dir}/streams/index.json`));
    let files = 0;
    for (const st of index.streams) {
      for (const side of [st.orig, st.resp]) {
        if (side.file === null) continue;
        files++;
        assert.equal((await Deno.stat(`${dir}/streams/${side.file}`)).size, side.bytes, side.file);
      }
    }
    assert.ok(files > 0, "the sample has TCP payload");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
