import assert from "node:assert/strict";
import * as B from "../../lib/packet/build.ts";
import { CaptureRecord } from "../../lib/capture/record.ts";
import { Analyzer } from "../../lib/flow/analyzer.ts";
import { buildReport } from "../../lib/flow/report.ts";
import { AnalyzeReport } from "../../lib/flow/report_schema.ts";
import { generate } from "../../bench/gen/traffic.ts";
import { renderTree } from "../../cli/render/tree.ts";
import { renderCsv } from "../../cli/render/csv.ts";

const C = "02:00:00:00:00:01", S = "02:00:00:00:00:02";

/** Feeds frames (with times in µs from 1700000000 s) through an Analyzer and builds the report. */
function analyze(
  frames: [Uint8Array, number][],
  opts: ConstructorParameters<typeof Analyzer>[0] = {},
): AnalyzeReport {
  const a = new Analyzer(opts);
  const rec = new CaptureRecord();
  rec.linkType = 1;
  frames.forEach(([data, us], i) => {
    rec.data = data;
    rec.origLen = data.length;
    rec.tsSec = 1_700_000_000 + Math.floor(us / 1e6);
    rec.tsNsec = (us % 1e6) * 1000;
    rec.index = i;
    a.record(rec);
  });
  a.finish();
  return AnalyzeReport.parse(buildReport(a, { files: [] }));
}

function tcpFrame(
  fromClient: boolean,
  flags: number,
  seq: number,
  ack: number,
  payload = new Uint8Array(0),
  vlan?: number,
) {
  const [src, dst, sp, dp] = fromClient
    ? ["10.0.0.1", "10.0.0.2", 40000, 80]
    : ["10.0.0.2", "10.0.0.1", 80, 40000];
  const seg = B.tcp({ sport: sp, dport: dp, seq, ack, flags, payload, src, dst });
  return B.ethernet({
    src: fromClient ? C : S,
    dst: fromClient ? S : C,
    etherType: 0x0800,
    vlans: vlan ? [vlan] : undefined,
    payload: B.ipv4({ src, dst, proto: 6, payload: seg }),
  });
}

function udpFrame(src: string, dst: string, sport: number, dport: number, payload: Uint8Array, dstMac = S) {
  return B.ethernet({
    src: C,
    dst: dstMac,
    etherType: 0x0800,
    payload: B.ipv4({ src, dst, proto: 17, payload: B.udp({ sport, dport, payload, src, dst }) }),
  });
}

function rtp(seq: number, ts: number, ssrc: number): Uint8Array {
  const b = new Uint8Array(172);
  b[0] = 0x80;
  b[1] = 0;
  b[2] = seq >> 8, b[3] = seq & 0xff;
  new DataView(b.buffer).setUint32(4, ts);
  new DataView(b.buffer).setUint32(8, ssrc);
  return b;
}

Deno.test("a TCP connection is one flow: originator, per-direction counts, Zeek state and history", () => {
  const SYN = 2, ACK = 16, FIN = 1, PSH = 8;
  const r = analyze([
    [tcpFrame(true, SYN, 100, 0), 0],
    [tcpFrame(false, SYN | ACK, 500, 101), 1000],
    [tcpFrame(true, ACK, 101, 501), 2000],
    [tcpFrame(true, PSH | ACK, 101, 501, new Uint8Array(10)), 3000],
    [tcpFrame(false, ACK, 501, 111), 4000],
    [tcpFrame(true, FIN | ACK, 111, 501), 5000],
    [tcpFrame(false, FIN | ACK, 501, 112), 6000],
    [tcpFrame(true, ACK, 112, 502), 7000],
  ]);
  assert.equal(r.flows.length, 1);
  const f = r.flows[0];
  assert.equal(f.label, "10.0.0.1:40000 → 10.0.0.2:80");
  assert.equal(f.orig.packets, 5);
  assert.equal(f.resp.packets, 3);
  assert.equal(f.orig.payloadBytes, 10);
  assert.equal(f.transport.name, "TCP");
  assert.equal(f.transport.connState, "SF");
  assert.equal(f.transport.history, "ShADaFf"); // the server only ACKs: no d
  assert.equal(f.duration, 0.007);
  assert.equal(f.transport.iatMean, 0.001);
  assert.equal(f.transport.jitter, 0);
  assert.equal(r.summary.first, "1700000000.000000000");
  assert.equal(r.summary.last, "1700000000.007000000");
});

Deno.test("an encoding that counted no message (HTTP without reassembly) has no first or last time", () => {
  const SYN = 2, ACK = 16, PSH = 8;
  const req = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  const res = new TextEncoder().encode("HTTP/1.1 204 No Content\r\n\r\n");
  // The Analyzer alone is the --no-reassembly pipeline: HTTP reads streams, so it is chosen by
  // structure and decodes nothing.
  const r = analyze([
    [tcpFrame(true, SYN, 100, 0), 1_000],
    [tcpFrame(false, SYN | ACK, 500, 101), 2_000],
    [tcpFrame(true, ACK, 101, 501), 3_000],
    [tcpFrame(true, PSH | ACK, 101, 501, req), 4_000],
    [tcpFrame(false, PSH | ACK, 501, 101 + req.length, res), 5_000],
  ]);
  const e = r.flows[0].encodings[0];
  assert.equal(e.name, "HTTP");
  assert.equal(e.evidence, "structure");
  assert.equal(e.packets, 0);
  assert.equal(e.first, null);
  assert.equal(e.last, null);
  // The flow itself keeps its times; the tree shows no duration for the empty encoding.
  assert.equal(r.flows[0].first, "1700000000.001000000");
  const row = renderTree(r).split("\n").find((l) => l.includes("HTTP/1.x"))!;
  assert.match(row, /\(structure 0\.95, no message decoded\)\s+0\s+0 B\s+-\s+-\s+-$/);
  assert.match(renderCsv(r), /\nencoding,0,HTTP\/1\.x,10\.0\.0\.1:40000,10\.0\.0\.2:80,unicast,0,0,,,0,/);
});

