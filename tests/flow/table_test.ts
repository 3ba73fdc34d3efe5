import assert from "node:assert/strict";
import { Packet } from "../../lib/packet/packet.ts";
import { KeyBuilder, keyIsIpv6, keyKind, keyProto, keyVlan } from "../../lib/flow/key.ts";
import { FlowIndex } from "../../lib/flow/table.ts";

function ipPacket(src: number, dst: number, sport: number, dport: number, proto = 17): Packet {
  const p = new Packet();
  p.ipVersion = 4;
  p.ipProto = proto;
  p.src[0] = src;
  p.dst[0] = dst;
  p.srcPort = sport;
  p.dstPort = dport;
  return p;
}

Deno.test("both directions of a conversation build the same key and hash", () => {
  const kb = new KeyBuilder();
  assert.ok(kb.build(ipPacket(0x0a000001, 0x0a000002, 1234, 80, 6)));
  const w1 = kb.words.slice(), h1 = kb.hash, a1 = kb.srcIsA;
  assert.ok(kb.build(ipPacket(0x0a000002, 0x0a000001, 80, 1234, 6)));
  assert.deepEqual(kb.words, w1);
  assert.equal(kb.hash, h1);
  assert.notEqual(kb.srcIsA, a1);
  assert.equal(keyKind(w1[0]), 1);
  assert.equal(keyProto(w1[0]), 6);
  assert.equal(keyIsIpv6(w1[0]), false);
});

Deno.test("ports, protocol, VLAN and tunnel id all separate flows", () => {
  const kb = new KeyBuilder();
  const keys = new Set<string>();
  const add = (p: Packet) => {
    kb.build(p);
    keys.add(kb.words.join(","));
  };
  add(ipPacket(1, 2, 10, 20));
  add(ipPacket(1, 2, 10, 21));
  add(ipPacket(1, 2, 10, 20, 6));
  const v = ipPacket(1, 2, 10, 20);
  v.vlanCount = 1;
  v.vlanIds[0] = 100;
  add(v);
  kb.build(v);
  assert.equal(keyVlan(kb.words[0]), 100);
  const t = ipPacket(1, 2, 10, 20);
  t.tunnelKey = 42;
  add(t);
  assert.equal(keys.size, 5);
});

Deno.test("non-final fragments get their own key, never a UDP one", () => {
  const kb = new KeyBuilder();
  const f = ipPacket(1, 2, 0, 0);
  f.isFragment = true;
  kb.build(f);
  assert.equal(keyProto(kb.words[0]), 255);
});

Deno.test("IPv6 addresses order word by word", () => {
  const kb = new KeyBuilder();
  const p = new Packet();
  p.ipVersion = 6;
  p.ipProto = 17;
  p.src.set([0x20010db8, 0, 0, 2]);
  p.dst.set([0x20010db8, 0, 0, 1]);
  p.srcPort = 5;
  p.dstPort = 6;
  kb.build(p);
  assert.equal(kb.srcIsA, false);
  assert.equal(keyIsIpv6(kb.words[0]), true);
  assert.deepEqual([...kb.words.subarray(1, 5)], [0x20010db8, 0, 0, 1]);
});

Deno.test("L2 frames key on the MAC pair and EtherType; frames with nothing to key on are refused", () => {
  const kb = new KeyBuilder();
  const p = new Packet();
  p.data = new Uint8Array([1, 0x1b, 0x19, 0, 0, 0, 0, 0x0c, 0x29, 0xaa, 0xbb, 0xcc, 0x88, 0xf7]);
  p.dstMacOff = 0;
  p.srcMacOff = 6;
  p.hasMac = true;
  p.etherType = 0x88f7;
  assert.ok(kb.build(p));
  assert.equal(keyKind(kb.words[0]), 2);
  assert.equal(kb.words[9], 0x88f7);
  const empty = new Packet();
  assert.equal(kb.build(empty), false);
});

Deno.test("FlowIndex finds what it added across many rehashes, and nothing else", () => {
  const idx = new FlowIndex(4);
  const kb = new KeyBuilder();
  const n = 50_000;
  for (let i = 0; i < n; i++) {
    kb.build(ipPacket(0x0a000000 + i, 0x0b000000, 1000 + (i % 7), 53));
    assert.equal(idx.find(kb), -1);
    assert.equal(idx.add(kb), i);
  }
  assert.equal(idx.size, n);
  for (let i = 0; i < n; i += 97) {
    kb.build(ipPacket(0x0b000000, 0x0a000000 + i, 53, 1000 + (i % 7)));
    assert.equal(idx.find(kb), i);
    assert.equal(idx.key(i)[0], kb.words[0]);
  }
  kb.build(ipPacket(0x0c000000, 0x0b000000, 1, 2));
  assert.equal(idx.find(kb), -1);
});
