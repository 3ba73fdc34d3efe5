import assert from "node:assert/strict";
import { join } from "node:path";
import { analyzeCore } from "../../lib/flow/analyze_files.ts";
import { countersByFlow } from "../../lib/tcp/report.ts";
import { CONN_WORDS } from "../../lib/tcp/reassembly.ts";
import { writeCapture } from "../../bench/gen/write.ts";

Deno.test("keepStreams false: folded connections give the same per-flow and total counters", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mpp-fold-" });
  const file = join(dir, "gen.pcap");
  // Few TCP slots for many packets: each slot reuses its 4-tuple for connection after connection.
  await writeCapture(file, {
    packets: 20_000,
    seed: 5,
    tcpSlots: 40,
    rtpStreams: 1,
    rtpShare: 0,
    dnsShare: 0,
    ptpShare: 0,
  });
  const kept = await analyzeCore([file], { tcp: { keepStreams: true } });
  const folded = await analyzeCore([file], { tcp: { keepStreams: false } });
  const a = kept.tcp!, b = folded.tcp!;
  assert.ok(a.streams.length > b.streams.length, "some connections should have been let go");
  assert.equal(b.streams.length, new Set(b.streams.map((s) => s.flow)).size, "one connection per flow held");
  assert.deepEqual(b.totals(), a.totals());
  const ca = countersByFlow(a), cb = countersByFlow(b);
  const byId = (m: Map<unknown, unknown>) => new Map([...m].map(([f, c]) => [(f as { id: number }).id, c]));
  assert.deepEqual(byId(cb), byId(ca));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("keepStreams false: let-go connections keep their conversation rows", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mpp-fold-" });
  const file = join(dir, "gen.pcap");
  await writeCapture(file, {
    packets: 8_000,
    seed: 9,
    tcpSlots: 12,
    rtpStreams: 1,
    rtpShare: 0,
    dnsShare: 0,
    ptpShare: 0,
  });
  const kept = (await analyzeCore([file], { tcp: { keepStreams: true } })).tcp!;
  const folded = (await analyzeCore([file], { tcp: { keepStreams: false } })).tcp!;
  const byId = (m: Map<unknown, unknown>) => new Map([...m].map(([f, c]) => [(f as { id: number }).id, c]));
  const a = byId(kept.connectionsByFlow()), b = byId(folded.connectionsByFlow());
  assert.deepEqual(b, a);
  const rows = [...a.values()] as number[][];
  assert.equal(rows.reduce((n, r) => n + r.length / CONN_WORDS, 0), kept.streams.length);
  assert.ok(rows.some((r) => r.length > CONN_WORDS), "the capture should reuse 4-tuples");
  await Deno.remove(dir, { recursive: true });
});
