import assert from "node:assert/strict";
import * as B from "../../lib/packet/build.ts";
import { PacketDecoder, type PacketDecoderOptions } from "../../lib/packet/decoder.ts";
import { formatIpv6 } from "../../lib/packet/format.ts";
import { Packet } from "../../lib/packet/packet.ts";
import { MppError } from "../../lib/errors.ts";
import { record, stack } from "./_frames.ts";

const M1 = "02:00:00:00:00:01";
const M2 = "02:00:00:00:00:02";
const A = "10.1.0.1";
const Z = "10.1.0.2";
const A6 = "2001:db8::a";
const Z6 = "2001:db8::b";

function payload(n: number, seed = 1): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);
}

/** A UDP datagram over IPv4, split into Ethernet frames of fragments. */
function v4Frags(n: number, mtu: number, id = 0x4242, seed = 1): { frames: Uint8Array[]; udp: Uint8Array } {
  const udp = B.udp({ sport: 5000, dport: 6000, payload: payload(n, seed), src: A, dst: Z });
  const dgram = B.ipv4({ src: A, dst: Z, proto: 17, id, payload: udp });
  const frames = B.fragmentIpv4(dgram, mtu).map((f) =>
    B.ethernet({ src: M1, dst: M2, etherType: 0x0800, payload: f })
  );
  return { frames, udp };
}

function v6Frags(n: number, mtu: number, id = 77): { frames: Uint8Array[]; udp: Uint8Array } {
  const udp = B.udp({ sport: 53, dport: 5353, payload: payload(n, 3), src: A6, dst: Z6 });
  const pkt = B.ipv6({ src: A6, dst: Z6, nextHeader: 17, payload: udp });
  const frames = B.fragmentIpv6(pkt, mtu, id).map((f) =>
    B.ethernet({ src: M1, dst: M2, etherType: 0x86dd, payload: f })
  );
  return { frames, udp };
}

/** Decodes frames in the given order; returns the packet states as [isFragment, reassembled] and the last packet. */
function run(frames: Uint8Array[], order: number[], opts: PacketDecoderOptions = {}, ts?: number[]) {
  const dec = new PacketDecoder(opts);
  const p = new Packet();
  const states: string[] = [];
  let done: Packet | null = null;
  order.forEach((i, k) => {
    dec.decode(record(frames[i], { tsSec: ts?.[k] ?? 1 }), p);
    states.push(p.reassembled ? "R" : p.isFragment ? "F" : "-");
    if (p.reassembled && done === null) {
      done = new Packet();
      Object.assign(done, { ...p });
      done.data = p.data;
    }
  });
  return { dec, p, states: states.join(""), done: done as Packet | null };
}

function udpPayloadOf(p: Packet): Uint8Array {
  return p.data.subarray(p.payloadOff, p.payloadOff + p.payloadLen);
}

Deno.test("IPv4 fragments in order: non-final shown as data, the last completes with transport", () => {
  const { frames, udp } = v4Frags(3000, 1500);
  assert.equal(frames.length, 3);
  const { dec, p, states } = run(frames, [0, 1, 2]);
  assert.equal(states, "FFR");
  assert.equal(stack(p), "eth:ip:udp");
  assert.equal(p.reassembled, true);
  assert.equal(p.isFragment, false);
  assert.deepEqual([p.srcPort, p.dstPort, p.payloadLen, p.payloadWireLen], [5000, 6000, 3000, 3000]);
  assert.deepEqual(udpPayloadOf(p), udp.subarray(8));
  // The rebuilt frame: Ethernet + IPv4 header of the first fragment + the whole datagram payload.
  assert.equal(p.data.length, 14 + 20 + udp.length);
  assert.equal(p.ipTotalLen, 20 + udp.length);
  assert.equal(B.checksum(p.data.subarray(14, 34)), 0);
  assert.deepEqual([dec.fragStats.reassembled, dec.fragStats.pending, dec.fragStats.pendingBytes], [1, 0, 0]);
});

Deno.test("IPv4 fragments reversed and shuffled complete on the last one to arrive", () => {
  const { frames, udp } = v4Frags(5000, 1000);
  assert.equal(frames.length, 6);
  for (const order of [[5, 4, 3, 2, 1, 0], [2, 0, 5, 1, 4, 3]]) {
    const { p, states } = run(frames, order);
    assert.equal(states, "FFFFFR", String(order));
    assert.deepEqual(udpPayloadOf(p), udp.subarray(8));
  }
});

