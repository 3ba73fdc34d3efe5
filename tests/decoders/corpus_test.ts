/**
 * Decoders against the shared corpus: classify every flow with the default registry, decode its
 * packets, and compare with tshark's facts (expected.json protocols) and with tshark itself
 * (PTP message types; RTP streams with the rtp_udp heuristic enabled).
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { z } from "zod";
import { fileURLToPath } from "node:url";
import { readCapture } from "../../lib/capture/mod.ts";
import type { CaptureRecord } from "../../lib/capture/record.ts";
import { Packet } from "../../lib/packet/packet.ts";
import type { Carrier, Decoder } from "../../decoders/decoder.ts";
import { defaultRegistry, type FlowClassifier } from "../../decoders/registry.ts";
import { CORPUS_DIR, corpusAvailable, corpusPath, haveTool, testIf } from "../_util/corpus.ts";

// Only the expected.json fields this file needs (the shared helper's schema rejects null
// timestamps of the empty capture).
const Facts = z.object({
  files: z.record(
    z.string(),
    z.object({
      protocols: z.record(z.string(), z.number()).optional(),
      phs: z.record(z.string(), z.number()).optional(),
      tshark_exit_code: z.number().optional(),
    }).loose(),
  ),
}).loose();
type Facts = z.infer<typeof Facts>["files"];
let facts: Facts | undefined;
function expected(): Facts {
  facts ??= Facts.parse(JSON.parse(readFileSync(`${CORPUS_DIR}/expected.json`, "utf8"))).files;
  return facts;
}
function corpusFiles(): string[] {
  return Object.keys(expected()).sort();
}

interface FrameDecoder {
  decode(rec: CaptureRecord, out: Packet): void;
}

const decoderUrl = new URL("../../lib/packet/decoder.ts", import.meta.url);
const havePacketDecoder = existsSync(fileURLToPath(decoderUrl));

async function frameDecoder(): Promise<FrameDecoder> {
  // Imported by URL so this file still type-checks while lib/packet is being written.
  const mod = await import(decoderUrl.href) as { PacketDecoder: new () => FrameDecoder };
  return new mod.PacketDecoder();
}

interface FlowRun {
  classifier: FlowClassifier;
  decoder: Decoder | null;
  state: unknown;
}

interface Run {
  /** Packets each decoder decoded (type >= 0), by phsName. */
  packets: Record<string, number>;
  /** Per phsName, per packet type name. */
  types: Record<string, Record<string, number>>;
  malformed: Record<string, number>;
  flows: FlowRun[];
}

function addType(run: Run, d: Decoder, type: number): void {
  if (type < 0) {
    run.malformed[d.phsName] = (run.malformed[d.phsName] ?? 0) + 1;
    return;
  }
  run.packets[d.phsName] = (run.packets[d.phsName] ?? 0) + 1;
  const t = (run.types[d.phsName] ??= {});
  const name = d.packetTypes[type];
  t[name] = (t[name] ?? 0) + 1;
}

function flowKey(p: Packet, carrier: Carrier): string {
  if (carrier === "ether") {
    const b = p.data;
    const mac = (o: number) => o < 0 ? "" : Array.from(b.subarray(o, o + 6)).join(":");
    const [x, y] = [mac(p.srcMacOff), mac(p.dstMacOff)].sort();
    return `ether ${p.etherType} ${x} ${y}`;
  }
  const a = `${Array.from(p.src).join(".")}/${p.srcPort}`;
  const b = `${Array.from(p.dst).join(".")}/${p.dstPort}`;
  return `${carrier} ${p.tunnel} ${a < b ? a + " " + b : b + " " + a}`;
}

