import assert from "node:assert/strict";
import { dnsDecoder, llmnrDecoder, mdnsDecoder } from "../../decoders/dns.ts";
import { Walk, walkMessage, walkName } from "../../decoders/dns_wire.ts";
import { Bytes, fakePacket } from "./_packet.ts";

function name(w: Bytes, n: string): Bytes {
  for (const l of n.split(".")) w.u8(l.length).ascii(l);
  return w.u8(0);
}

function query(id: number, qname: string, flags = 0x0100): Uint8Array {
  const w = new Bytes().u16(id).u16(flags).u16(1).u16(0).u16(0).u16(0);
  return name(w, qname).u16(1).u16(1).bytes();
}

/** Response with one A answer whose owner name is a compression pointer to the question (offset 12). */
function response(id: number, qname: string, rcode = 0): Uint8Array {
  const w = new Bytes().u16(id).u16(0x8180 | rcode).u16(1).u16(rcode === 0 ? 1 : 0).u16(0).u16(0);
  name(w, qname).u16(1).u16(1);
  if (rcode === 0) w.u8(0xc0, 12).u16(1).u16(1).u32(300).u16(4).u8(192, 0, 2, 1);
  return w.bytes();
}

function tcpFramed(...msgs: Uint8Array[]): Uint8Array {
  const w = new Bytes();
  for (const m of msgs) w.u16(m.length).u8(...m);
  return w.bytes();
}

Deno.test("dns: query and compressed response over UDP/53 probe as structure and decode by type", () => {
  const d = dnsDecoder();
  const q = fakePacket(query(0x1234, "www.Example.com"), { dstPort: 53, t: 10 });
  const r = fakePacket(response(0x1234, "www.example.com"), { srcPort: 53, t: 10.0125 });
  const pq = d.probe(q)!;
  assert.equal(pq.evidence, "structure");
  assert.ok(pq.confidence >= 0.9);
  assert.match(pq.detail, /qd 1 an 0 ns 0 ar 0.*port 53/);
  assert.ok(d.probe(r)!.confidence >= 0.9);
  const s = d.createState();
  assert.equal(d.packetTypes[d.decode(q, s)], "Query");
  assert.equal(d.packetTypes[d.decode(r, s)], "Response");
  const nx = fakePacket(response(7, "nope.example", 3), { srcPort: 53, t: 11.002 });
  d.decode(fakePacket(query(7, "nope.example"), { dstPort: 53, t: 11 }), s);
  assert.equal(d.packetTypes[d.decode(nx, s)], "Response (NXDOMAIN)");
  const sum = d.summarize(s) as Record<string, unknown>;
  assert.equal(sum.queries, 2);
  assert.equal(sum.responses, 2);
  assert.equal(sum.unanswered, 0);
  assert.deepEqual(sum.rcodes, { NOERROR: 1, NXDOMAIN: 1 });
  const rt = sum.responseTimeMs as Record<string, number>;
  assert.equal(rt.count, 2);
  assert.equal(rt.min, 2);
  assert.equal(rt.max, 12.5);
  // Names are counted case-insensitively, shown as first seen.
  assert.deepEqual(sum.topNames, [{ name: "nope.example", count: 1 }, { name: "www.Example.com", count: 1 }]);
});

Deno.test("dns: off-port DNS is weaker than port-hinted DNS; mDNS and LLMNR own their ports", () => {
  const dns = dnsDecoder(), mdns = mdnsDecoder(), llmnr = llmnrDecoder();
  const off = dns.probe(fakePacket(query(1, "a.b"), { srcPort: 40000, dstPort: 40001 }))!;
  assert.ok(off.confidence >= 0.5 && off.confidence < 0.9);
  const m = fakePacket(query(0, "_services._dns-sd._udp.local", 0), { srcPort: 5353, dstPort: 5353 });
  assert.equal(dns.probe(m), null);
  assert.ok(mdns.probe(m)!.confidence >= 0.9);
  assert.equal(llmnr.probe(m), null);
  assert.equal(mdns.phsName, "mdns");
  assert.equal(llmnr.phsName, "llmnr");
  assert.ok(llmnr.probe(fakePacket(query(9, "host"), { dstPort: 5355 }))!.confidence >= 0.9);
  // mDNS does not match ids (they are 0): no unanswered count.
  const s = mdns.createState();
  mdns.decode(m, s);
  assert.equal((mdns.summarize(s) as Record<string, unknown>).unanswered, null);
});

