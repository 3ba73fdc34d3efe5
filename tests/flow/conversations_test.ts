/**
 * TCP conversations as tshark's `-z conv,tcp` lists them: one row per connection (tcp.stream), so
 * a 4-tuple reused after close is several rows. The generator's TCP slots recycle their source
 * ports, which makes such reuse on every slot.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { analyzeFiles } from "../../lib/flow/analyze_files.ts";
import { writeCapture } from "../../bench/gen/write.ts";
import { haveTool, testIf } from "../_util/corpus.ts";
import { parseConv, tshark, type TsharkConv } from "../_util/tshark.ts";
import type { ConversationReport } from "../../lib/flow/report_schema.ts";
import * as B from "../../lib/packet/build.ts";
import { PcapWriter } from "../../lib/capture/mod.ts";

async function reuseCapture(): Promise<{ dir: string; file: string }> {
  const dir = await Deno.makeTempDir({ prefix: "mpp-conv-" });
  const file = join(dir, "reuse.pcap");
  await writeCapture(file, { packets: 12_000, seed: 21, tcpSlots: 16, rtpStreams: 1, rtpShare: 0.02 });
  return { dir, file };
}

Deno.test("TCP conversations: one row per connection, with reassembly and without", async () => {
  const { dir, file } = await reuseCapture();
  try {
    const { report } = await analyzeFiles([file], { threads: 1 });
    const rows = report.conversations.tcp;
    assert.equal(rows.length, report.tcp!.counters.streams, "one row per tcp.stream");
    const tuples = new Set(rows.map((r) => [r.a, r.b].sort().join(" ")));
    assert.ok(tuples.size < rows.length, "the capture should reuse 4-tuples");
    // Rows still add up to the flows: frames and bytes of all TCP flows.
    const tcpFlows = report.flows.filter((f) => f.transport.name === "TCP");
    const sum = (xs: number[]) => xs.reduce((n, x) => n + x, 0);
    assert.equal(sum(rows.map((r) => r.packets)), sum(tcpFlows.map((f) => f.packets)));
    assert.equal(sum(rows.map((r) => r.bytes)), sum(tcpFlows.map((f) => f.bytes)));
    for (const r of rows) assert.ok(r.duration >= 0 && r.relStart >= 0);
    // Without reassembly the flow layer finds the same connection boundaries: the same rows.
    const off = (await analyzeFiles([file], { threads: 1, tcp: false })).report;
    const sorted = (r: typeof report) =>
      JSON.stringify(
        r.conversations.tcp.slice().sort((x, y) => x.relStart - y.relStart || (x.a < y.a ? -1 : 1)),
      );
    assert.equal(sorted(off), sorted(report));
    assert.equal(JSON.stringify(off.endpoints.tcp), JSON.stringify(report.endpoints.tcp));
    // Sharded: the same rows.
    const two = (await analyzeFiles([file], { threads: 2 })).report;
    assert.deepEqual(two.conversations.tcp, rows);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

testIf(
  haveTool("tshark"),
  "tshark not installed",
  "TCP conversations equal tshark's conv,tcp row for row on reused 4-tuples",
  async () => {
    const { dir, file } = await reuseCapture();
    try {
      const theirs = parseConv(await tshark(["-r", file, "-q", "-z", "conv,tcp"]), "TCP Conversations");
      for (const tcp of [undefined, false as const]) {
        sameRows(theirs, (await analyzeFiles([file], { threads: 1, tcp })).report.conversations.tcp);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

/** mpp's TCP rows equal tshark's as multisets (rows of one 4-tuple differ only in their counts). */
function sameRows(theirs: TsharkConv[], ours: ConversationReport[]): void {
  assert.equal(ours.length, theirs.length);
  const norm = (a: string) => a.replace(/^\[(.*)\]:(\d+)$/, "$1:$2");
  // Rows of one 4-tuple differ only in their counts: compare as multisets of (A, B, frames each way).
  const sig = (a: string, b: string, ab: number, ba: number) => `${norm(a)} ${norm(b)} ${ab} ${ba}`;
  const pool = new Map<string, number[]>();
  for (const r of ours) {
    const k = sig(r.a, r.b, r.aToBPackets, r.bToAPackets);
    pool.set(k, [...(pool.get(k) ?? []), r.bytes]);
  }
  for (const t of theirs) {
    const k = sig(t.a, t.b, t.aToBFrames, t.bToAFrames);
    const left = pool.get(k);
    assert.ok(left && left.length > 0, `tshark row ${k} has no equal mpp row`);
    const i = t.bytes === null ? 0 : left.indexOf(t.bytes);
    assert.ok(i >= 0, `tshark row ${k}: ${t.bytes} bytes, mpp ${left.join(", ")}`);
    left.splice(i, 1);
  }
}

