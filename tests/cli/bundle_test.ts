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
    assert.equal(JSON.parse(new TextDecoder().decode(r.stdout)).summary.packets, 1500);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
