/** The worker → main-thread ring: order, integrity, wrap-around and back-pressure, on one thread. */
import assert from "node:assert/strict";
import { createRing, Ctrl, RingReader, RingWriter } from "../../lib/capture/live_ring.ts";

/** Writes `count` records of `size` bytes (byte value = seq & 255) the way pcap_dump lays them out. */
function writeBatch(w: RingWriter, at: number, seq: number, count: number, size: number): number {
  const dv = new DataView(w.data.buffer);
  let o = at + 16;
  for (let i = 0; i < count; i++, seq++) {
    dv.setUint32(o, 1700000000 + seq, true);
    dv.setUint32(o + 4, seq, true);
    dv.setUint32(o + 8, size, true);
    dv.setUint32(o + 12, size + 4, true);
    w.data.fill(seq & 255, o + 16, o + 16 + size);
    o += 16 + size;
  }
  return o;
}

Deno.test("records come out in order and intact across many wrap-arounds", () => {
  const { ctrl, data } = createRing(64 * 1024);
  const w = new RingWriter(ctrl, data);
  const r = new RingReader(ctrl, data);
  let seqOut = 0, seqIn = 0, blocked = 0;
  let s = 12345;
  const rand = () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const check = (
    ifIndex: number,
    buf: Uint8Array,
    off: number,
    caplen: number,
    len: number,
    sec: number,
    frac: number,
  ) => {
    assert.equal(ifIndex, 1);
    assert.equal(frac, seqIn);
    assert.equal(sec, 1700000000 + seqIn);
    assert.equal(len, caplen + 4);
    for (let i = 0; i < caplen; i++) {
      if (buf[off + i] !== (seqIn & 255)) assert.fail(`record ${seqIn} corrupted`);
    }
    seqIn++;
  };
  for (let round = 0; round < 5000; round++) {
    const size = 1 + Math.floor(rand() * 1500);
    const want = 16 + 4 * (16 + size);
    const at = w.reserve(want);
    if (at < 0) {
      blocked++;
      r.drain(check);
      continue;
    }
    const count = Math.max(1, Math.min(4, RingWriter.fitCount(w.room(at), size)));
    const end = writeBatch(w, at, seqOut, count, size);
    w.commit(at, end, 1, count);
    seqOut += count;
    if (rand() < 0.03) r.drain(check);
  }
  r.drain(check);
  assert.equal(seqIn, seqOut);
  assert.ok(blocked > 0, "the writer never had to wait: back-pressure untested");
  assert.ok(seqOut > 5000);
  assert.equal(r.empty, true);
});

Deno.test("the writer never overwrites records the reader has not consumed", () => {
  const { ctrl, data } = createRing(4096);
  const w = new RingWriter(ctrl, data);
  let batches = 0;
  for (;;) {
    const at = w.reserve(16 + 16 + 200);
    if (at < 0) break;
    w.commit(at, writeBatch(w, at, batches, 1, 200), 0, 1);
    batches++;
  }
  assert.equal(batches, Math.floor((4096 - 8) / 232)); // everything but the 8-byte gap
  // Nothing more fits until the reader consumes.
  assert.equal(w.reserve(232), -1);
  const r = new RingReader(ctrl, data);
  let got = 0;
  r.drain((_i, buf, off, caplen, _l, _s, frac) => {
    assert.equal(frac, got);
    assert.equal(buf[off + caplen - 1], got & 255);
    got++;
  });
  assert.equal(got, batches);
  assert.ok(w.reserve(232) >= 0);
  assert.ok(Atomics.load(new Int32Array(ctrl), Ctrl.RSEQ) > 0);
});

Deno.test("drain honours a record limit and still releases the batch", () => {
  const { ctrl, data } = createRing(8192);
  const w = new RingWriter(ctrl, data);
  const at = w.reserve(16 + 10 * 26);
  w.commit(at, writeBatch(w, at, 0, 10, 10), 0, 10);
  const r = new RingReader(ctrl, data);
  let n = 0;
  assert.equal(r.drain(() => n++, 3), 3);
  assert.equal(n, 3);
  assert.equal(r.empty, true);
});