async function analyze(file: string): Promise<Run> {
  const registry = defaultRegistry();
  const dec = await frameDecoder();
  const p = new Packet();
  const flows = new Map<string, FlowRun>();
  const run: Run = { packets: {}, types: {}, malformed: {}, flows: [] };
  const settle = (f: FlowRun) => {
    const r = f.classifier.result;
    if (r === null) return;
    f.decoder = r.decoder;
    f.state = f.classifier.primedState;
    for (const x of f.classifier.replayed) addType(run, r.decoder, x.type);
  };
  await readCapture(corpusPath(file), (rec) => {
    dec.decode(rec, p);
    if (p.payloadOff < 0 || p.payloadLen === 0 || p.isFragment) return;
    let carrier: Carrier;
    if (p.ipVersion === 0) carrier = "ether";
    else if (p.ipProto === 17) carrier = "udp";
    else if (p.ipProto === 6) carrier = "tcp";
    else return;
    const key = flowKey(p, carrier);
    let f = flows.get(key);
    if (f === undefined) {
      f = { classifier: registry.classifier(carrier, undefined, true), decoder: null, state: undefined };
      flows.set(key, f);
      run.flows.push(f);
    }
    if (f.decoder === null) {
      if (f.classifier.settled) return;
      f.classifier.offer(p);
      if (!f.classifier.settled) return;
      settle(f);
      if (f.decoder === null) return;
    }
    addType(run, f.decoder!, f.decoder!.decode(p, f.state));
  });
  for (const f of run.flows) {
    if (!f.classifier.settled) {
      f.classifier.finish();
      settle(f);
    }
  }
  return run;
}

/**
 * Frames where tshark found `proto` only inside the datagram an ICMP error quotes (e.g. a DNS query
 * echoed in a port-unreachable): mpp's flows see ICMP there, not the quoted UDP payload.
 */
function quotedInIcmp(phs: Record<string, number>, proto: string): number {
  let n = 0;
  for (const [path, count] of Object.entries(phs)) {
    const parts = path.split(":");
    if (parts[parts.length - 1] !== proto || parts[parts.length - 2] === proto) continue;
    if (parts.includes("icmp") || parts.includes("icmpv6")) n += count;
  }
  return n;
}

const ready = corpusAvailable && havePacketDecoder;
const why = !corpusAvailable ? "corpus not found" : "lib/packet/decoder.ts (PacketDecoder) not written yet";
const tshark = haveTool("tshark");

/** Protocols whose per-file frame counts must equal tshark's io,phs counts exactly. */
const COMPARED = ["dns", "mdns", "llmnr", "nbns", "ptp", "rtcp"];

testIf(
  ready,
  why,
  "decoders corpus: DNS, mDNS, LLMNR, NBNS, PTP and RTCP frame counts equal tshark's in every file",
  async () => {
    const mismatches: string[] = [];
    let compared = 0;
    for (const file of corpusFiles()) {
      const exp = expected()[file];
      if (exp.tshark_exit_code !== undefined && exp.tshark_exit_code !== 0) continue;
      const run = await analyze(file);
      for (const proto of COMPARED) {
        const want = (exp.protocols?.[proto] ?? 0) - quotedInIcmp(exp.phs ?? {}, proto);
        const got = run.packets[proto] ?? 0;
        if (want > 0) compared++;
        if (got !== want) mismatches.push(`${file}: ${proto} ${got}, tshark ${want}`);
      }
    }
    assert.ok(compared >= 18, `only ${compared} file/protocol pairs had counts`);
    assert.deepEqual(mismatches, []);
  },
);

testIf(ready, why, "decoders corpus: DNS flows have matched responses and names", async () => {
  const run = await analyze("dns-udp.pcap");
  assert.deepEqual(run.types.dns, { Query: 1, Response: 1 });
  const f = run.flows.find((x) => x.decoder?.phsName === "dns")!;
  assert.equal(f.classifier.evidence, "structure");
  const sum = f.decoder!.summarize!(f.state) as Record<string, unknown>;
  assert.equal(sum.unanswered, 0);
  assert.equal((sum.responseTimeMs as { count: number }).count, 1);
  assert.equal((sum.topNames as { name: string }[]).length, 1);
  const tcp = await analyze("dns-tcp.pcap");
  assert.deepEqual(tcp.types.dns, { Query: 1, Response: 1 });
});

