import assert from "node:assert/strict";
import { rtcpDecoder, walkCompound } from "../../decoders/rtcp.ts";
import { Bytes, fakePacket } from "./_packet.ts";

function block(w: Bytes, ssrc: number, fraction: number, cumLost: number, jitter: number): Bytes {
  return w.u32(ssrc).u8(fraction).u8(cumLost >> 16, cumLost >> 8, cumLost).u32(0x10064).u32(jitter).u32(0)
    .u32(0);
}

function sr(ssrc: number, blocks = 0): Bytes {
  const w = new Bytes().u8(0x80 | blocks, 200).u16(6 + blocks * 6 - 1 + 1).u32(ssrc);
  w.u32(0xe1a2b3c4).u32(0x10000000).u32(160000).u32(1000).u32(160000);
  for (let i = 0; i < blocks; i++) block(w, 0xabc, 64, 3, 42);
  return w;
}

function sdes(w: Bytes, ssrc: number, cname: string): Bytes {
  const body = new Bytes().u32(ssrc).u8(1, cname.length).ascii(cname).u8(0);
  while (body.length % 4 !== 0) body.u8(0);
  return w.u8(0x81, 202).u16(body.length / 4).u8(...body.a);
}

Deno.test("rtcp: compound SR+SDES and RR+SDES+BYE walk to the datagram end and count every part", () => {
  const d = rtcpDecoder();
  const a = sdes(sr(0x1234, 1), 0x1234, "alice@example").bytes();
  assert.ok(walkCompound(a, 0, a.length));
  const rrw = new Bytes().u8(0x81, 201).u16(7).u32(0x5678);
  block(rrw, 0x1234, 128, -2 & 0xffffff, 7);
  sdes(rrw, 0x5678, "bob");
  rrw.u8(0x81, 203).u16(1).u32(0x5678);
  const b = rrw.bytes();
  const pa = fakePacket(a, { srcPort: 25963, dstPort: 31601 });
  const pb = fakePacket(b, { srcPort: 31601, dstPort: 25963 });
  const pr = d.probe(pa)!;
  assert.equal(pr.evidence, "structure");
  assert.ok(pr.confidence >= 0.9);
  assert.match(pr.detail, /2 packets, first SR/);
  const s = d.createState();
  assert.equal(d.packetTypes[d.decode(pa, s)], "SR");
  assert.equal(d.packetTypes[d.decode(pb, s)], "RR");
  const sum = d.summarize(s) as Record<string, unknown>;
  assert.deepEqual(sum.packets, { SR: 1, RR: 1, SDES: 2, BYE: 1 });
  assert.equal(sum.compound, 2);
  assert.deepEqual(sum.senders, [{ ssrc: 0x1234, packets: 1000, octets: 160000 }]);
  assert.deepEqual(sum.reports, [
    { ssrc: 0xabc, fractionLost: 0.25, cumulativeLost: 3, jitter: 42 },
    { ssrc: 0x1234, fractionLost: 0.5, cumulativeLost: -2, jitter: 7 },
  ]);
});

Deno.test("rtcp: bad version, lengths, misplaced padding and short report blocks are refused", () => {
  const d = rtcpDecoder();
  const good = sdes(sr(1), 1, "x").bytes();
  const s = d.createState();
  const variants: Uint8Array[] = [];
  const v1 = good.slice();
  v1[0] = 0x40;
  variants.push(v1);
  variants.push(good.subarray(0, good.length - 4)); // last packet cut
  variants.push(new Bytes().u8(...good).u8(0, 0, 0, 0).bytes()); // bytes after the compound
  const pad = good.slice();
  pad[0] |= 0x20; // padding on the first of two packets
  variants.push(pad);
  variants.push(new Bytes().u8(0x82, 201).u16(1).u32(1).bytes()); // RR claims 2 blocks in 8 bytes
  variants.push(new Bytes().u8(0x80, 100).u16(1).u32(1).bytes()); // not an RTCP type
  variants.push(new Uint8Array(3));
  for (const v of variants) {
    const p = fakePacket(v);
    assert.equal(d.probe(p), null);
    assert.equal(d.decode(p, s), -1);
  }
  assert.equal(s.malformed, variants.length);
});

Deno.test("rtcp: a compound not starting with SR/RR (reduced-size) is a weaker sign", () => {
  const d = rtcpDecoder();
  const b = new Bytes().u8(0x81, 203).u16(1).u32(9).bytes();
  const pr = d.probe(fakePacket(b))!;
  assert.ok(pr.confidence >= 0.5 && pr.confidence < 0.9);
  const s = d.createState();
  assert.equal(d.packetTypes[d.decode(fakePacket(b), s)], "BYE");
});

Deno.test("rtcp: hostile datagram of many zero-length packets is bounded", () => {
  const w = new Bytes();
  for (let i = 0; i < 2000; i++) w.u8(0x80, 204).u16(0);
  const d = rtcpDecoder();
  assert.equal(d.probe(fakePacket(w.bytes())), null);
});
