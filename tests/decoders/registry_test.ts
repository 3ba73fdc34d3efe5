import assert from "node:assert/strict";
import type { Decoder, Probe } from "../../decoders/decoder.ts";
import { DecoderRegistry, defaultRegistry, PORT_CONFIDENCE } from "../../decoders/registry.ts";
import { MppError } from "../../lib/errors.ts";
import type { Packet } from "../../lib/packet/packet.ts";
import { Bytes, fakePacket } from "./_packet.ts";

/** A plugin-style decoder: claims payloads starting with `magic`, hinted by `ports`. */
function magicDecoder(
  name: string,
  magic: number,
  ports: number[],
  confidence = 0.95,
): Decoder<{ n: number }> {
  return {
    name,
    phsName: name.toLowerCase(),
    label: name,
    carriers: ["udp"],
    ports,
    etherTypes: [],
    packetTypes: ["Msg"],
    probe(p: Packet): Probe | null {
      if (p.payloadLen < 1 || p.data[p.payloadOff] !== magic) return null;
      return { confidence, evidence: "structure", detail: `magic 0x${magic.toString(16)}` };
    },
    createState: () => ({ n: 0 }),
    decode: (_p, s) => (s.n++, 0),
  };
}

function query(): Uint8Array {
  return new Bytes().u16(1).u16(0x0100).u16(1).u16(0).u16(0).u16(0).u8(1).ascii("a").u8(0).u16(1).u16(1)
    .bytes();
}

function rtp(seq: number): Uint8Array {
  return new Bytes().u8(0x80, 8).u16(seq).u32(seq * 160).u32(0xdeadbeef).zeros(160).bytes();
}

Deno.test("registry: default decoders have stable ids, names and candidates hinted first", () => {
  const r = defaultRegistry();
  const names = r.list().map((d) => d.phsName);
  assert.deepEqual(names, ["dns", "mdns", "llmnr", "nbns", "ptp", "rtcp", "rtp", "http"]);
  names.forEach((n, i) => assert.equal(r.idOf(r.byName(n)!), i));
  assert.equal(r.byName("PTP"), r.byName("ptp"));
  const c = r.candidates("udp", fakePacket(query(), { srcPort: 1234, dstPort: 320 }));
  assert.equal(c[0].phsName, "ptp");
  assert.deepEqual(
    r.candidates("ether", fakePacket(new Uint8Array(44), { proto: "ether" })).map((d) => d.name),
    [
      "PTP",
    ],
  );
  assert.deepEqual(r.candidates("tcp", fakePacket(query(), { proto: "tcp" })).map((d) => d.phsName), [
    "dns",
    "llmnr",
    "http",
  ]);
});

Deno.test("registry: a structural match beats a port match", () => {
  const r = new DecoderRegistry();
  r.register(magicDecoder("Portish", 0x01, [9999], 0.95));
  r.register(magicDecoder("Shape", 0x7e, [], 0.7));
  const p = fakePacket(new Uint8Array([0x7e, 1, 2, 3]), { dstPort: 9999 });
  const one = r.classify(p, "udp")!;
  assert.equal(one.decoder.name, "Shape");
  assert.equal(one.evidence, "structure");
  const c = r.classifier("udp");
  for (let i = 0; i < 8; i++) c.offer(p);
  assert.ok(c.settled);
  assert.equal(c.decoder!.name, "Shape");
  assert.equal(c.evidence, "structure");
  assert.match(c.detail, /mean 0\.70 over 8 packets/);
  // Port only: weak, never settles a flow by itself.
  const q = fakePacket(new Uint8Array([0x55]), { dstPort: 9999 });
  assert.equal(r.classify(q, "udp")!.confidence, PORT_CONFIDENCE);
  const c2 = r.classifier("udp");
  for (let i = 0; i < 8; i++) c2.offer(q);
  assert.ok(c2.settled);
  assert.equal(c2.decoder, null);
  assert.match(c2.detail, /no decoder matched 8 packets/);
});

Deno.test("registry: decode-as wins at once; bad rules are usage errors", () => {
  const r = defaultRegistry();
  r.decodeAs("udp.port=53:rtp");
  const c = r.classifier("udp");
  c.offer(fakePacket(query(), { dstPort: 53 }));
  assert.ok(c.settled);
  assert.equal(c.decoder!.phsName, "rtp");
  assert.equal(c.evidence, "decode-as");
  assert.equal(c.confidence, 1);
  assert.equal(c.detail, "rule udp.port=53:rtp");
  r.decodeAs("ether.type=0x88f7:ptp");
  assert.equal(
    r.classify(fakePacket(new Uint8Array(10), { proto: "ether" }), "ether")!.evidence,
    "decode-as",
  );
  for (
    const bad of [
      "udp.port=70000:rtp",
      "udp.port=5000",
      "sctp.port=1:rtp",
      "udp.port=1:nosuch",
      "tcp.port=1:rtp",
    ]
  ) {
    assert.throws(() => r.decodeAs(bad), (e: unknown) => {
      assert.ok(e instanceof MppError);
      assert.equal(e.code, "bad_usage");
      assert.ok(e.message.includes(bad.split(":")[0]) || e.message.includes(bad));
      assert.ok(e.hint.length > 0);
      return true;
    });
  }
});

