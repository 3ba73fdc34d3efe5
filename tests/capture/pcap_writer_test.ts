import assert from "node:assert/strict";
import { MemorySink } from "../../lib/capture/buffered_output.ts";
import { encodePcap, PcapWriter } from "../../lib/capture/pcap_writer.ts";
import { readCapture } from "../../lib/capture/reader.ts";
import { MppError } from "../../lib/errors.ts";
import { frame, parseAll } from "./_build.ts";

const recs = [
  { data: frame(60, 1), origLen: 60, tsSec: 1700000000, tsNsec: 123456789 },
  { data: frame(1514, 2), origLen: 9000, tsSec: 1700000001, tsNsec: 1 },
  { data: new Uint8Array(0), origLen: 0, tsSec: 0, tsNsec: 999999999 },
];

Deno.test("PcapWriter: ns file header and records read back identically", () => {
  const bytes = encodePcap(recs, { precision: "ns", linkType: 113, snaplen: 65535 });
  assert.deepEqual(Array.from(bytes.subarray(0, 4)), [0x4d, 0x3c, 0xb2, 0xa1]);
  const { got, parser } = parseAll(bytes);
  assert.equal(parser.info?.tsPrecision, "ns");
  assert.equal(parser.info?.interfaces[0].snaplen, 65535);
  assert.equal(got.length, 3);
  for (let i = 0; i < recs.length; i++) {
    assert.deepEqual(got[i].data, Array.from(recs[i].data));
    assert.equal(got[i].origLen, recs[i].origLen);
    assert.equal(got[i].tsSec, recs[i].tsSec);
    assert.equal(got[i].tsNsec, recs[i].tsNsec);
    assert.equal(got[i].linkType, 113);
  }
  assert.equal(bytes.length, 24 + 3 * 16 + 60 + 1514);
});

Deno.test("PcapWriter: µs files floor nanoseconds; snaplen cuts data and keeps origLen; FCS bits", () => {
  const bytes = encodePcap(recs, { snaplen: 100, fcsLen: 4 });
  assert.deepEqual(Array.from(bytes.subarray(0, 4)), [0xd4, 0xc3, 0xb2, 0xa1]);
  const { got, parser } = parseAll(bytes);
  assert.equal(parser.info?.tsPrecision, "us");
  assert.equal(got[0].tsNsec, 123456000);
  assert.equal(got[1].tsNsec, 0);
  assert.equal(got[1].data.length, 100);
  assert.equal(got[1].origLen, 9000);
  assert.equal(got[0].fcsLen, 4);
  assert.equal(got[0].linkType, 1);
});

Deno.test("PcapWriter: bad options are MppErrors", () => {
  assert.throws(() => new PcapWriter(new MemorySink(), { linkType: 70000 }), MppError);
  assert.throws(() => new PcapWriter(new MemorySink(), { snaplen: 0 }), MppError);
  assert.throws(() => new PcapWriter(new MemorySink(), { fcsLen: 3 }), MppError);
});

Deno.test("PcapWriter: file output batches writes; bytesWritten and records track every record", async () => {
  const path = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    let writes = 0;
    const file = await Deno.open(path, { write: true, truncate: true });
    const counting = {
      writeSync(p: Uint8Array): number {
        writes++;
        return file.writeSync(p);
      },
      close(): void {
        file.close();
      },
    };
    const w = new PcapWriter(counting, { bufferSize: 64 * 1024 });
    for (let i = 0; i < 5000; i++) w.write(frame(100, i), 100, i, i * 1000);
    assert.equal(w.records, 5000);
    assert.equal(w.bytesWritten, 24 + 5000 * 116);
    await w.close();
    assert.ok(writes <= Math.ceil((24 + 5000 * 116) / (64 * 1024)) + 1, `${writes} writes`);
    assert.equal((await Deno.stat(path)).size, w.bytesWritten);
    let n = 0;
    const r = await readCapture(path, (rec) => {
      assert.equal(rec.tsSec, n);
      assert.deepEqual(rec.data, frame(100, n));
      n++;
    });
    assert.equal(r.records, 5000);
    assert.throws(() => w.write(frame(1), 1, 0, 0), /closed capture writer/);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("PcapWriter: create() opens a file; `using` closes it; bad paths are MppErrors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/out.pcap`;
    {
      using w = await PcapWriter.create(path, { precision: "ns" });
      w.write(frame(10), 10, 5, 6);
    }
    const { got } = parseAll(await Deno.readFile(path));
    assert.equal(got.length, 1);
    assert.equal(got[0].tsNsec, 6);
    await assert.rejects(PcapWriter.create(`${dir}/missing/out.pcap`), (e: unknown) => {
      return e instanceof MppError && e.code === "not_found" && e.hint.length > 0;
    });
    await assert.rejects(PcapWriter.create(dir), MppError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("PcapWriter: stream sink gets whole buffers, never mutated after hand-over", async () => {
  const chunks: Uint8Array[] = [];
  let closed = false;
  const stream = new WritableStream<Uint8Array>({
    async write(c) {
      await new Promise((r) => setTimeout(r, 1));
      chunks.push(c);
    },
    close() {
      closed = true;
    },
  });
  const w = new PcapWriter(stream.getWriter(), { bufferSize: 1000 });
  for (let i = 0; i < 200; i++) w.write(frame(50, i), 50, i, 0);
  await w.flush();
  assert.ok(chunks.length > 5);
  await w.close();
  assert.equal(closed, true);
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.length;
  }
  assert.equal(all.length, w.bytesWritten);
  const { got } = parseAll(all);
  assert.equal(got.length, 200);
  assert.deepEqual(got[199].data, Array.from(frame(50, 199)));
});

Deno.test("PcapWriter: a failing stream sink surfaces its error on flush", async () => {
  const stream = new WritableStream<Uint8Array>({
    write() {
      throw new Error("disk full");
    },
  });
  const w = new PcapWriter(stream.getWriter(), { bufferSize: 100, keepOpen: true });
  for (let i = 0; i < 10; i++) w.write(frame(50), 50, 0, 0);
  await assert.rejects(w.flush(), /disk full/);
  assert.throws(() => w.closeSync(), /asynchronous sink/);
});

Deno.test("PcapWriter: flushSync makes the file complete up to the last record without closing", async () => {
  const path = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    const w = await PcapWriter.create(path, { bufferSize: 1 << 20 });
    w.write(frame(40), 40, 1, 0);
    assert.equal((await Deno.stat(path)).size, 0);
    w.flushSync();
    assert.equal((await Deno.stat(path)).size, 24 + 16 + 40);
    assert.equal(parseAll(await Deno.readFile(path)).got.length, 1);
    w.write(frame(40), 40, 2, 0);
    w.closeSync();
    assert.equal(parseAll(await Deno.readFile(path)).got.length, 2);
  } finally {
    await Deno.remove(path);
  }
});
