import assert from "node:assert/strict";
import { PTP_MIN_LENGTH, PTP_TYPE_NAMES, ptpDecoder } from "../../decoders/ptp.ts";
import { Bytes, fakePacket } from "./_packet.ts";

interface Msg {
  type: number;
  length?: number;
  version?: number;
  domain?: number;
  flags?: number;
  correctionNs?: number;
  clock?: [number, number];
  port?: number;
  seq?: number;
  logInterval?: number;
  /** Bytes actually emitted (defaults to messageLength). */
  emit?: number;
}

function ptp(m: Msg): Uint8Array {
  const len = m.length ?? PTP_MIN_LENGTH[m.type];
  const w = new Bytes()
    .u8(0x10 | m.type, m.version ?? 2)
    .u16(len)
    .u8(m.domain ?? 0, 0)
    .u16(m.flags ?? 0);
  const corr = BigInt(Math.round((m.correctionNs ?? 0) * 65536));
  const c = BigInt.asUintN(64, corr);
  w.u32(Number(c >> 32n)).u32(Number(c & 0xffffffffn));
  w.u32(0);
  const [hi, lo] = m.clock ?? [0x001b19ff, 0xfe000001];
  w.u32(hi).u32(lo).u16(m.port ?? 1).u16(m.seq ?? 0).u8(0, m.logInterval ?? 0);
  // Announce body: timestamp, utc offset, reserved, priority1, clock quality, priority2, gm identity...
  if (m.type === 11 && len >= 64) {
    w.zeros(10).u16(37).u8(0, 128, 6, 0x21).u16(0x4e5d).u8(128).u32(0xaabbccff).u32(0xfe001122).u16(0).u8(
      0x20,
    );
  }
  const want = m.emit ?? len;
  while (w.length < want) w.u8(0);
  return w.bytes().subarray(0, want);
}

const TYPES = [0, 1, 2, 3, 8, 9, 10, 11, 12, 13];

Deno.test("ptp: every message type decodes to its name over UDP and Ethernet", () => {
  const d = ptpDecoder();
  for (const t of TYPES) {
    const udp = fakePacket(ptp({ type: t }), { dstPort: t < 4 ? 319 : 320 });
    const pr = d.probe(udp);
    assert.ok(pr !== null && pr.confidence >= 0.9, `type ${t} probe`);
    assert.equal(pr.evidence, "structure");
    const s = d.createState();
    assert.equal(d.decode(udp, s), t);
    assert.equal(d.packetTypes[t], PTP_TYPE_NAMES[t]);
    // Ethernet frames are padded to 60 bytes: payload longer than messageLength is fine.
    const eth = fakePacket(ptp({ type: t, emit: Math.max(46, PTP_MIN_LENGTH[t]) }), { proto: "ether" });
    assert.ok(d.probe(eth)!.confidence >= 0.9);
    assert.match(d.probe(eth)!.detail, /ethertype 0x88f7/);
    assert.equal(d.decode(eth, s), t);
    assert.equal(s.counts[t], 2);
  }
  assert.deepEqual(
    TYPES.map((t) => d.packetTypes[t]),
    [
      "Sync",
      "Delay_Req",
      "Pdelay_Req",
      "Pdelay_Resp",
      "Follow_Up",
      "Delay_Resp",
      "Pdelay_Resp_Follow_Up",
      "Announce",
      "Signaling",
      "Management",
    ],
  );
});

Deno.test("ptp: bad version, lengths and reserved types are refused and counted malformed", () => {
  const d = ptpDecoder();
  const s = d.createState();
  const bad = [
    ptp({ type: 0, version: 1 }), // PTPv1
    ptp({ type: 0, length: 44, emit: 40 }), // messageLength beyond payload
    ptp({ type: 9, length: 44 }), // Delay_Resp needs 54
    ptp({ type: 5, length: 44 }), // reserved messageType
    new Uint8Array(20), // shorter than the header
  ];
  for (const b of bad) {
    const p = fakePacket(b, { dstPort: 319 });
    assert.equal(d.probe(p), null);
    assert.equal(d.decode(p, s), -1);
  }
  assert.equal(s.malformed, bad.length);
  // Without a port hint an exact-length message is only a weak structural sign.
  const odd = d.probe(fakePacket(ptp({ type: 0 }), { srcPort: 5000, dstPort: 6000 }))!;
  assert.ok(odd.confidence < 0.9 && odd.confidence >= 0.5);
});

Deno.test("ptp: flow state tracks sequence gaps, twoStep, domains, clocks, intervals and correction", () => {
  const d = ptpDecoder();
  const s = d.createState();
  const seqs = [10, 11, 12, 15, 16, 16, 17];
  seqs.forEach((seq, i) => {
    const p = fakePacket(ptp({ type: 0, seq, flags: 0x0200, domain: 24, logInterval: -3 }), {
      proto: "ether",
      t: 100 + i * 0.125,
    });
    assert.equal(d.decode(p, s), 0);
  });
  d.decode(fakePacket(ptp({ type: 8, seq: 10, correctionNs: 1.5 }), { proto: "ether" }), s);
  d.decode(fakePacket(ptp({ type: 8, seq: 11, correctionNs: -250 }), { proto: "ether" }), s);
  d.decode(fakePacket(ptp({ type: 11, clock: [0x11223344, 0x55667788] }), { proto: "ether" }), s);
  const sum = d.summarize(s) as Record<string, unknown>;
  assert.deepEqual(sum.messages, { Sync: 7, Follow_Up: 2, Announce: 1 });
  assert.deepEqual(sum.domains, [0, 24]);
  assert.equal(sum.twoStepSync, 7);
  assert.equal(sum.oneStepSync, 0);
  assert.deepEqual(sum.clockIdentities, ["0x001b19fffe000001", "0x1122334455667788"]);
  assert.deepEqual(sum.grandmasters, [{ identity: "0xaabbccfffe001122", priority1: 128, clockClass: 6 }]);
  const seq = (sum.sequences as Record<string, unknown>[]).find((x) => x.messageType === "Sync")!;
  assert.equal(seq.packets, 7);
  assert.equal(seq.gaps, 1);
  assert.equal(seq.missing, 2);
  assert.equal(seq.backwards, 1);
  assert.equal(seq.logMessageInterval, -3);
  assert.equal(seq.nominalIntervalS, 0.125);
  assert.equal(seq.measuredIntervalS, 0.125);
  const corr = sum.correctionNs as Record<string, number>;
  assert.equal(corr.count, 10);
  assert.equal(corr.nonZero, 2);
  assert.equal(corr.min, -250);
  assert.equal(corr.max, 1.5);
});

Deno.test("ptp: per-flow tables stay bounded with many clocks", () => {
  const d = ptpDecoder();
  const s = d.createState();
  for (let i = 0; i < 500; i++) d.decode(fakePacket(ptp({ type: 1, clock: [i, i] }), { dstPort: 319 }), s);
  const sum = d.summarize(s) as Record<string, unknown>;
  assert.equal((sum.clockIdentities as string[]).length, 16);
  assert.equal(sum.clockIdentitiesDropped, 484);
  assert.equal((sum.sequences as unknown[]).length, 64);
  assert.equal(sum.sequencesDropped, 436);
});