Deno.test("registry: plugins register and unregister; ids are never reused", () => {
  const r = defaultRegistry();
  const n = r.list().length;
  const plug = magicDecoder("Iena", 0x42, [50000]);
  r.register(plug);
  assert.equal(r.idOf(plug), n);
  assert.throws(() => r.register(magicDecoder("IENA", 0x43, [])), MppError);
  const p = fakePacket(new Uint8Array([0x42, 0, 0, 0]), { dstPort: 50000 });
  const c = r.classifier("udp");
  c.offer(p);
  assert.equal(c.decoder, plug);
  r.decodeAs("udp.port=7:iena");
  assert.equal(r.unregister("iena"), true);
  assert.equal(r.unregister("iena"), false);
  assert.equal(r.decodeAsRules().length, 0);
  assert.equal(r.byName("iena"), undefined);
  assert.equal(r.classify(p, "udp"), null);
  const again = magicDecoder("Iena", 0x42, [50000]);
  r.register(again);
  assert.equal(r.idOf(again), n + 1);
  assert.equal(r.decoderById(n), undefined);
});

Deno.test("registry: RTP settles on the second packet in sequence; unknown after N packets of noise", () => {
  const r = defaultRegistry();
  const c = r.classifier("udp");
  c.offer(fakePacket(rtp(1)));
  assert.equal(c.settled, false);
  c.offer(fakePacket(rtp(2)));
  assert.ok(c.settled);
  assert.equal(c.decoder!.phsName, "rtp");
  assert.equal(c.evidence, "payload");
  // Replay is on by default: the flow table relies on it for the packets it held back.
  assert.equal(c.replayed.length, 1);
  const off = r.classifier("udp", undefined, false);
  off.offer(fakePacket(rtp(1)));
  off.offer(fakePacket(rtp(2)));
  assert.equal(off.replayed.length, 0);
  const noise = r.classifier("udp", 5);
  const junk = fakePacket(new Uint8Array([0x00, 0xff, 0x13, 0x37, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
  for (let i = 0; i < 4; i++) noise.offer(junk);
  assert.equal(noise.settled, false);
  noise.offer(junk);
  assert.ok(noise.settled);
  assert.equal(noise.decoder, null);
  assert.equal(noise.probed, 5);
});

Deno.test("registry: DNS on port 53 settles on the first packet; finish() settles a short off-port flow", () => {
  const r = defaultRegistry();
  const c = r.classifier("udp");
  c.offer(fakePacket(query(), { dstPort: 53 }));
  assert.ok(c.settled);
  assert.equal(c.decoder!.phsName, "dns");
  const off = r.classifier("udp");
  off.offer(fakePacket(query(), { srcPort: 40000, dstPort: 40001 }));
  assert.equal(off.settled, false);
  off.finish();
  assert.ok(off.settled);
  assert.equal(off.decoder!.phsName, "dns");
  assert.ok(off.confidence >= 0.5 && off.confidence < 0.9);
  // A registry with no decoders for a carrier gives up at once.
  const empty = new DecoderRegistry().classifier("tcp");
  assert.ok(empty.settled);
  assert.equal(empty.decoder, null);
});

Deno.test("registry: packets probed before settling are replayed into the chosen decoder's state", () => {
  const r = defaultRegistry();
  const c = r.classifier("udp", undefined, true);
  c.offer(fakePacket(rtp(7), { t: 1 }));
  c.offer(fakePacket(rtp(8), { t: 1.02 }));
  assert.ok(c.settled);
  // The flow table decodes the settling packet itself; the first one comes from the replay.
  assert.equal(c.replayed.length, 1);
  assert.equal(c.replayed[0].type, 8);
  assert.equal(c.replayed[0].tsSec, 1);
  const d = c.decoder!;
  d.decode(fakePacket(rtp(8), { t: 1.02 }), c.primedState);
  const sum = d.summarize!(c.primedState) as {
    streams: { packets: number; lost: number; expected: number }[];
  };
  assert.equal(sum.streams[0].packets, 2);
  assert.equal(sum.streams[0].lost, 0);
  // Settling through finish() replays every probed packet.
  const off = r.classifier("udp", undefined, true);
  off.offer(fakePacket(query(), { srcPort: 40000, dstPort: 40001 }));
  off.finish();
  assert.equal(off.replayed.length, 1);
  assert.equal(off.decoder!.packetTypes[off.replayed[0].type], "Query");
  assert.equal((off.decoder!.summarize!(off.primedState) as { queries: number }).queries, 1);
});