testIf(
  ready && tshark,
  ready ? "tshark not installed" : why,
  "decoders corpus: PTP message types equal tshark's per file",
  async () => {
    for (const file of corpusFiles().filter((f) => f.startsWith("ptp-"))) {
      const out = new Deno.Command("tshark", {
        args: ["-r", corpusPath(file), "-Y", "ptp", "-T", "fields", "-e", "ptp.v2.messagetype"],
        stdout: "piped",
        stderr: "null",
      }).outputSync();
      const want: Record<string, number> = {};
      const ptp = defaultRegistry().byName("ptp")!;
      for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
        if (line.trim() === "") continue;
        const name = ptp.packetTypes[parseInt(line, 16)];
        want[name] = (want[name] ?? 0) + 1;
      }
      const run = await analyze(file);
      assert.deepEqual(run.types.ptp, want, file);
      assert.equal(run.malformed.ptp, undefined, file);
    }
  },
);

interface StreamFact {
  ssrc: number;
  packets: number;
  lost: number;
}

function tsharkRtpStreams(file: string): StreamFact[] {
  const out = new Deno.Command("tshark", {
    // T.38 is disabled because SDP in the fax call moves the RTP port to T.38 and tshark then
    // decodes 27 packets that are RTP on the wire (version 2, same SSRC, next sequence) as malformed T.38.
    args: [
      "-r",
      corpusPath(file),
      "-q",
      "--enable-heuristic",
      "rtp_udp",
      "--disable-protocol",
      "t38",
      "-z",
      "rtp,streams",
    ],
    stdout: "piped",
    stderr: "null",
  }).outputSync();
  const facts: StreamFact[] = [];
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    // ... SrcPort DstIP DstPort 0xSSRC Payload... Pkts Lost (x%) ...
    const m = /\s(0x[0-9A-Fa-f]{8})\s+.*?\s(\d+)\s+(-?\d+)\s+\((-?[\d.]+)%\)/.exec(line);
    if (m !== null) facts.push({ ssrc: parseInt(m[1], 16), packets: Number(m[2]), lost: Number(m[3]) });
  }
  return facts.sort((a, b) => a.ssrc - b.ssrc);
}

for (const file of ["sip-rtp-fax-call-t38.pcap", "sip-register-invite-rtp-rtcp.pcap"]) {
  testIf(
    ready && tshark,
    ready ? "tshark not installed" : why,
    `decoders corpus: RTP streams (SSRC, packets, lost) equal tshark's heuristic rtp,streams in ${file}`,
    async () => {
      const want = tsharkRtpStreams(file);
      assert.ok(want.length > 0, "tshark found no RTP stream");
      const run = await analyze(file);
      const got: StreamFact[] = [];
      for (const f of run.flows) {
        if (f.decoder?.phsName !== "rtp") continue;
        assert.equal(f.classifier.evidence, "payload");
        const sum = f.decoder.summarize!(f.state) as { streams: StreamFact[] };
        for (const s of sum.streams) got.push({ ssrc: s.ssrc, packets: s.packets, lost: s.lost });
      }
      got.sort((a, b) => a.ssrc - b.ssrc);
      assert.deepEqual(got, want);
    },
  );
}

testIf(ready, why, "decoders corpus: RTCP compound datagrams walk completely", async () => {
  const run = await analyze("rtcp-compound-sll.pcap");
  assert.deepEqual(run.types.rtcp, { SR: 3, RR: 2 });
  const f = run.flows.find((x) => x.decoder?.phsName === "rtcp")!;
  const sum = f.decoder!.summarize!(f.state) as Record<string, unknown>;
  assert.equal(sum.compound, 5);
  assert.deepEqual(sum.packets, { SR: 3, RR: 2, SDES: 5 });
});
