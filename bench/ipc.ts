/**
 * IPC round-trip benchmark: 10,000 small sequential requests through mpp's IpcClient → IpcServer
 * (server in its own Deno process, dispatching a "ping" command through the Registry), against the
 * same newline-JSON exchange between a C client and a C server (bench/ipc_peer.c, compiled here
 * with cc into .tmp/). Also runs the C client against mpp's server to separate the two sides.
 *
 *   deno run -A bench/ipc.ts [N]
 * Targets: median within 3x, p99 within 4x of the C round trip.
 */
import { z } from "zod";
import { defineCommand } from "../lib/command/command.ts";
import { Registry } from "../lib/command/registry.ts";
import { IpcClient } from "../lib/ipc/client.ts";
import { IpcServer } from "../lib/ipc/server.ts";

const root = new URL("../", import.meta.url).pathname;

if (Deno.args[0] === "--serve") {
  const r = new Registry();
  r.register(defineCommand({ name: "ping", summary: "", args: z.object({}), run: () => "pong" }));
  await IpcServer.listen({ path: Deno.args[1], registry: r });
  console.log("ready");
  await new Promise(() => {});
}

const N = Number(Deno.args[0] ?? 10_000);
const tmp = `${root}.tmp/ipc-bench-${Deno.pid}`;
Deno.mkdirSync(tmp, { recursive: true });
const peer = `${root}.tmp/ipc_peer`;
const cc = new Deno.Command("cc", { args: ["-O2", "-o", peer, `${root}bench/ipc_peer.c`] }).outputSync();
if (!cc.success) {
  console.error("cc failed:", new TextDecoder().decode(cc.stderr));
  Deno.exit(1);
}

async function startServer(cmd: string, args: string[]): Promise<Deno.ChildProcess> {
  const p = new Deno.Command(cmd, { args, stdout: "piped", stderr: "inherit" }).spawn();
  const reader = p.stdout.getReader();
  const { value } = await reader.read();
  if (!new TextDecoder().decode(value).includes("ready")) throw new Error(`${cmd} did not start`);
  reader.releaseLock();
  p.stdout.cancel();
  return p;
}

/** Round-trip times in µs from one run of the C client against `path`. */
function cClient(path: string, n: number): number[] {
  const out = new Deno.Command(peer, { args: ["client", path, String(n), "all"] }).outputSync();
  if (!out.success) throw new Error(`C client failed: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).trim().split("\n").map((x) => Number(x) / 1000);
}

function stats(t: number[]): { median: number; p99: number } {
  const s = t.slice().sort((a, b) => a - b);
  return { median: s[s.length >> 1], p99: s[Math.floor(s.length * 0.99)] };
}

const denoBin = Deno.execPath();
const mppSock = `${tmp}/mpp.sock`;
const cSock = `${tmp}/c.sock`;
const cServer = await startServer(peer, ["server", cSock]);
const mppServer = await startServer(denoBin, ["run", "-A", import.meta.filename!, "--serve", mppSock]);
try {
  // The three exchanges run interleaved in ROUNDS blocks, so changes in machine load (and CPU
  // idle states, which make an idle machine slower) hit all of them alike.
  const ROUNDS = 5;
  const per = Math.ceil(N / ROUNDS);
  const tc: number[] = [], tcm: number[] = [], tm: number[] = [];
  const client = await IpcClient.connect(mppSock);
  for (let i = 0; i < 500; i++) await client.request("ping", {}); // warm-up (JIT)
  for (let r = 0; r < ROUNDS; r++) {
    tc.push(...cClient(cSock, per));
    tcm.push(...cClient(mppSock, per));
    for (let i = 0; i < per; i++) {
      const a = performance.now();
      await client.request("ping", {});
      tm.push((performance.now() - a) * 1000);
    }
  }
  await client.close();
  const c = stats(tc);
  const cToMpp = stats(tcm);
  const mpp = stats(tm);
  const row = (name: string, r: { median: number; p99: number }) =>
    console.log(
      `${name.padEnd(30)} median ${r.median.toFixed(1).padStart(7)} µs  p99 ${
        r.p99.toFixed(1).padStart(7)
      } µs` +
        `   ratio vs C: median ${(r.median / c.median).toFixed(2)}x  p99 ${(r.p99 / c.p99).toFixed(2)}x`,
    );
  console.log(`IPC round trip, ${N} sequential requests (newline JSON over a UNIX stream socket)`);
  row("C client -> C server", c);
  row("C client -> mpp server", cToMpp);
  row("mpp client -> mpp server", mpp);
  const ok = mpp.median <= 3 * c.median && mpp.p99 <= 4 * c.p99;
  console.log(`target (median <= 3x, p99 <= 4x): ${ok ? "met" : "NOT met"}`);
} finally {
  cServer.kill();
  mppServer.kill();
  await cServer.status;
  await mppServer.status;
  Deno.removeSync(tmp, { recursive: true });
}
