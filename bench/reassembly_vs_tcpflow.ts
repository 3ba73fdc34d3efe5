/**
 * TCP reassembly benchmark: `mpp analyze --streams` against `tcpflow -r` (and `tshark -z follow` for
 * one stream) on one generated capture with 10,000+ concurrent connections, reordering and
 * retransmissions; payload MB/s and peak memory for each, in one run. Then the full analysis with
 * reassembly on and off (packets/s), and the design question: one event-loop thread versus two
 * Workers sharded by a symmetric flow hash.
 *
 *   deno run -A bench/reassembly_vs_tcpflow.ts [PACKETS=1000000] [SLOTS=12000]
 */
import { join } from "node:path";
import { generate } from "./gen/traffic.ts";
import { PcapWriter } from "../lib/capture/mod.ts";
import { fmtTable, haveCommand, measure, type Measured } from "./lib/measure.ts";

const MAIN = new URL("../cli/main.ts", import.meta.url).pathname;

/** Shard of a frame by a symmetric hash of its IPv4 addresses and ports (both directions agree). */
export function shardOf(b: Uint8Array, shards: number): number {
  let o = 12;
  let et = (b[o] << 8) | b[o + 1];
  while (et === 0x8100 && o + 6 <= b.length) {
    o += 4;
    et = (b[o] << 8) | b[o + 1];
  }
  o += 2;
  if (et !== 0x0800 || o + 20 > b.length) return 0;
  const src = ((b[o + 12] << 24) | (b[o + 13] << 16) | (b[o + 14] << 8) | b[o + 15]) >>> 0;
  const dst = ((b[o + 16] << 24) | (b[o + 17] << 16) | (b[o + 18] << 8) | b[o + 19]) >>> 0;
  const proto = b[o + 9];
  let h = (src ^ dst) >>> 0;
  const l4 = o + (b[o] & 15) * 4;
  if ((proto === 6 || proto === 17) && l4 + 4 <= b.length) {
    h = (h ^ (((b[l4] << 8) | b[l4 + 1]) ^ ((b[l4 + 2] << 8) | b[l4 + 3]))) >>> 0;
  }
  return (Math.imul(h ^ (h >>> 16), 0x45d9f3b) >>> 0) % shards;
}

// Worker side: analyse the file (optionally only one shard) and report the packet count.
if ("WorkerGlobalScope" in globalThis) {
  const { analyzeFiles } = await import("../lib/flow/analyze_files.ts");
  (self as unknown as Worker).onmessage = async (e: MessageEvent) => {
    const { file, shard, shards } = e.data as { file: string; shard: number; shards: number };
    const filter = shards > 1 ? (d: Uint8Array) => shardOf(d, shards) === shard : undefined;
    const r = await analyzeFiles([file], { filter });
    (self as unknown as Worker).postMessage({
      packets: r.report.summary.packets,
      streams: r.tcp?.streams.length ?? 0,
      http: r.report.http?.transactions.length ?? 0,
    });
    self.close();
  };
}

async function runWorkers(
  file: string,
  shards: number,
): Promise<{ wall: number; packets: number; streams: number }> {
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from(
      { length: shards },
      (_, shard) =>
        new Promise<{ packets: number; streams: number }>((resolve, reject) => {
          const w = new Worker(import.meta.url, { type: "module" });
          w.onmessage = (e) => resolve(e.data);
          w.onerror = (e) => reject(e);
          w.postMessage({ file, shard, shards });
        }),
    ),
  );
  return {
    wall: (performance.now() - t0) / 1000,
    packets: results.reduce((n, r) => n + r.packets, 0),
    streams: results.reduce((n, r) => n + r.streams, 0),
  };
}

