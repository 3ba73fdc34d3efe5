import assert from "node:assert/strict";
import { z } from "zod";
import { defineCommand } from "../../lib/command/command.ts";
import { Registry } from "../../lib/command/registry.ts";
import { MppError } from "../../lib/errors.ts";
import { IpcClient } from "../../lib/ipc/client.ts";
import { IpcServer } from "../../lib/ipc/server.ts";

function registry(): Registry {
  const r = new Registry();
  r.register(
    defineCommand({ name: "echo", summary: "", args: z.object({ x: z.unknown() }), run: (_c, a) => a.x }),
  );
  r.register(defineCommand({
    name: "sleep",
    summary: "",
    args: z.object({ ms: z.number() }),
    run: (_c, a) => new Promise((res) => setTimeout(() => res(a.ms), a.ms)),
  }));
  r.register(defineCommand({
    name: "fail",
    summary: "",
    args: z.object({}),
    run: () => {
      throw new MppError("bad_input", "nope", "do better");
    },
  }));
  r.register(defineCommand({
    name: "emit",
    summary: "",
    args: z.object({ n: z.number() }),
    run: (ctx, a) => {
      for (let i = 0; i < a.n; i++) ctx.events.publish("ticks", i);
      return a.n;
    },
  }));
  return r;
}

async function withServer(
  fn: (path: string, server: IpcServer, dir: string) => Promise<void>,
  opts: { requestTimeoutMs?: number; maxMessageBytes?: number } = {},
): Promise<void> {
  const dir = Deno.makeTempDirSync();
  const path = `${dir}/sub/test.sock`;
  const server = await IpcServer.listen({ path, registry: registry(), service: "test daemon", ...opts });
  try {
    await fn(path, server, dir);
  } finally {
    await server.close();
    Deno.removeSync(dir, { recursive: true });
  }
}

async function rawExchange(path: string, text: string): Promise<string[]> {
  const conn = await Deno.connect({ transport: "unix", path });
  await conn.write(new TextEncoder().encode(text));
  const buf = new Uint8Array(65536);
  let out = "";
  const want = text.split("\n").filter((l) => l.length > 0).length;
  while (out.split("\n").length - 1 < want) {
    const n = await conn.read(buf);
    if (n === null) break;
    out += new TextDecoder().decode(buf.subarray(0, n));
  }
  conn.close();
  return out.trim().split("\n");
}

Deno.test("ipc: request/response round trip, errors carry code and hint; socket mode 0660", async () => {
  await withServer(async (path) => {
    assert.equal(Deno.statSync(path).mode! & 0o777, 0o660);
    const c = await IpcClient.connect(path, { service: "test daemon" });
    try {
      assert.deepEqual(await c.request("echo", { x: { a: [1, "b"] } }), { a: [1, "b"] });
      await assert.rejects(c.request("fail", {}), (e: unknown) => {
        assert.ok(e instanceof MppError);
        assert.equal(e.code, "bad_input");
        assert.equal(e.message, "nope");
        assert.equal(e.hint, "do better");
        return true;
      });
      await assert.rejects(c.request("nosuch"), /unknown command 'nosuch'/);
      await assert.rejects(c.request("echo", {}), /bad arguments for 'echo'/);
    } finally {
      await c.close();
    }
  });
});