Deno.test("a SYN-ACK seen first makes its receiver the originator", () => {
  const r = analyze([[tcpFrame(false, 0x12, 500, 101), 0], [tcpFrame(true, 0x10, 101, 501), 10]]);
  assert.equal(r.flows[0].orig.address, "10.0.0.1");
  assert.equal(r.flows[0].orig.port, 40000);
});

Deno.test("VLANs separate flows; traffic type comes from the first destination", () => {
  const r = analyze([
    [tcpFrame(true, 2, 1, 0, undefined, 10), 0],
    [tcpFrame(true, 2, 1, 0, undefined, 20), 1],
    [udpFrame("10.0.0.1", "239.1.2.3", 5000, 5000, new Uint8Array(8), "01:00:5e:01:02:03"), 2],
    [udpFrame("10.0.0.1", "255.255.255.255", 68, 67, new Uint8Array(8), "ff:ff:ff:ff:ff:ff"), 3],
  ]);
  assert.deepEqual(r.flows.map((f) => f.vlan).sort(), [10, 20, null, null].sort());
  const traffic = Object.fromEntries(r.flows.map((f) => [f.resp.address, f.traffic]));
  assert.equal(traffic["239.1.2.3"], "multicast");
  assert.equal(traffic["255.255.255.255"], "broadcast");
  assert.equal(traffic["10.0.0.2"], "unicast");
});

Deno.test("RTP on an unregistered port is found by content, and its first packets are counted too", () => {
  const frames: [Uint8Array, number][] = [];
  let seq = 65530;
  for (let i = 0; i < 20; i++) {
    if (i === 10) seq = (seq + 1) & 0xffff; // one lost packet, across the 16-bit wrap
    frames.push([udpFrame("10.0.0.1", "10.0.0.2", 30000, 30002, rtp(seq, 160 * i, 0xabc)), i * 20_000]);
    seq = (seq + 1) & 0xffff;
  }
  const r = analyze(frames);
  const e = r.flows[0].encodings[0];
  assert.equal(e.name, "RTP");
  assert.notEqual(e.evidence, "port");
  assert.equal(e.packets, 20, "the packets probed before the decision count as well");
  assert.equal(e.packetTypes[0].name, "PCMU (0)");
  assert.equal(e.packetTypes[0].packets, 20);
  assert.equal(r.rtp.streams.length, 1);
  assert.equal(r.rtp.streams[0].ssrc, 0xabc);
  assert.equal(r.rtp.streams[0].packets, 20);
  assert.equal(r.rtp.streams[0].lost, 1);
  assert.equal(r.phs.find((p) => p.path === "eth:ip:udp:rtp")?.packets, 20);
});

Deno.test("the flow hierarchy of a generated capture agrees with what the generator sent", () => {
  const frames: [Uint8Array, number][] = [];
  let rtpFrames = 0, ptpFrames = 0, dnsFrames = 0;
  generate({ packets: 20000, seed: 3, tcpSlots: 50, rtpStreams: 5 }, (fr, s, ns) => {
    const copy = fr.slice();
    frames.push([copy, (s - 1_700_000_000) * 1e6 + Math.floor(ns / 1000)]);
    const et = (copy[12] << 8) | copy[13];
    if (et === 0x88f7) ptpFrames++;
    if (et === 0x0800 && copy[23] === 17) {
      const dport = (copy[36] << 8) | copy[37];
      if (dport >= 20000 && dport < 20010) rtpFrames++;
      else if (dport === 319 || dport === 320) ptpFrames++;
      else if (dport === 53 || ((copy[34] << 8) | copy[35]) === 53) dnsFrames++;
    } else if (et === 0x86dd && copy[20] === 17) dnsFrames++;
  });
  const r = analyze(frames);
  assert.equal(r.summary.packets, 20000);
  assert.equal(r.flows.reduce((s, f) => s + f.packets, 0), 20000);
  const byEnc = (name: string) =>
    r.flows.filter((f) => f.encodings[0]?.name === name).reduce((s, f) => s + f.encodings[0].packets, 0);
  assert.equal(byEnc("RTP"), rtpFrames);
  assert.equal(byEnc("PTP"), ptpFrames);
  assert.equal(byEnc("DNS"), dnsFrames);
  assert.equal(r.rtp.streams.length, 5);
  // Every TCP connection of the generator completes its handshake and closes with FINs.
  for (const f of r.flows.filter((f) => f.transport.name === "TCP")) {
    assert.match(f.transport.history ?? "", /^ShA/);
  }
});
