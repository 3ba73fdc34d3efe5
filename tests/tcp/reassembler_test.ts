import assert from "node:assert/strict";
import { F, Harness } from "./_conn.ts";
import { ByteRing, RingBudget } from "../../lib/tcp/ring.ts";
import { ACK_SKIP_SEGMENTS, DirReassembler, seqDiff, type StreamSink } from "../../lib/tcp/reassembler.ts";

Deno.test("in-order data passes through; FIN both ways closes and ends the stream", () => {
  const h = new Harness();
  h.handshake(1000, 5000);
  h.send({ c2s: true, flags: F.ACK | F.PSH, seq: 1001, ack: 5001, data: "GET / HTTP/1.1\r\n\r\n" });
  h.send({ c2s: false, flags: F.ACK | F.PSH, seq: 5001, ack: 1019, data: "HTTP/1.1 200 OK\r\n" });
  h.send({ c2s: false, flags: F.ACK | F.FIN, seq: 5018, ack: 1019 });
  h.send({ c2s: true, flags: F.ACK | F.FIN, seq: 1019, ack: 5019 });
  assert.equal(h.text(0, 0), "GET / HTTP/1.1\r\n\r\n");
  assert.equal(h.text(0, 1), "HTTP/1.1 200 OK\r\n");
  const s = h.r.streams[0];
  assert.equal(s.stateName, "closed");
  assert.deepEqual(h.ended, [0]);
  assert.equal(s.dirs[0].isn, 1000);
  assert.equal(s.dirs[1].isn, 5000);
  assert.equal(s.dirs[0].nextSeq, 1019);
  assert.equal(s.dirs[1].nextSeq, 5018);
  assert.equal(s.dirs[0].finSeq, 1019);
  const c = h.r.totals();
  assert.equal(c.retransmitted + c.outOfOrder + c.overlapBytes + c.missedBytes, 0);
  assert.equal(c.bytes, 18 + 17);
});

Deno.test("out-of-order segment waits in the ring until the hole fills", () => {
  const h = new Harness();
  h.handshake(0, 0);
  h.send({ c2s: true, flags: F.ACK, seq: 6, ack: 1, data: "world" });
  assert.equal(h.text(0, 0), "");
  assert.equal(h.r.streams[0].dirs[0].buffered(), 5);
  h.send({ c2s: true, flags: F.ACK, seq: 1, ack: 1, data: "hello" });
  assert.equal(h.text(0, 0), "helloworld");
  const d = h.r.streams[0].dirs[0];
  assert.equal(d.outOfOrder, 1);
  assert.equal(d.buffered(), 0);
  assert.equal(d.ring?.capacity ?? 0, 0, "ring memory released when empty");
  assert.equal(h.r.budget.used, 0);
});

Deno.test("retransmissions and exact duplicates are counted and delivered once", () => {
  const h = new Harness();
  h.handshake(0, 0);
  h.send({ c2s: true, flags: F.ACK, seq: 1, ack: 1, data: "abcd" });
  h.send({ c2s: true, flags: F.ACK, seq: 1, ack: 1, data: "abcd" });
  h.send({ c2s: true, flags: F.ACK, seq: 3, ack: 1, data: "cd" });
  h.send({ c2s: true, flags: F.ACK, seq: 5, ack: 1, data: "ef" });
  assert.equal(h.text(0, 0), "abcdef");
  const d = h.r.streams[0].dirs[0];
  assert.equal(d.retransmitted, 2);
  assert.equal(d.retransmittedBytes, 6);
  assert.equal(d.duplicates, 1);
  assert.match(h.a.flows[0].tcp!.history, /T/);
});

Deno.test("overlap with delivered data: first data wins, overlapping bytes counted", () => {
  const h = new Harness();
  h.handshake(0, 0);
  h.send({ c2s: true, flags: F.ACK, seq: 1, ack: 1, data: "AAAA" });
  h.send({ c2s: true, flags: F.ACK, seq: 3, ack: 1, data: "xxBB" });
  assert.equal(h.text(0, 0), "AAAABB");
  const d = h.r.streams[0].dirs[0];
  assert.equal(d.overlapBytes, 2);
  assert.equal(d.overlapSegments, 1);
});

Deno.test("overlap on both sides of buffered data: buffered bytes win inside, new bytes fill around", () => {
  const h = new Harness();
  h.handshake(0, 0);
  // Buffered first: offsets 4..8 = "BBBB".
  h.send({ c2s: true, flags: F.ACK, seq: 5, ack: 1, data: "BBBB" });
  // Covers 2..10 out of order too (overlaps the ring on both sides).
  h.send({ c2s: true, flags: F.ACK, seq: 3, ack: 1, data: "xxyyyyzz" });
  // In-order 0..12 fills the hole; everything held wins over it.
  h.send({ c2s: true, flags: F.ACK, seq: 1, ack: 1, data: "............" });
  assert.equal(h.text(0, 0), "..xxBBBBzz..");
  const d = h.r.streams[0].dirs[0];
  assert.equal(d.outOfOrder, 2);
  // 4 (second segment over "BBBB") + 8 (the filler over offsets 2..10).
  assert.equal(d.overlapBytes, 12);
});

