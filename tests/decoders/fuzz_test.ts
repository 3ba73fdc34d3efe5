/**
 * Hostile input: random bytes and bit-flipped / cut real messages through every built-in decoder's
 * probe, decode and summarize, over UDP, TCP and Ethernet. Nothing may throw, decode returns -1 or
 * a valid packet type, summaries stay JSON-safe, and the whole run stays fast (bounded walks).
 */
import assert from "node:assert/strict";
import { defaultRegistry } from "../../decoders/registry.ts";
import { type Carrier, NO_PDU } from "../../decoders/decoder.ts";
import { Bytes, fakePacket } from "./_packet.ts";
import { prng } from "../../bench/gen/traffic.ts";

function seeds(): Uint8Array[] {
  const dnsq = new Bytes().u16(1).u16(0x0100).u16(1).u16(0).u16(0).u16(1).u8(3).ascii("www").u8(7).ascii(
    "example",
  )
    .u8(3).ascii("com").u8(0).u16(1).u16(1).u8(0).u16(41).u16(4096).u32(0).u16(0).bytes();
  const dnsr = new Bytes().u16(1).u16(0x8180).u16(1).u16(1).u16(0).u16(0).u8(1).ascii("a").u8(0).u16(1).u16(1)
    .u8(0xc0, 12).u16(1).u16(1).u32(1).u16(4).u32(0x01020304).bytes();
  const ptp = new Bytes().u8(0x0b, 2).u16(64).zeros(60).bytes();
  const rtp = new Bytes().u8(0x90, 0x60).u16(1).u32(2).u32(3).u16(0xbede).u16(1).u32(0).zeros(20).bytes();
  const rtcp = new Bytes().u8(0x81, 200).u16(12).zeros(48).u8(0x81, 202).u16(2).u32(1).u8(1, 2).ascii("ab")
    .bytes();
  const tcpDns = new Bytes().u16(dnsq.length).u8(...dnsq).bytes();
  return [dnsq, dnsr, ptp, rtp, rtcp, tcpDns];
}

Deno.test("decoders fuzz: random and mutated payloads never throw and stay bounded", () => {
  const rnd = prng(0xc0ffee);
  const r = defaultRegistry();
  const carriers: Carrier[] = ["udp", "tcp", "ether"];
  const ports = [53, 5353, 5355, 137, 319, 320, 5004, 40000];
  const base = seeds();
  const states = new Map(r.list().map((d) => [d, d.createState()]));
  const t0 = performance.now();
  let decoded = 0;
  for (let i = 0; i < 20000; i++) {
    let payload: Uint8Array;
    if (i % 2 === 0) {
      payload = new Uint8Array(Math.floor(rnd() * 300));
      for (let k = 0; k < payload.length; k++) payload[k] = Math.floor(rnd() * 256);
    } else {
      const s = base[i % base.length];
      payload = s.slice(0, Math.max(0, s.length - (rnd() < 0.3 ? Math.floor(rnd() * s.length) : 0)));
      const flips = 1 + Math.floor(rnd() * 4);
      for (let f = 0; f < flips && payload.length > 0; f++) {
        payload[Math.floor(rnd() * payload.length)] ^= 1 << Math.floor(rnd() * 8);
      }
    }
    const carrier = carriers[i % 3];
    const p = fakePacket(payload, {
      proto: carrier,
      srcPort: ports[Math.floor(rnd() * ports.length)],
      dstPort: ports[Math.floor(rnd() * ports.length)],
      wireLen: rnd() < 0.1 ? payload.length + 100 : payload.length,
      t: 1000 + i * 0.001,
    });
    r.classify(p, carrier);
    for (const d of r.forCarrier(carrier)) {
      d.probe(p, d.createProbeState?.());
      const idx = d.decode(p, states.get(d));
      // NO_PDU (-2): a stream decoder's segment that completed no message.
      assert.ok(
        idx === -1 || idx === NO_PDU || (idx >= 0 && idx < d.packetTypes.length),
        `${d.name} returned ${idx}`,
      );
      if (idx >= 0) decoded++;
    }
  }
  for (const [d, s] of states) JSON.stringify(d.summarize?.(s));
  assert.ok(decoded > 0);
  assert.ok(performance.now() - t0 < 20000, "fuzzing took too long");
});
