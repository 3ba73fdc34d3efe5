import assert from "node:assert/strict";
import { rtpDecoder, T_RTCP_MUX } from "../../decoders/rtp.ts";
import { RtpStream } from "../../decoders/rtp_stream.ts";
import { Bytes, fakePacket } from "./_packet.ts";

function rtp(seq: number, ts: number, ssrc = 0x3796cb71, pt = 0, payload = 160, marker = false): Uint8Array {
  return new Bytes().u8(0x80, (marker ? 0x80 : 0) | pt).u16(seq).u32(ts).u32(ssrc).zeros(payload).bytes();
}

function feed(pkts: [number, number, number][], pt = 0, ssrc = 0x11111111) {
  const d = rtpDecoder();
  const s = d.createState();
  for (const [seq, ts, t] of pkts) assert.equal(d.decode(fakePacket(rtp(seq, ts, ssrc, pt), { t }), s), pt);
  const streams = (d.summarize(s) as { streams: Record<string, number | null>[] }).streams;
  assert.equal(streams.length, 1);
  return streams[0];
}

Deno.test("rtp: one packet looks like RTP at most 0.4; a second in sequence from the same SSRC settles with payload evidence", () => {
  const d = rtpDecoder();
  const st = d.createProbeState();
  const p1 = d.probe(fakePacket(rtp(100, 1000)), st)!;
  assert.equal(p1.evidence, "structure");
  assert.ok(p1.confidence <= 0.5);
  const p2 = d.probe(fakePacket(rtp(101, 1160)), st)!;
  assert.equal(p2.evidence, "payload");
  assert.ok(p2.confidence >= 0.9);
  assert.match(p2.detail, /SSRC 0x3796cb71: 2 packets in sequence/);
  // Another SSRC starts over; a big sequence jump is no continuity.
  const st2 = d.createProbeState();
  d.probe(fakePacket(rtp(1, 0)), st2);
  assert.ok(d.probe(fakePacket(rtp(5000, 160)), st2)!.confidence < 0.5);
  assert.ok(d.probe(fakePacket(rtp(2, 160, 0x99)), st2)!.confidence < 0.5);
  // Not RTP: version 1, RTCP payload types, header longer than the packet.
  assert.equal(d.probe(fakePacket(new Bytes().u8(0x40, 0).zeros(20).bytes()), st), null);
  assert.equal(d.probe(fakePacket(new Bytes().u8(0x80, 0xc8).zeros(26).bytes()), st), null);
  assert.equal(d.probe(fakePacket(new Bytes().u8(0x8f, 0).zeros(20).bytes()), st), null);
  assert.equal(d.probe(fakePacket(new Bytes().u8(0x90, 0).zeros(10).u16(0xbede).u16(100).bytes()), st), null);
  assert.equal(d.probe(fakePacket(new Uint8Array(8)), st), null);
});

Deno.test("rtp: sequence wrap at 65535 is neither loss nor reordering", () => {
  const s = feed([[65533, 0, 0], [65534, 160, 0.02], [65535, 320, 0.04], [0, 480, 0.06], [1, 640, 0.08]]);
  assert.equal(s.packets, 5);
  assert.equal(s.expected, 5);
  assert.equal(s.lost, 0);
  assert.equal(s.outOfOrder, 0);
});

Deno.test("rtp: loss, reordering and duplicates per RFC 3550 A.3", () => {
  // 10..20 with 13 and 14 lost, 17 and 16 swapped, 18 duplicated.
  const seqs = [10, 11, 12, 15, 17, 16, 18, 18, 19, 20];
  const s = feed(seqs.map((q, i) => [q, q * 160, i * 0.02]));
  assert.equal(s.packets, 10);
  assert.equal(s.expected, 11);
  assert.equal(s.lost, 1); // 2 missing, 1 duplicate received
  assert.equal(s.outOfOrder, 1);
  assert.equal(s.duplicates, 1);
  // Reordering across the wrap, and a packet older than the first one, move nothing into loss.
  const w = feed([[65535, 0, 0], [1, 320, 0.04], [0, 160, 0.05], [65534, 0, 0.06], [2, 480, 0.08]]);
  assert.equal(w.expected, 5);
  assert.equal(w.lost, 0);
  assert.equal(w.outOfOrder, 2);
  // Duplicates only: lost goes negative (A.3 allows it).
  const d = feed([[1, 0, 0], [2, 160, 0.02], [2, 160, 0.021], [2, 160, 0.022]]);
  assert.equal(d.lost, -2);
});