Deno.test("sequence numbers wrap around 2^32", () => {
  const h = new Harness();
  const isn = 0xfffffff0;
  h.handshake(isn, 0x7fffffff);
  const msg = "0123456789abcdefghijklmnopqrstuvwxyzABCD";
  const seg = (i: number) => ({
    c2s: true,
    flags: F.ACK,
    seq: (isn + 1 + i * 10) >>> 0,
    ack: 0x80000000,
    data: msg.slice(i * 10, i * 10 + 10),
  });
  h.send(seg(0));
  h.send(seg(2)); // crosses the wrap, out of order
  h.send(seg(1));
  h.send(seg(3));
  assert.equal(h.text(0, 0), msg);
  const d = h.r.streams[0].dirs[0];
  assert.equal(d.nextSeq, (isn + 1 + 40) >>> 0);
  assert.equal(d.next, 40);
  assert.equal(d.outOfOrder, 1);
  assert.equal(seqDiff(5, 0xfffffffb), 10);
});

Deno.test("an ACK captured just before the segment that fills the hole does not skip it", () => {
  const h = new Harness();
  h.handshake(0, 0);
  h.send({ c2s: true, flags: F.ACK, seq: 1, ack: 1, data: "aaaa" });
  h.send({ c2s: true, flags: F.ACK, seq: 9, ack: 1, data: "cccc" });
  h.send({ c2s: false, flags: F.ACK, seq: 1, ack: 13 });
  h.send({ c2s: true, flags: F.ACK, seq: 5, ack: 1, data: "bbbb" });
  assert.equal(h.text(0, 0), "aaaabbbbcccc");
  assert.deepEqual(h.gaps, []);
});

Deno.test("gap then late fill within the window: no gap reported", () => {
  const h = new Harness();
  h.handshake(0, 0);
  h.send({ c2s: true, flags: F.ACK, seq: 1, ack: 1, data: "aa" });
  h.send({ c2s: true, flags: F.ACK, seq: 5, ack: 1, data: "cc" });
  h.send({ c2s: true, flags: F.ACK, seq: 7, ack: 1, data: "dd" });
  h.send({ c2s: true, flags: F.ACK, seq: 3, ack: 1, data: "bb" });
  assert.equal(h.text(0, 0), "aabbccdd");
  assert.deepEqual(h.gaps, []);
});

Deno.test("a hole the peer acknowledges is skipped as missed bytes (history g)", () => {
  const h = new Harness();
  h.handshake(0, 0);
  h.send({ c2s: true, flags: F.ACK, seq: 1, ack: 1, data: "aaaa" });
  h.send({ c2s: true, flags: F.ACK, seq: 9, ack: 1, data: "cccc" });
  h.send({ c2s: false, flags: F.ACK, seq: 1, ack: 13 });
  // The skip waits a few segments: a capture may show the ACK just before the filling segment.
  assert.equal(h.text(0, 0), "aaaa");
  for (let i = 0; i < ACK_SKIP_SEGMENTS; i++) {
    h.send({ c2s: true, flags: F.ACK, seq: 13 + 2 * i, ack: 1, data: "dd" });
  }
  assert.equal(h.text(0, 0), "aaaacccc" + "dd".repeat(ACK_SKIP_SEGMENTS));
  assert.deepEqual(h.gaps, ["0:0:4"]);
  const d = h.r.streams[0].dirs[0];
  assert.equal(d.missedBytes, 4);
  assert.equal(d.gaps, 1);
  assert.match(h.a.flows[0].tcp!.history, /G/);
  // Late copy of the missing bytes: already skipped, counted as retransmission.
  h.send({ c2s: true, flags: F.ACK, seq: 5, ack: 1, data: "bbbb" });
  assert.equal(h.text(0, 0), "aaaacccc" + "dd".repeat(ACK_SKIP_SEGMENTS));
  assert.equal(d.retransmitted, 1);
});

Deno.test("a hole open longer than gapTimeout is skipped", () => {
  const h = new Harness({ gapTimeout: 2 });
  h.handshake(0, 0);
  h.send({ c2s: true, flags: F.ACK, seq: 5, ack: 1, data: "late", t: 1 });
  assert.equal(h.text(0, 0), "");
  h.send({ c2s: true, flags: F.ACK, seq: 9, ack: 1, data: "more", t: 4 });
  assert.equal(h.text(0, 0), "latemore");
  assert.equal(h.r.streams[0].dirs[0].missedBytes, 4);
});

