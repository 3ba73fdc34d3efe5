import assert from "node:assert/strict";
import { CaptureParser } from "../../lib/capture/parser.ts";
import { encodePcap } from "../../lib/capture/pcap_writer.ts";
import { encodePcapng } from "../../lib/capture/pcapng_writer.ts";

function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x;
  };
}

/** Records of random lengths, some close to the 262144 maximum so they span many chunks. */
function records(n: number, seed: number) {
  const rnd = lcg(seed);
  const payload = new Uint8Array(262144);
  for (let i = 0; i < payload.length; i++) payload[i] = rnd() >>> 24;
  const out = [];
  for (let i = 0; i < n; i++) {
    const r = rnd();
    const len = i % 97 === 0 ? 262144 - (r % 64) : 1 + (r % 3000);
    out.push({
      data: payload.subarray(0, len),
      origLen: len + (r % 5),
      tsSec: 1_600_000_000 + i,
      tsNsec: r % 1e9,
    });
  }
  return out;
}

function checksum(d: Uint8Array): number {
  let h = 0;
  for (let i = 0; i < d.length; i++) h = (Math.imul(h, 31) + d[i]) >>> 0;
  return h;
}

for (const format of ["pcap", "pcapng"] as const) {
  Deno.test(`parser: bounded buffer over a large ${format} stream pushed in small random chunks`, () => {
    const recs = records(3000, format === "pcap" ? 7 : 8);
    const bytes = format === "pcap"
      ? encodePcap(recs, { precision: "ns" })
      : encodePcapng(recs, { interfaces: [{ linkType: 1, precision: "ns" }] });
    assert.ok(bytes.length > 10_000_000, `stream is ${bytes.length} bytes`);
    const chunkSize = 65536;
    let n = 0;
    let sum = 0;
    const want = recs.reduce((s, r) => (s + checksum(r.data)) >>> 0, 0);
    const p = new CaptureParser((r) => {
      assert.equal(r.data.length, recs[n].data.length);
      assert.equal(r.tsNsec, recs[n].tsNsec);
      sum = (sum + checksum(r.data)) >>> 0;
      n++;
    }, { chunkSize });
    const capacity = p.bufferCapacity;
    assert.equal(capacity, chunkSize + 262144 + 65536);
    const rnd = lcg(99);
    let off = 0;
    while (off < bytes.length) {
      const k = 1 + (rnd() % 40000);
      p.push(bytes.subarray(off, Math.min(bytes.length, off + k)));
      off += k;
      assert.equal(p.bufferCapacity, capacity);
    }
    p.end();
    assert.deepEqual(p.issues, []);
    assert.equal(n, recs.length);
    assert.equal(sum, want);
    assert.equal(p.bytesConsumed, bytes.length);
  });
}

Deno.test("parser: push after end is refused; input after a fatal issue is ignored", () => {
  const bytes = encodePcap([{ data: new Uint8Array(10), tsSec: 1, tsNsec: 0 }]);
  const p = new CaptureParser(() => {});
  p.push(bytes);
  p.end();
  assert.throws(() => p.push(bytes), /push after end/);

  let n = 0;
  const q = new CaptureParser(() => n++, { maxCaplen: 5 });
  q.push(bytes);
  q.push(bytes);
  q.end();
  assert.equal(n, 0);
  assert.equal(q.issues.length, 1);
  assert.equal(q.stopped, true);
});

Deno.test("parser: non-fatal issues are capped so memory stays bounded", () => {
  // 300 packets naming an interface that does not exist: each one is a warning, only 100 kept.
  const recs = Array.from({ length: 300 }, (_, i) => ({ data: new Uint8Array(4), tsSec: i, tsNsec: 0 }));
  const bytes = encodePcapng(recs, { interfaces: [{ linkType: 1 }] });
  // Rewrite every EPB's interface id to 7.
  const dv = new DataView(bytes.buffer);
  let pos = 0;
  while (pos < bytes.length) {
    const type = dv.getUint32(pos, true);
    const len = dv.getUint32(pos + 4, true);
    if (type === 6) dv.setUint32(pos + 8, 7, true);
    pos += len;
  }
  let n = 0;
  const p = new CaptureParser(() => n++);
  p.push(bytes);
  p.end();
  assert.equal(n, 0);
  assert.equal(p.issues.length, 100);
  assert.equal(p.droppedIssues, 200);
  assert.ok(p.issues.every((i) => !i.fatal));
});

Deno.test("parser: a throwing sink stops the read; no record is delivered twice", () => {
  const bytes = encodePcap(
    Array.from({ length: 5 }, (_, i) => ({ data: new Uint8Array(8), tsSec: i, tsNsec: 0 })),
  );
  const seen: number[] = [];
  const p = new CaptureParser((r) => {
    seen.push(r.tsSec);
    if (r.tsSec === 2) throw new Error("consumer broke");
  });
  assert.throws(() => p.push(bytes), /consumer broke/);
  p.push(bytes);
  p.end();
  assert.deepEqual(seen, [0, 1, 2]);
  assert.equal(p.issues.length, 1);
  assert.equal(p.issues[0].fatal, true);
  assert.match(p.issues[0].message, /record consumer failed at record 3: consumer broke/);
});