Deno.test("dns: pointer loops, bad pointers, truncated names and impossible counts are refused fast", () => {
  const d = dnsDecoder();
  const hdr = () => new Bytes().u16(1).u16(0x0100).u16(1).u16(0).u16(0).u16(0);
  const loop = hdr().u8(0xc0, 12).u16(1).u16(1).bytes(); // pointer to itself
  const loop2 = hdr().u8(1).ascii("a").u8(0xc0, 12).u16(1).u16(1).bytes(); // label then back: grows forever
  const forward = hdr().u8(0xc0, 200).u16(1).u16(1).bytes(); // beyond the message
  const cut = hdr().u8(10).ascii("abc").bytes(); // label longer than what is left
  const extLabel = hdr().u8(0x41).ascii("a").u8(0).u16(1).u16(1).bytes();
  const counts = new Bytes().u16(1).u16(0x0100).u16(200).u16(0).u16(0).u16(0).u8(0).u16(1).u16(1).bytes();
  const empty = new Bytes().u16(1).u16(0x0100).u16(0).u16(0).u16(0).u16(0).bytes();
  const s = d.createState();
  const t0 = performance.now();
  for (const b of [loop, loop2, forward, cut, extLabel, counts, empty, new Uint8Array(5)]) {
    const p = fakePacket(b, { dstPort: 53 });
    assert.equal(d.probe(p), null);
    assert.equal(d.decode(p, s), -1);
  }
  assert.ok(performance.now() - t0 < 200);
  assert.equal(s.malformed, 8);
  assert.equal(walkName(loop2, 0, loop2.length, 12, false), false);
  // A long chain of backward pointers ends at MAX_HOPS instead of walking forever.
  const chain = hdr();
  chain.u8(0); // root name at 12
  for (let i = 0; i < 100; i++) chain.u8(0xc0, 12 + i * 2 + (i === 0 ? 0 : -1));
  const cb = chain.bytes();
  assert.equal(walkName(cb, 0, cb.length, cb.length - 2, false), false);
});

Deno.test("dns: snaplen-cut message is short, not malformed", () => {
  const d = dnsDecoder();
  const full = response(3, "www.example.com");
  const p = fakePacket(full.subarray(0, 40), { srcPort: 53, wireLen: full.length });
  assert.equal(walkMessage(p.data, p.payloadOff, full.length, p.payloadOff + 40), Walk.SHORT);
  assert.ok(d.probe(p)!.confidence >= 0.9);
  const s = d.createState();
  assert.equal(d.packetTypes[d.decode(p, s)], "Response");
  assert.equal(s.short, 1);
});

Deno.test("dns: TCP framing decodes whole messages and counts the rest as continuation", () => {
  const d = dnsDecoder();
  const q = query(0x4319, "www.tcpdump.org");
  const r = response(0x4319, "www.tcpdump.org");
  const s = d.createState();
  const pq = fakePacket(tcpFramed(q), { proto: "tcp", dstPort: 53 });
  assert.ok(d.probe(pq)!.confidence >= 0.9);
  assert.match(d.probe(pq)!.detail, /length prefix/);
  assert.equal(d.packetTypes[d.decode(pq, s)], "Query");
  // Two messages in one segment: both are counted, the first names the packet type.
  const two = fakePacket(tcpFramed(r, response(5, "x.y")), { proto: "tcp", srcPort: 53 });
  assert.equal(d.packetTypes[d.decode(two, s)], "Response");
  // A message longer than the segment, and a segment in the middle of one.
  const framed = tcpFramed(r);
  const head = fakePacket(framed.subarray(0, 20), { proto: "tcp", srcPort: 53 });
  assert.equal(d.probe(head), null);
  assert.equal(d.packetTypes[d.decode(head, s)], "Continuation");
  const tail = fakePacket(framed.subarray(20), { proto: "tcp", srcPort: 53 });
  assert.equal(d.packetTypes[d.decode(tail, s)], "Continuation");
  const sum = d.summarize(s) as Record<string, unknown>;
  assert.equal(sum.queries, 1);
  assert.equal(sum.responses, 2);
  assert.equal(sum.continuation, 2);
  assert.equal(sum.unmatchedResponses, 1);
});

Deno.test("dns: pending queries and top names stay bounded", () => {
  const d = dnsDecoder();
  const s = d.createState();
  for (let i = 0; i < 1000; i++) d.decode(fakePacket(query(i, `host${i % 50}.example`), { dstPort: 53 }), s);
  const sum = d.summarize(s) as Record<string, unknown>;
  assert.equal((sum.topNames as unknown[]).length, 32);
  assert.equal(sum.otherNames, 18 * 20);
  assert.equal(sum.unanswered, 1000);
  assert.equal(s.names.size, 32);
});