Deno.test("per-direction cap: data too far ahead skips the oldest hole, memory stays bounded", () => {
  const h = new Harness({ perDirection: 4096 });
  h.handshake(0, 0);
  const big = new Uint8Array(1000).fill(0x41);
  h.send({ c2s: true, flags: F.ACK, seq: 101, ack: 1, data: big }); // hole 0..100
  h.send({ c2s: true, flags: F.ACK, seq: 4001, ack: 1, data: big }); // ends past 4096
  const d = h.r.streams[0].dirs[0];
  assert.equal(d.capSkips, 1);
  assert.equal(d.missedBytes, 100, "the first hole was given up");
  assert.equal(d.bytes, 1000);
  assert.equal(d.buffered(), 1000);
  assert.ok(h.r.budget.peak <= 4096, `peak ${h.r.budget.peak}`);
  h.finish();
  assert.equal(d.missedBytes, 100 + 2900);
  assert.equal(d.bytes, 2000);
});

Deno.test("global cap: a second connection cannot buffer past the shared limit", () => {
  const h = new Harness({ perDirection: 1 << 16, globalLimit: 8192 });
  const chunk = new Uint8Array(6000).fill(0x42);
  for (const port of [40001, 40002]) {
    h.handshake(0, 0, port);
    h.send({ c2s: true, flags: F.ACK, seq: 11, ack: 1, data: chunk, sport: port });
  }
  assert.ok(h.r.budget.peak <= 8192, `peak ${h.r.budget.peak}`);
  const second = h.r.streams[1].dirs[0];
  assert.equal(second.capSkips, 1);
  assert.equal(second.missedBytes, 10);
  assert.equal(second.bytes, 6000);
  h.finish();
  assert.equal(h.r.budget.used, 0);
});

Deno.test("RST mid-stream: data before it delivered, state reset, stream ended", () => {
  const h = new Harness();
  h.handshake(0, 0);
  h.send({ c2s: true, flags: F.ACK, seq: 1, ack: 1, data: "partial" });
  h.send({ c2s: false, flags: F.RST | F.ACK, seq: 1, ack: 8, data: "bye" });
  assert.equal(h.text(0, 0), "partial");
  assert.equal(h.text(0, 1), "bye");
  assert.equal(h.r.streams[0].stateName, "reset");
  assert.deepEqual(h.ended, [0]);
});

Deno.test("reused 4-tuple after close starts a new stream with its own ISN", () => {
  const h = new Harness();
  h.handshake(100, 200);
  h.send({ c2s: true, flags: F.ACK, seq: 101, ack: 201, data: "one" });
  h.send({ c2s: true, flags: F.ACK | F.FIN, seq: 104, ack: 201 });
  h.send({ c2s: false, flags: F.ACK | F.FIN, seq: 201, ack: 105 });
  h.handshake(9000, 7000);
  h.send({ c2s: true, flags: F.ACK, seq: 9001, ack: 7001, data: "two" });
  h.finish();
  assert.equal(h.r.streams.length, 2);
  assert.equal(h.text(0, 0), "one");
  assert.equal(h.text(1, 0), "two");
  assert.equal(h.r.streams[1].reuse, 1);
  assert.equal(h.r.streams[1].dirs[0].isn, 9000);
  assert.equal(h.a.flows.length, 1, "one flow, two connections");
});

Deno.test("SYN retransmission does not start a new stream", () => {
  const h = new Harness();
  h.send({ c2s: true, flags: F.SYN, seq: 50 });
  h.send({ c2s: true, flags: F.SYN, seq: 50 });
  assert.equal(h.r.streams.length, 1);
  assert.equal(h.r.streams[0].stateName, "syn-sent", "half-open");
});

Deno.test("mid-stream pick-up (no SYN): the first data starts each direction", () => {
  const h = new Harness();
  h.send({ c2s: true, flags: F.ACK | F.PSH, seq: 123456, ack: 999, data: "GET /x" });
  h.send({ c2s: false, flags: F.ACK | F.PSH, seq: 999, ack: 123462, data: "HTTP/1.0 200" });
  h.send({ c2s: true, flags: F.ACK, seq: 123462, ack: 1011, data: " HTTP/1.0" });
  assert.equal(h.text(0, 0), "GET /x HTTP/1.0");
  assert.equal(h.text(0, 1), "HTTP/1.0 200");
  assert.equal(h.r.streams[0].stateName, "midstream");
});