Deno.test("rtp: interarrival jitter matches RFC 3550 A.8 computed by hand", () => {
  // PCMU (8000 Hz), 20 ms packets (+160) arriving at 0, 20, 45, 60 ms:
  // D = 0, 200-160 = 40, 120-160 = -40  →  J = 0, 40/16 = 2.5, 2.5 + (40-2.5)/16 = 4.84375.
  const s = feed([[1, 160, 5], [2, 320, 5.02], [3, 480, 5.045], [4, 640, 5.06]]);
  assert.equal(s.clockRate, 8000);
  assert.ok(Math.abs((s.jitter as number) - 4.84375) < 0.001, `jitter ${s.jitter}`);
  assert.equal(s.jitterMs, Math.round(4.84375 / 8 * 1000) / 1000);
  assert.equal(s.maxDeltaMs, 25);
  // The same by the direct stream API, full precision.
  const st = new RtpStream(1, 0, 0);
  [[1, 160, 0], [2, 320, 0.02], [3, 480, 0.045], [4, 640, 0.06]].forEach(([q, ts, t]) =>
    st.add(0, q, ts, t, false, 160)
  );
  assert.ok(Math.abs(st.jitter - 4.84375) < 1e-9);
  // Timestamp wrap at 2^32 is a step of +160, not a jump.
  const wrap = feed([[1, 0xffffff60, 0], [2, 0, 0.02], [3, 160, 0.04]]);
  assert.ok((wrap.jitter as number) < 1e-6);
});

Deno.test("rtp: unknown dynamic payload type gives jitter in timestamp units only after estimating the clock", () => {
  const pkts: [number, number, number][] = [];
  for (let i = 0; i < 80; i++) pkts.push([i, i * 960 + (i === 60 ? 480 : 0), i * 0.02]);
  const s = feed(pkts, 111);
  assert.equal(s.payloadType, 111);
  assert.equal(s.clockRate, 48000);
  assert.equal(s.clockRateEstimated, true);
  assert.ok((s.jitter as number) > 0);
  assert.equal(s.jitterMs, null);
  const short = feed([[1, 0, 0], [2, 960, 0.02]], 96);
  assert.equal(short.jitter, null);
  assert.equal(short.jitterMs, null);
});

Deno.test("rtp: packet type names, RTCP multiplexing, malformed and bounded streams", () => {
  const d = rtpDecoder();
  assert.equal(d.packetTypes[0], "PCMU (0)");
  assert.equal(d.packetTypes[8], "PCMA (8)");
  assert.equal(d.packetTypes[9], "G722 (9)");
  assert.equal(d.packetTypes[96], "dynamic (96)");
  const s = d.createState();
  const rr = new Bytes().u8(0x80, 201).u16(1).u32(1).bytes();
  assert.equal(d.decode(fakePacket(rr), s), T_RTCP_MUX);
  assert.equal(d.packetTypes[T_RTCP_MUX], "RTCP (mux)");
  assert.equal(d.decode(fakePacket(new Uint8Array(4)), s), -1);
  for (let i = 0; i < 40; i++) d.decode(fakePacket(rtp(1, 0, 1000 + i, 8)), s);
  const sum = d.summarize(s) as {
    streams: unknown[];
    droppedStreams: number;
    malformed: number;
    rtcpMux: number;
  };
  assert.equal(sum.streams.length, 16);
  assert.equal(sum.droppedStreams, 24);
  assert.equal(sum.malformed, 1);
  assert.equal(sum.rtcpMux, 1);
});