Deno.test("ipc: many concurrent clients and out-of-order responses matched by id", async () => {
  await withServer(async (path, server) => {
    const clients = await Promise.all(Array.from({ length: 20 }, () => IpcClient.connect(path)));
    try {
      const results = await Promise.all(clients.flatMap((c, i) => [
        c.request("sleep", { ms: 30 - i }),
        c.request("echo", { x: i }),
      ]));
      assert.deepEqual(results, clients.flatMap((_, i) => [30 - i, i]));
      assert.equal(server.clientCount, 20);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });
});

Deno.test("ipc: server-side request timeout and client-side timeout", async () => {
  await withServer(async (path) => {
    const c = await IpcClient.connect(path);
    try {
      await assert.rejects(c.request("sleep", { ms: 300 }), (e: unknown) => {
        assert.ok(e instanceof MppError);
        assert.equal(e.code, "timeout");
        assert.match(e.message, /did not finish within 50 ms/);
        return true;
      });
      await assert.rejects(c.request("sleep", { ms: 40 }, 5), /did not answer 'sleep' within 5 ms/);
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      await c.close();
    }
  }, { requestTimeoutMs: 50 });
});

Deno.test("ipc: malformed JSON, wrong version and bad shapes get error responses with id", async () => {
  await withServer(async (path) => {
    const lines = await rawExchange(
      path,
      'not json\n{"v":2,"id":5,"cmd":"echo"}\n{"v":1,"id":6}\n{"v":1,"id":7,"cmd":"echo","args":{"x":1}}\n',
    );
    const msgs = lines.map((l) => JSON.parse(l));
    msgs.sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
    assert.equal(msgs[0].id, null);
    assert.match(msgs[0].error.message, /not valid JSON/);
    assert.equal(msgs[1].id, 5);
    assert.match(msgs[1].error.message, /unsupported IPC protocol version 2/);
    assert.equal(msgs[2].id, 6);
    assert.equal(msgs[2].ok, false);
    assert.deepEqual(msgs[3], { id: 7, ok: true, result: 1 });
  });
});

Deno.test("ipc: a message over the size limit is refused and the connection closed", async () => {
  await withServer(async (path, server) => {
    const big = JSON.stringify({ v: 1, id: 1, cmd: "echo", args: { x: "a".repeat(5000) } }) + "\n";
    const lines = await rawExchange(path, big);
    const m = JSON.parse(lines[0]);
    assert.equal(m.ok, false);
    assert.match(m.error.message, /longer than 1024 bytes/);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(server.clientCount, 0);
    const c = await IpcClient.connect(path);
    assert.equal(await c.request("echo", { x: "small" }), "small");
    await c.close();
  }, { maxMessageBytes: 1024 });
});

Deno.test("ipc: subscriptions stream events until unsubscribed", async () => {
  await withServer(async (path) => {
    const sub = await IpcClient.connect(path);
    const ctl = await IpcClient.connect(path);
    try {
      const got: unknown[] = [];
      const un = await sub.subscribe("ticks", (d) => got.push(d));
      assert.equal(await ctl.request("emit", { n: 3 }), 3);
      await sub.request("echo", { x: 0 }); // events sent before this response have arrived
      assert.deepEqual(got, [0, 1, 2]);
      await un();
      await ctl.request("emit", { n: 2 });
      await sub.request("echo", { x: 0 });
      assert.deepEqual(got, [0, 1, 2]);
    } finally {
      await sub.close();
      await ctl.close();
    }
  });
});

Deno.test("ipc: stale socket replaced; a second server on a live socket refuses to start", async () => {
  await withServer(async (path) => {
    await assert.rejects(
      IpcServer.listen({ path, registry: new Registry(), service: "test daemon" }),
      (e: unknown) => {
        assert.ok(e instanceof MppError);
        assert.equal(e.code, "busy");
        assert.match(e.message, /another test daemon is already running on/);
        return true;
      },
    );
  });
  // A stale socket: a bound path with no listener (what a SIGKILLed daemon leaves behind).
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/stale.sock`;
    const py = new Deno.Command("python3", {
      args: ["-c", `import socket;s=socket.socket(socket.AF_UNIX);s.bind(${JSON.stringify(path)})`],
    }).outputSync();
    assert.ok(py.success);
    assert.ok(Deno.lstatSync(path).isSocket);
    const s = await IpcServer.listen({ path, registry: registry() });
    const c = await IpcClient.connect(path);
    assert.equal(await c.request("echo", { x: 9 }), 9);
    await c.close();
    await s.close();
    Deno.writeTextFileSync(`${dir}/plain`, "x");
    await assert.rejects(
      IpcServer.listen({ path: `${dir}/plain`, registry: registry() }),
      /exists and is not a socket/,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("ipc: client errors say the daemon is not running and how to start it", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    await assert.rejects(
      IpcClient.connect(`${dir}/none.sock`, {
        service: "mroute daemon",
        startHint: "start it with: mpp mroute daemon",
      }),
      (e: unknown) => {
        assert.ok(e instanceof MppError);
        assert.equal(e.message, `mroute daemon is not running (no listener on ${dir}/none.sock)`);
        assert.equal(e.hint, "start it with: mpp mroute daemon");
        return true;
      },
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("ipc: closing the server fails pending client requests instead of hanging", async () => {
  const dir = Deno.makeTempDirSync();
  const path = `${dir}/s.sock`;
  const server = await IpcServer.listen({ path, registry: registry() });
  const c = await IpcClient.connect(path);
  const p = c.request("sleep", { ms: 200 });
  await new Promise((r) => setTimeout(r, 20));
  await server.close();
  await assert.rejects(p, /closed the connection/);
  await c.close();
  await new Promise((r) => setTimeout(r, 200));
  Deno.removeSync(dir, { recursive: true });
});

Deno.test({
  name: "ipc: the socket's group is configurable (by name); an unknown group is refused",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const dir = Deno.makeTempDirSync();
    try {
      const s = await IpcServer.listen({ path: `${dir}/g.sock`, registry: registry(), group: "nogroup" });
      const st = Deno.statSync(`${dir}/g.sock`);
      assert.equal(st.gid, 65534);
      assert.equal(st.mode! & 0o777, 0o660);
      await s.close();
      await assert.rejects(
        IpcServer.listen({ path: `${dir}/h.sock`, registry: registry(), group: "no-such-group-x" }),
        /unknown group 'no-such-group-x'/,
      );
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test("ipc: clients beyond maxClients get a busy error, the others keep working", async () => {
  const dir = Deno.makeTempDirSync();
  const server = await IpcServer.listen({ path: `${dir}/m.sock`, registry: registry(), maxClients: 2 });
  try {
    const a = await IpcClient.connect(`${dir}/m.sock`);
    const b = await IpcClient.connect(`${dir}/m.sock`);
    assert.equal(await a.request("echo", { x: 1 }), 1);
    assert.equal(await b.request("echo", { x: 2 }), 2);
    const lines = await rawExchange(`${dir}/m.sock`, '{"v":1,"id":1,"cmd":"echo","args":{"x":3}}\n');
    const m = JSON.parse(lines[0]);
    assert.equal(m.ok, false);
    assert.equal(m.error.code, "busy");
    assert.match(m.error.message, /too many clients \(2\)/);
    assert.equal(await a.request("echo", { x: 4 }), 4);
    await a.close();
    await b.close();
  } finally {
    await server.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("ipc: a subscriber that never reads is dropped instead of queueing events without end", async () => {
  const dir = Deno.makeTempDirSync();
  const r = registry();
  const server = await IpcServer.listen({ path: `${dir}/s.sock`, registry: r });
  try {
    // A raw connection that subscribes and then never reads.
    const conn = await Deno.connect({ transport: "unix", path: `${dir}/s.sock` });
    await conn.write(new TextEncoder().encode('{"v":1,"id":1,"sub":"ticks"}\n'));
    await new Promise((res) => setTimeout(res, 50));
    const ctl = await IpcClient.connect(`${dir}/s.sock`);
    // Big events fill the socket buffers quickly; then the write queue reaches its limit.
    r.register(defineCommand({
      name: "flood",
      summary: "",
      args: z.object({}),
      run: (ctx) => {
        const big = "x".repeat(4096);
        for (let i = 0; i < 6000; i++) ctx.events.publish("ticks", big);
        return true;
      },
    }));
    await ctl.request("flood", {});
    for (let i = 0; i < 50 && server.clientCount > 1; i++) await new Promise((res) => setTimeout(res, 20));
    assert.equal(server.clientCount, 1, "the stuck subscriber was dropped, the control client stays");
    assert.equal(await ctl.request("echo", { x: 1 }), 1);
    await ctl.close();
    conn.close();
  } finally {
    await server.close();
    Deno.removeSync(dir, { recursive: true });
  }
});