/**
 * 600 GRE tunnels from 600 outer endpoints to one head end, each carrying UDP between an inner pair
 * of its own, then plain UDP between the head end and the first endpoint, whose pair is then both a
 * flow's own conversation and a tunnel's outer pair: one row, A side and times from its first frame.
 */
async function tunnelCapture(n: number): Promise<{ dir: string; file: string }> {
  const head = "192.0.2.1";
  const eth = (payload: Uint8Array) =>
    B.ethernet({ src: "02:00:00:00:00:01", dst: "02:00:00:00:00:02", etherType: 0x0800, payload });
  const udpIn = (src: string, dst: string) =>
    B.ipv4({
      src,
      dst,
      proto: 17,
      payload: B.udp({ sport: 5000, dport: 6000, payload: new Uint8Array(8), src, dst }),
    });
  const dir = await Deno.makeTempDir({ prefix: "mpp-conv-" });
  const file = join(dir, "tunnels.pcap");
  const w = await PcapWriter.create(file, { linkType: 1, precision: "ns" });
  let k = 0;
  const put = (f: Uint8Array) => w.write(f, f.length, 1_700_000_000, 1000 * k++, 0);
  for (let i = 0; i < n; i++) {
    const inner = udpIn(innerA(i), innerB(i));
    const t = eth(
      B.ipv4({ src: outerIp(i), dst: head, proto: 47, payload: B.gre({ protocol: 0x0800, payload: inner }) }),
    );
    put(t);
    put(t);
  }
  put(eth(udpIn(head, outerIp(0))));
  await w.close();
  return { dir, file };
}
const outerIp = (i: number) => `198.18.${i >> 8}.${i & 0xff}`;
const innerA = (i: number) => `10.${i >> 8}.${i & 0xff}.1`;
const innerB = (i: number) => `10.200.${i >> 8}.${i & 0xff}`;

Deno.test("tunnel-outer IP pairs join the IP table by address pair, at scale and into existing rows", async () => {
  const N = 600;
  const { dir, file } = await tunnelCapture(N);
  try {
    const ip = (await analyzeFiles([file], { threads: 1 })).report.conversations.ip;
    assert.equal(ip.length, 2 * N, "N inner pairs and N outer pairs");
    const pair = (x: string, y: string) =>
      ip.filter((r) => (r.a === x && r.b === y) || (r.a === y && r.b === x));
    for (let i = 0; i < N; i++) {
      assert.equal(pair(outerIp(i), "192.0.2.1").length, 1, `outer pair ${i}: one row`);
      assert.equal(pair(innerA(i), innerB(i))[0].packets, 2);
    }
    const first = pair(outerIp(0), "192.0.2.1")[0];
    assert.equal(first.packets, 3, "2 tunnelled frames and the plain one");
    assert.equal(first.a, outerIp(0), "A is the first frame's source (the tunnel's)");
    assert.equal(first.aToBPackets, 2);
    assert.equal(first.relStart, 0);
    assert.equal(first.duration, 1000 * 2 * N / 1e9);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

testIf(
  haveTool("tshark"),
  "tshark not installed",
  "tunnel-outer IP pairs: the IP table equals tshark's conv,ip row for row",
  async () => {
    const { dir, file } = await tunnelCapture(50);
    try {
      const theirs = parseConv(await tshark(["-r", file, "-q", "-z", "conv,ip"]), "IPv4 Conversations");
      const ours = (await analyzeFiles([file], { threads: 1 })).report.conversations.ip;
      const key = (a: string, b: string, ab: number, ba: number, start: number) =>
        `${a} ${b} ${ab} ${ba} ${start.toFixed(9)}`;
      assert.deepEqual(
        ours.map((r) => key(r.a, r.b, r.aToBPackets, r.bToAPackets, r.relStart)).sort(),
        theirs.map((t) => key(t.a, t.b, t.aToBFrames, t.bToAFrames, t.relStart)).sort(),
      );
      for (const t of theirs) {
        const r = ours.find((o) => o.a === t.a && o.b === t.b)!;
        assert.equal(r.bytes, t.bytes);
        assert.equal(Number(r.duration.toFixed(4)), t.duration);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
