import assert from "node:assert/strict";
import { MppError } from "../../lib/errors.ts";
import { loadState, StateWriter } from "../../lib/mroute/state.ts";
import type { RouteSpec } from "../../lib/mroute/spec.ts";

Deno.test("state: writes are atomic, 0600, coalesced, and every caller waits for a write with its change", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/sub/state.json`;
    const routes: RouteSpec[] = [];
    const w = new StateWriter(path, () => ({ routes: [...routes], joins: [] }));
    const waits: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      routes.push({ iif: "eth0", group: `239.0.0.${i}`, oifs: ["eth1"] });
      const n = routes.length;
      waits.push(
        w.save().then(() => assert.ok(loadState(path)!.routes.length >= n, `write after change ${n}`)),
      );
    }
    await Promise.all(waits);
    assert.ok(w.writes <= 3, `coalesced into ${w.writes} writes`);
    assert.equal(loadState(path)!.routes.length, 50);
    assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
    assert.deepEqual(
      [...Deno.readDirSync(`${dir}/sub`)].map((e) => e.name),
      ["state.json"],
      "no temporary file left",
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("state: a missing file is no state; a corrupt one is a clear error", () => {
  const dir = Deno.makeTempDirSync();
  try {
    assert.equal(loadState(`${dir}/none.json`), null);
    Deno.writeTextFileSync(`${dir}/bad.json`, "{nope");
    assert.throws(
      () => loadState(`${dir}/bad.json`),
      (e: unknown) => e instanceof MppError && /is not valid JSON/.test(e.message),
    );
    Deno.writeTextFileSync(`${dir}/v2.json`, JSON.stringify({ v: 2, routes: [] }));
    assert.throws(() => loadState(`${dir}/v2.json`), /state file .*v2\.json: v:/);
    Deno.writeTextFileSync(
      `${dir}/shape.json`,
      JSON.stringify({ v: 1, routes: [{ iif: "a/b", group: "x", oifs: [] }] }),
    );
    assert.throws(() => loadState(`${dir}/shape.json`), /routes\.0\.iif: not a valid interface name/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