async function main(): Promise<void> {
  const packets = Number(Deno.args[0] ?? 1_000_000);
  const slots = Number(Deno.args[1] ?? 12_000);
  await Deno.mkdir(".tmp", { recursive: true });
  const file = `.tmp/reasm-${packets}-${slots}.pcap`;
  try {
    await Deno.stat(file);
  } catch {
    const w = await PcapWriter.create(file, { linkType: 1, precision: "ns" });
    generate(
      { packets, seed: 7, tcpSlots: slots, rtpStreams: 1, rtpShare: 0, dnsShare: 0, ptpShare: 0 },
      (fr, s, ns) => w.write(fr, fr.length, s, ns, 0),
    );
    await w.close();
  }
  const work = await Deno.makeTempDir({ prefix: "mpp-reasm-" });
  const cap = 64 << 20;
  const rows: Measured[] = [];
  const mppDir = join(work, "mpp"), tfDir = join(work, "tf");
  const mppRun = await measure(
    "mpp analyze --streams",
    `deno run -A ${MAIN} analyze ${file} --streams ${mppDir} --tcp-memory ${cap} -q > /dev/null`,
  );
  rows.push(mppRun);
  const index = JSON.parse(await Deno.readTextFile(join(mppDir, "index.json")));
  const totals = index.totals as Record<string, number>;
  const payload = totals.bytes;
  const streams = totals.streams;
  let tcpflow: Measured | null = null;
  if (haveCommand("tcpflow")) {
    await Deno.mkdir(tfDir);
    tcpflow = await measure("tcpflow -r", `tcpflow -r ${file} -o ${tfDir} 2>/dev/null`);
    rows.push(tcpflow);
  }
  if (haveCommand("tshark")) {
    rows.push(
      await measure(
        "tshark -z follow (1 stream)",
        `tshark -r ${file} -q -z follow,tcp,raw,0 > /dev/null 2>&1`,
      ),
    );
  }
  const analyzeOn = await measure(
    "mpp analyze (reassembly+HTTP)",
    `deno run -A ${MAIN} analyze ${file} --json > /dev/null`,
  );
  const analyzeOff = await measure(
    "mpp analyze --no-reassembly",
    `deno run -A ${MAIN} analyze ${file} --json --no-reassembly > /dev/null`,
  );
  rows.push(analyzeOn, analyzeOff);
  await Deno.remove(work, { recursive: true });

  const mb = payload / 1e6;
  console.log(
    `capture ${file}: ${packets} packets, ${streams} TCP connections (${slots} concurrent slots), ` +
      `${mb.toFixed(1)} MB payload, ${totals.outOfOrder} out-of-order, ` +
      `${totals.retransmitted} retransmitted, ${totals.overlapBytes} overlapping bytes`,
  );
  console.log(
    fmtTable([
      ["run", "wall s", "cpu s", "peak RSS MiB", "payload MB/s", "Mpkt/s"],
      ...rows.map((r) => [
        r.name,
        r.wall.toFixed(2),
        r.cpu.toFixed(2),
        r.maxRssMiB.toFixed(0),
        r.name.startsWith("tshark") ? "-" : (mb / r.wall).toFixed(1),
        (packets / r.wall / 1e6).toFixed(3),
      ]),
    ]),
  );
  if (tcpflow) console.log(`mpp --streams / tcpflow throughput: ${(tcpflow.wall / mppRun.wall).toFixed(2)}x`);
  console.log(
    `reassembly caps: --tcp-memory ${cap >> 20} MiB global, 1024 KiB per direction (default); ` +
      `peak out-of-order buffered ${(totals.peakBuffered / 1024).toFixed(0)} KiB; process peak RSS ${
        mppRun.maxRssMiB.toFixed(0)
      } MiB`,
  );

  // Design question: one thread with one flow map, or Workers sharded by a symmetric flow hash.
  const one = await runWorkers(file, 1);
  const two = await runWorkers(file, 2);
  console.log(
    fmtTable([
      ["analysis in Workers", "wall s", "Mpkt/s", "packets", "streams"],
      [
        "1 Worker, one flow map",
        one.wall.toFixed(2),
        (packets / one.wall / 1e6).toFixed(3),
        String(one.packets),
        String(one.streams),
      ],
      [
        "2 Workers, symmetric-hash shards (each reads the file)",
        two.wall.toFixed(2),
        (packets / two.wall / 1e6).toFixed(3),
        String(two.packets),
        String(two.streams),
      ],
    ]),
  );
  console.log(
    `2 shards / 1 thread speed-up: ${
      (one.wall / two.wall).toFixed(2)
    }x on ${navigator.hardwareConcurrency} cores`,
  );
}

if (import.meta.main) await main();