Deno.test("duplicated and overlapping fragments: first data wins, overlaps counted", () => {
  const { frames, udp } = v4Frags(3000, 1500);
  const dup = run(frames, [0, 0, 1, 2]);
  assert.equal(dup.states, "FFFR");
  assert.equal(dup.dec.fragStats.overlaps, 1);
  assert.deepEqual(udpPayloadOf(dup.p), udp.subarray(8));
  // A forged fragment rewriting bytes 8..1479 of the datagram with 0xee arrives after the real one.
  const forged = B.ethernet({
    src: M1,
    dst: M2,
    etherType: 0x0800,
    payload: B.ipv4({
      src: A,
      dst: Z,
      proto: 17,
      id: 0x4242,
      flags: 1,
      fragOffset: 8,
      payload: new Uint8Array(1472).fill(0xee),
    }),
  });
  const all = [...frames, forged];
  const ov = run(all, [0, 3, 1, 2]);
  assert.equal(ov.states, "FFFR");
  assert.equal(ov.dec.fragStats.overlaps, 1);
  assert.deepEqual(udpPayloadOf(ov.p), udp.subarray(8));
  // The forged one first: its bytes were there first and are kept (overlap counted on the real one).
  const first = run(all, [3, 0, 1, 2]);
  assert.equal(first.states, "FFFR");
  assert.equal(first.p.data[14 + 20 + 8 + 100], 0xee);
  assert.ok(first.dec.fragStats.overlaps >= 1);
});

Deno.test("missing fragment: datagram evicted after the timeout (packet time), counted", () => {
  const { frames } = v4Frags(3000, 1500);
  const { dec, states } = run(frames, [0, 2], { fragmentTimeoutSec: 30 }, [100, 101]);
  assert.equal(states, "FF");
  assert.deepEqual([dec.fragStats.pending, dec.fragStats.timedOut], [1, 0]);
  // A later fragment of another datagram, 31 s on: the stale one is dropped first.
  const other = v4Frags(3000, 1500, 0x99);
  const p = new Packet();
  dec.decode(record(other.frames[0], { tsSec: 132 }), p);
  assert.deepEqual([dec.fragStats.pending, dec.fragStats.timedOut], [1, 1]);
  // Its middle fragment arriving now starts a new datagram instead of completing the old one.
  dec.decode(record(frames[1], { tsSec: 133 }), p);
  assert.equal(p.reassembled, false);
  assert.equal(p.isFragment, true);
  dec.flushFragments();
  assert.equal(dec.fragStats.pending, 0);
});

Deno.test("global byte cap evicts the oldest datagrams; datagram cap too", () => {
  const dec = new PacketDecoder({ maxFragmentBytes: 20000 });
  const p = new Packet();
  for (let id = 1; id <= 10; id++) {
    dec.decode(record(v4Frags(3000, 1500, id).frames[0], { tsSec: id }), p);
    assert.ok(dec.fragStats.pendingBytes <= 20000);
  }
  assert.ok(dec.fragStats.evicted > 0);
  assert.equal(dec.fragStats.pending + dec.fragStats.evicted, 10);
  // The newest datagram survived and still completes.
  const last = v4Frags(3000, 1500, 10);
  dec.decode(record(last.frames[1], { tsSec: 11 }), p);
  dec.decode(record(last.frames[2], { tsSec: 11 }), p);
  assert.equal(p.reassembled, true);
  // The oldest was evicted: its remaining fragments do not complete it.
  const first = v4Frags(3000, 1500, 1);
  dec.decode(record(first.frames[1], { tsSec: 12 }), p);
  dec.decode(record(first.frames[2], { tsSec: 12 }), p);
  assert.equal(p.reassembled, false);

  const few = new PacketDecoder({ maxFragmentDatagrams: 3 });
  for (let id = 1; id <= 5; id++) few.decode(record(v4Frags(3000, 1500, id).frames[0]), p);
  assert.deepEqual([few.fragStats.pending, few.fragStats.evicted], [3, 2]);
});

Deno.test("impossible fragments are rejected: beyond 65535 bytes, data past the final fragment", () => {
  const big = B.ethernet({
    src: M1,
    dst: M2,
    etherType: 0x0800,
    payload: B.ipv4({ src: A, dst: Z, proto: 17, id: 5, fragOffset: 65528, payload: new Uint8Array(100) }),
  });
  const { dec, states } = run([big], [0]);
  assert.equal(states, "F");
  assert.equal(dec.fragStats.invalid, 1);
  assert.equal(dec.fragStats.pending, 0);
  // A final fragment ending at 1488, then data at 2960: invalid; the first fragment still completes it.
  const { frames } = v4Frags(3000, 1500);
  const last0 = B.ethernet({
    src: M1,
    dst: M2,
    etherType: 0x0800,
    payload: B.ipv4({ src: A, dst: Z, proto: 17, id: 0x4242, fragOffset: 1480, payload: new Uint8Array(8) }),
  });
  const r = run([frames[0], last0, frames[2]], [1, 2, 0]);
  assert.equal(r.states, "FFR");
  assert.equal(r.p.payloadWireLen, 1488 - 8);
  assert.equal(r.dec.fragStats.invalid, 1);
});

Deno.test("truncated fragments are not reassembled", () => {
  const { frames } = v4Frags(3000, 1500);
  const dec = new PacketDecoder();
  const p = new Packet();
  dec.decode(record(frames[0].subarray(0, 100), { origLen: frames[0].length }), p);
  assert.deepEqual([p.isFragment, p.truncated], [true, true]);
  assert.equal(dec.fragStats.pending, 0);
});