Deno.test("zero-window segments are counted", () => {
  const h = new Harness();
  h.handshake(0, 0);
  h.send({ c2s: false, flags: F.ACK, seq: 1, ack: 1, window: 0 });
  h.send({ c2s: false, flags: F.ACK, seq: 1, ack: 1, window: 0 });
  assert.equal(h.r.streams[0].dirs[1].zeroWindow, 2);
});

Deno.test("idle connections are flushed after the timeout; end of input flushes the rest", () => {
  const h = new Harness({ idleTimeout: 30 });
  h.handshake(0, 0, 40001);
  h.send({ c2s: true, flags: F.ACK, seq: 5, ack: 1, data: "tail", sport: 40001, t: 1 });
  h.send({ c2s: true, flags: F.SYN, seq: 0, sport: 40002, t: 100 });
  assert.ok(h.ended.includes(0), "idle stream ended");
  assert.equal(h.text(0, 0), "tail");
  assert.equal(h.r.streams[0].dirs[0].missedBytes, 4);
  h.finish();
  assert.deepEqual(h.ended.sort(), [0, 1]);
});

Deno.test("ByteRing: ranges merge, first data wins, storage wraps in the buffer", () => {
  const budget = new RingBudget(1 << 20);
  const r = new ByteRing(8192, budget);
  assert.ok(r.ensure(4090, 4100));
  const src = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(r.store(4095, src, 0, 3), 0); // wraps at 4096 in a 4096-byte buffer
  assert.equal(r.capacity, 4096);
  assert.equal(r.store(4100, src, 5, 2), 0);
  assert.equal(r.count, 2);
  assert.equal(r.store(4097, src, 0, 4), 2); // overlaps 4097 and 4100, joins both ranges
  assert.equal(r.count, 1);
  assert.deepEqual([r.starts[0], r.ends[0]], [4095, 4102]);
  assert.deepEqual([4095, 4096, 4097, 4098, 4099, 4100, 4101].map((o) => r.at(o)), [1, 2, 3, 2, 3, 6, 7]);
  r.release();
  assert.equal(budget.used, 0);
});

Deno.test("fuzz: random segments never throw and memory stays within the caps", () => {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const sink: StreamSink = { onData() {}, onGap() {} };
  const budget = new RingBudget(1 << 16);
  const buf = new Uint8Array(3000);
  for (let conn = 0; conn < 50; conn++) {
    const d = new DirReassembler(
      0,
      { perDirection: 1 << 14, gapWindow: 1 << 14, gapTimeout: 5 },
      budget,
      sink,
    );
    if (rnd() < 0.5) d.syn((rnd() * 2 ** 32) >>> 0);
    const base = (rnd() * 2 ** 32) >>> 0;
    for (let i = 0; i < 300; i++) {
      const seq = rnd() < 0.1 ? (rnd() * 2 ** 32) >>> 0 : (base + Math.floor(rnd() * 200000) - 1000) >>> 0;
      const len = Math.floor(rnd() * 3000);
      d.segment(seq, buf, 0, len, i * 0.01);
      if (rnd() < 0.2) d.acked((base + Math.floor(rnd() * 200000)) >>> 0, i * 0.01);
      assert.ok(budget.used <= budget.limit);
      assert.ok(d.buffered() <= 1 << 14);
    }
    d.flush(10);
  }
  assert.equal(budget.used, 0);
});

Deno.test("buffered segments come out one call each (as tshark's follow chunks), whole across the ring end", () => {
  const calls: string[] = [];
  const sink: StreamSink = {
    onData(_dir, b, off, len) {
      calls.push(new TextDecoder().decode(b.subarray(off, off + len)));
    },
    onGap() {},
  };
  const d = new DirReassembler(
    0,
    { perDirection: 1 << 14, gapWindow: 1 << 14, gapTimeout: 5 },
    new RingBudget(1 << 20),
    sink,
  );
  d.syn(0);
  const seg = (seq: number, text: string) => {
    const b = new TextEncoder().encode(text);
    d.segment(seq, b, 0, b.length, 0);
  };
  // C and D touch and share one range in the ring, yet arrived as two segments.
  seg(1, "aaaa");
  seg(9, "cccc");
  seg(13, "dddd");
  seg(5, "bbbb");
  assert.deepEqual(calls, ["aaaa", "bbbb", "cccc", "dddd"]);
  // A segment stored across the 4 KiB ring's end (stream offsets 4000..4300 sit at ring slots
  // 4000..4095 and 0..204) is still delivered in one piece.
  calls.length = 0;
  const big = "x".repeat(3900 - 16);
  seg(17, big); // next = 3901
  seg(4001, "y".repeat(300));
  seg(3901, "z".repeat(100));
  assert.deepEqual(calls.map((c) => c.length), [big.length, 100, 300]);
  assert.equal(calls[2], "y".repeat(300));
});
