/**
 * Packet decoding micro-benchmark: 1M generated frames (Ethernet, 802.1Q, IPv4, IPv6 with an
 * extension header, TCP with options, UDP) kept in memory and decoded with one reused Packet;
 * prints ns/packet. Then the same frames as a pcap file: mpp (readCapture + decode) against
 * `tcpdump -n -q -r` (which decodes the same layers and prints one line each), with the ratio.
 *
 *   deno run -A bench/decode.ts [--frames N] [--no-peer]
 */
import { parseArgs } from "node:util";
import { CaptureRecord } from "../lib/capture/record.ts";
import { encodePcap, readCapture } from "../lib/capture/mod.ts";
import * as B from "../lib/packet/build.ts";
import { PacketDecoder } from "../lib/packet/decoder.ts";
import { Packet } from "../lib/packet/packet.ts";

const { values } = parseArgs({
  options: { frames: { type: "string", default: "1000000" }, "no-peer": { type: "boolean", default: false } },
});
const N = Number(values.frames);
if (!Number.isInteger(N) || N <= 0) {
  console.error(`mpp: --frames must be a positive integer, got "${values.frames}"`);
  Deno.exit(2);
}

let seed = 0x9e3779b9;
const rnd = () => (seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0);

// 4096 flows, as in real traffic: a new 5-tuple per packet would make the peer's per-flow TCP
// state (tcpdump's sequence-number table) degenerate and the comparison meaningless.
const FLOWS = Array.from({ length: 4096 }, () => ({
  kind: rnd() % 100,
  sport: 1024 + (rnd() % 60000),
  dport: [80, 443, 53, 5060, 319, 8080][rnd() % 6],
  a4: 0x0a000000 + (rnd() & 0xffff),
  z4: 0xc0a80000 + (rnd() & 0xffff),
  a6: Uint32Array.of(0x20010db8, 0, rnd(), rnd()),
  z6: Uint32Array.of(0x20010db8, 1, rnd(), rnd()),
  seq: rnd(),
}));

function frame(i: number): Uint8Array {
  const fl = FLOWS[rnd() % FLOWS.length];
  const { kind, sport, dport, a4, z4 } = fl;
  const r = kind;
  fl.seq = (fl.seq + 100) >>> 0;
  const body = new Uint8Array(rnd() % 96);
  const vlans = kind % 5 === 0 ? [100 + (r % 50)] : undefined;
  const opts = B.tcpOptions({
    mss: 1460,
    timestamps: [i, i - 1 >>> 0],
    sack: kind % 7 === 0 ? [[1, 2]] : undefined,
  });
  let ip: Uint8Array;
  let et = 0x0800;
  if (kind < 60) {
    const seg = B.tcp({ sport, dport, seq: fl.seq, ack: 1, flags: 0x18, options: opts, payload: body });
    ip = B.ipv4({ src: a4, dst: z4, proto: 6, id: i & 0xffff, payload: seg });
  } else if (kind < 85) {
    ip = B.ipv4({ src: a4, dst: z4, proto: 17, payload: B.udp({ sport, dport, payload: body }) });
  } else {
    et = 0x86dd;
    const { a6, z6 } = fl;
    const l4 = kind < 93
      ? B.tcp({ sport, dport, seq: fl.seq, flags: 0x10, options: opts, payload: body })
      : B.udp({ sport, dport, payload: body });
    const ext = kind % 4 === 0 ? [{ type: 60, body: new Uint8Array(6) }] : undefined;
    ip = B.ipv6({ src: a6, dst: z6, nextHeader: kind < 93 ? 6 : 17, payload: l4, extHeaders: ext });
  }
  return B.ethernet({
    src: "02:00:00:00:00:01",
    dst: "02:00:00:00:00:02",
    etherType: et,
    vlans,
    payload: ip,
    pad: true,
  });
}

// All frames in one buffer; offsets[i]..offsets[i + 1] is frame i.
const t0 = performance.now();
const parts: Uint8Array[] = [];
const offsets = new Uint32Array(N + 1);
for (let i = 0; i < N; i++) {
  const f = frame(i);
  parts.push(f);
  offsets[i + 1] = offsets[i] + f.length;
}
const big = new Uint8Array(offsets[N]);
for (let i = 0; i < N; i++) big.set(parts[i], offsets[i]);
parts.length = 0;
console.log(
  `built ${N} frames, ${(big.length / 1e6).toFixed(1)} MB, in ${
    ((performance.now() - t0) / 1000).toFixed(1)
  } s`,
);
const tsOf = (i: number) => 1_700_000_000 + (i >>> 10);

function* records() {
  for (let i = 0; i < N; i++) {
    yield { data: big.subarray(offsets[i], offsets[i + 1]), tsSec: tsOf(i), tsNsec: 0 };
  }
}

// File comparison first, while the heap holds only the frame buffer.
const p = new Packet();
if (!values["no-peer"]) {
  const path = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    await Deno.writeFile(path, encodePcap(records()));
    const which = new Deno.Command("sh", { args: ["-c", "command -v tcpdump"], stdout: "null" }).outputSync();
    let tdMs = -1;
    if (which.success) {
      const c0 = performance.now();
      const out = await new Deno.Command("sh", {
        args: ["-c", `TZ=UTC tcpdump -n -q -r '${path}' > /dev/null 2>&1`],
      })
        .output();
      tdMs = performance.now() - c0;
      console.log(`tcpdump -n -q -r (TZ=UTC) of the pcap: ${tdMs.toFixed(0)} ms (rc ${out.code})`);
    } else console.log("peer: tcpdump not installed (apt-get install tcpdump); no ratio");
    const m0 = performance.now();
    let n = 0;
    const dec2 = new PacketDecoder();
    await readCapture(path, (r) => {
      dec2.decode(r, p);
      n += p.depth > 0 ? 1 : 0;
    });
    const mppMs = performance.now() - m0;
    console.log(
      `mpp readCapture + decode of the pcap: ${mppMs.toFixed(0)} ms (${
        ((mppMs * 1e6) / n).toFixed(0)
      } ns/packet)`,
    );
    if (tdMs > 0) console.log(`ratio tcpdump / mpp: ${(tdMs / mppMs).toFixed(2)}x (above 1: mpp is faster)`);
  } finally {
    await Deno.remove(path);
  }
}

// Decoder alone: records as views into the buffer, made before timing (as a reader hands them out).
const recs: CaptureRecord[] = new Array(N);
for (let i = 0; i < N; i++) {
  const r = new CaptureRecord();
  r.data = big.subarray(offsets[i], offsets[i + 1]);
  r.origLen = r.data.length;
  r.linkType = 1;
  r.tsSec = tsOf(i);
  r.index = i;
  recs[i] = r;
}
const dec = new PacketDecoder();
let check = 0;
function pass(): number {
  const s = performance.now();
  for (let i = 0; i < N; i++) {
    dec.decode(recs[i], p);
    check += p.srcPort + p.depth;
  }
  return performance.now() - s;
}
pass(); // warm-up: let the JIT settle
const times = [pass(), pass(), pass()].sort((a, b) => a - b);
const nsPerPkt = (times[1] * 1e6) / N;
console.log(
  `mpp decode (in memory): ${nsPerPkt.toFixed(1)} ns/packet (median of 3; min ${
    ((times[0] * 1e6) / N).toFixed(1)
  })` +
    `, ${(N / times[1] / 1000).toFixed(2)} Mpkt/s  [check ${check % 997}]`,
);