Deno.test("IPv6 fragments: in order, reversed, fragment header removed in the rebuilt frame", () => {
  const { frames, udp } = v6Frags(4000, 1280);
  assert.equal(frames.length, 4);
  for (const order of [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2]]) {
    const { p, states } = run(frames, order);
    assert.equal(states, "FFFR", String(order));
    assert.equal(stack(p), "eth:ipv6:udp");
    assert.deepEqual([p.srcPort, p.dstPort, p.payloadLen], [53, 5353, 4000]);
    assert.deepEqual(udpPayloadOf(p), udp.subarray(8));
    assert.equal(p.ipTotalLen, 40 + udp.length);
    assert.equal(formatIpv6(p.src), A6);
  }
  // Non-final fragments show the fragment header and no transport.
  const one = run(frames, [0]);
  assert.equal(stack(one.p), "eth:ipv6:ipv6.fraghdr");
  assert.deepEqual([one.p.ipProto, one.p.l4Off, one.p.isFragment], [17, -1, true]);
});

Deno.test("IPv6 fragments of different flows (id, flow label) do not mix", () => {
  const a = v6Frags(2000, 1280, 1);
  const b = v6Frags(2000, 1280, 2);
  const { states, dec } = run([...a.frames, ...b.frames], [0, 2, 1, 3]);
  assert.equal(states, "FFRR");
  assert.equal(dec.fragStats.reassembled, 2);
});

Deno.test("fragmented outer IPv4 of a GTP-U tunnel: reassembled, then the inner flow is decoded", () => {
  const inner = B.ipv4({
    src: "172.16.0.1",
    dst: "172.16.0.2",
    proto: 6,
    payload: B.tcp({ sport: 80, dport: 40000, flags: 0x10, payload: payload(1400) }),
  });
  const gtp = B.udp({
    sport: 2152,
    dport: 2152,
    payload: B.gtpu({ teid: 0x1234, payload: inner }),
    src: A,
    dst: Z,
  });
  const outer = B.ipv4({ src: A, dst: Z, proto: 17, id: 9, payload: gtp });
  const frames = B.fragmentIpv4(outer, 1000).map((f) =>
    B.ethernet({ src: M1, dst: M2, etherType: 0x0800, payload: f })
  );
  const { p, states } = run(frames, [1, 0]);
  assert.equal(states, "FR");
  assert.equal(stack(p), "eth:ip:udp:gtp:ip:tcp");
  assert.deepEqual([p.tunnelId, p.srcPort, p.dstPort, p.payloadLen], [0x1234, 80, 40000, 1400]);
});

Deno.test("fragmented inner IPv4 inside GRE: outer lengths do not cut the rebuilt datagram", () => {
  const udp = B.udp({ sport: 1, dport: 2, payload: payload(2500) });
  const inner = B.ipv4({ src: "192.168.0.1", dst: "192.168.0.2", proto: 17, id: 3, payload: udp });
  const frames = B.fragmentIpv4(inner, 1400).map((f) =>
    B.ethernet({
      src: M1,
      dst: M2,
      etherType: 0x0800,
      payload: B.ipv4({
        src: A,
        dst: Z,
        proto: 47,
        payload: B.gre({ protocol: 0x0800, key: 8, payload: f }),
      }),
    })
  );
  const { p, states } = run(frames, [0, 1]);
  assert.equal(states, "FR");
  assert.equal(stack(p), "eth:ip:gre:ip:udp");
  assert.deepEqual([p.payloadLen, p.tunnelId, p.malformed], [2500, 8, false]);
  assert.deepEqual(udpPayloadOf(p), udp.subarray(8));
});

Deno.test("bad reassembly options are MppError bad_usage", () => {
  for (
    const o of [{ fragmentTimeoutSec: -1 }, { maxFragmentBytes: Number.NaN }, { maxFragmentDatagrams: 1.5 }, {
      maxFragmentBytes: Infinity,
    }]
  ) {
    assert.throws(
      () => new PacketDecoder(o),
      (e: unknown) => e instanceof MppError && e.code === "bad_usage" && e.hint !== "",
    );
  }
  // Zero caps are legal: nothing is buffered, every fragment is evicted at once.
  const { dec, states } = run(v4Frags(3000, 1500).frames, [0, 1, 2], { maxFragmentBytes: 0 });
  assert.equal(states, "FFF");
  assert.equal(dec.fragStats.pendingBytes, 0);
});

Deno.test("expireFragments drops stale datagrams at a given packet time", () => {
  const { frames } = v4Frags(3000, 1500);
  const { dec } = run(frames, [0], { fragmentTimeoutSec: 10 }, [50]);
  dec.expireFragments(60);
  assert.equal(dec.fragStats.pending, 1);
  dec.expireFragments(60.5);
  assert.deepEqual([dec.fragStats.pending, dec.fragStats.timedOut], [0, 1]);
});
