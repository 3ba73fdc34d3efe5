/**
 * The client side of batch mode against a real IPC server: chunking into mroute.batch requests,
 * order, flush/reload as their own requests, and per-line error mapping. (The daemon side is
 * covered by tests/e2e/mroute_batch_test.ts.)
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { defineCommand } from "../../lib/command/command.ts";
import { Registry } from "../../lib/command/registry.ts";
import { MppError } from "../../lib/errors.ts";
import { IpcClient } from "../../lib/ipc/client.ts";
import { IpcServer } from "../../lib/ipc/server.ts";
import { batchLine, runBatchText } from "../../lib/mroute/batch.ts";

Deno.test("batch: lines become ops; flush/reload are separate; bad lines are errors", () => {
  assert.deepEqual(batchLine(["add", "eth0", "10.0.0.1", "239.1.1.1", "eth1"]), {
    op: "add",
    iif: "eth0",
    source: "10.0.0.1",
    group: "239.1.1.1",
    oifs: ["eth1"],
  });
  assert.deepEqual(batchLine(["rem", "eth0", "239.1.1.1"]), {
    op: "del",
    iif: "eth0",
    source: undefined,
    group: "239.1.1.1",
  });
  assert.deepEqual(batchLine(["flush", "all"]), { cmd: "mroute.flush", args: { all: true } });
  assert.throws(() => batchLine(["add", "eth0", "239.1.1.1"]), /no outbound interface/);
  assert.throws(() => batchLine(["join", "eth0", "239.1.1.1", "eth1"]), /unexpected 'eth1'/);
  assert.throws(() => batchLine(["nope"]), /unknown command 'nope'/);
});

Deno.test("batch: 1,200 lines go as ordered chunks of at most 500, errors mapped back to lines", async () => {
  const dir = Deno.makeTempDirSync();
  const calls: Array<{ cmd: string; n: number }> = [];
  const seen: string[] = [];
  const r = new Registry();
  r.register(defineCommand({
    name: "mroute.batch",
    summary: "",
    args: z.object({ ops: z.array(z.object({ op: z.string(), group: z.string() }).loose()) }),
    run: (_c, a) => {
      calls.push({ cmd: "batch", n: a.ops.length });
      return {
        results: a.ops.map((o) => {
          seen.push(o.group);
          return o.group === "239.0.2.7"
            ? { ok: false, error: { code: "bad_input", message: "refused 239.0.2.7", hint: "h" } }
            : { ok: true };
        }),
      };
    },
  }));
  r.register(defineCommand({
    name: "mroute.flush",
    summary: "",
    args: z.object({ all: z.boolean() }),
    run: () => {
      calls.push({ cmd: "flush", n: 1 });
      return {};
    },
  }));
  const server = await IpcServer.listen({ path: `${dir}/b.sock`, registry: r });
  try {
    const lines: string[] = [];
    for (let i = 0; i < 1200; i++) lines.push(`add eth0 10.0.0.1 239.0.${i >> 8}.${i & 255} eth1`);
    lines.splice(700, 0, "flush", "bogus line");
    const res = await runBatchText(lines.join("\n"), () => IpcClient.connect(`${dir}/b.sock`));
    assert.equal(res.commands, 1202);
    assert.deepEqual(calls, [
      { cmd: "batch", n: 500 },
      { cmd: "batch", n: 200 },
      { cmd: "flush", n: 1 },
      { cmd: "batch", n: 500 },
    ]);
    assert.equal(seen.length, 1200);
    assert.deepEqual(seen.slice(0, 2), ["239.0.0.0", "239.0.0.1"]);
    assert.equal(seen[1199], "239.0.4.175");
    assert.deepEqual(
      res.errors.map(([ln, e]) => [ln, (e as MppError).message]),
      [
        [702, "unknown command 'bogus'"],
        [2 * 256 + 7 + 1, "refused 239.0.2.7"],
      ].sort((a, b) => (a[0] as number) - (b[0] as number)),
    );
  } finally {
    await server.close();
    Deno.removeSync(dir, { recursive: true });
  }
});
