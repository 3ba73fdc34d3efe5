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
