/**
 * Filtered packets per second: the JS-translated filter vs the interpreter vs one FFI call per packet
 * to libpcap's pcap_offline_filter, on the same packets in one run. Packets come from a capture file
 * (default: every Ethernet file of the shared corpus), replayed until each variant has run ~0.5 s.
 *
 *   deno run -A bench/bpf.ts [--file F.pcap] [--filter 'EXPR']...
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { BpfCode, offlinePackets, PcapHandle } from "../ffi/libpcap.ts";
import { compileFilter, runBpf, translateBpf } from "../lib/filter/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { file: { type: "string", multiple: true }, filter: { type: "string", multiple: true } },
});
const corpus = join(import.meta.dirname!, "..", "..", "shared", "testdata", "pcaps");
const files = values.file ?? [...Deno.readDirSync(corpus)].map((e) => join(corpus, e.name))
  .filter((n) => /\.pcap$/.test(n)).sort();
const filters = values.filter ?? [
  "tcp port 80",
  "udp and (port 53 or portrange 5060-5070)",
  "tcp[tcpflags] & tcp-syn != 0 and not net 10.0.0.0/8",
  "vlan and ip6",
];

const packets: { data: Uint8Array<ArrayBuffer>; origLen: number }[] = [];
for (const f of files) {
  try {
    using h = PcapHandle.openOffline(f);
    if (h.datalink() !== 1) continue;
    for (const r of offlinePackets(h)) packets.push({ data: r.data, origLen: r.origLen });
  } catch { /* unreadable corpus file: not part of the benchmark */ }
}
if (!packets.length) throw new Error("no Ethernet packets to benchmark with (pass --file)");
console.log(`${packets.length} Ethernet packets from ${files.length} file(s); each variant runs >= 0.5 s\n`);

function rate(run: (i: number) => number): { pps: number; hits: number } {
  let n = 0, hits = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < 500) {
    for (let i = 0; i < packets.length; i++) if (run(i)) hits++;
    n += packets.length;
    t = performance.now();
  }
  return { pps: n / ((t - t0) / 1000), hits: hits / (n / packets.length) };
}

const fmt = (x: number) => `${(x / 1e6).toFixed(2)} Mpkt/s`;
console.log(
  "| filter | JS translated | interpreter | FFI pcap_offline_filter | translated / FFI | translated / interp |",
);
console.log("|---|---|---|---|---|---|");
for (const expr of filters) {
  const prog = compileFilter(expr, 1);
  const fn = translateBpf(prog)!;
  using h = PcapHandle.openDead(1, 262144);
  using code: BpfCode = h.compile(expr);
  const hdr = new Uint8Array(24);
  // Warm up every path so the JIT has compiled each before timing.
  for (let i = 0; i < packets.length * 20; i++) {
    fn(packets[i % packets.length].data, packets[i % packets.length].origLen);
  }
  const jit = rate((i) => fn(packets[i].data, packets[i].origLen));
  const interp = rate((i) => runBpf(prog, packets[i].data, packets[i].origLen));
  const ffi = rate((i) => code.offlineFilter(hdr, packets[i].data, packets[i].origLen));
  if (jit.hits !== ffi.hits || interp.hits !== ffi.hits) throw new Error(`${expr}: verdicts differ`);
  console.log(
    `| \`${expr}\` (${ffi.hits}/${packets.length} match) | ${fmt(jit.pps)} | ${fmt(interp.pps)} | ${
      fmt(ffi.pps)
    } | ` +
      `${(jit.pps / ffi.pps).toFixed(1)}x | ${(jit.pps / interp.pps).toFixed(1)}x |`,
  );
}
