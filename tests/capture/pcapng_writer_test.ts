import assert from "node:assert/strict";
import { MemorySink } from "../../lib/capture/buffered_output.ts";
import { encodePcapng, PcapngWriter } from "../../lib/capture/pcapng_writer.ts";
import { MppError } from "../../lib/errors.ts";
import { frame, parseAll } from "./_build.ts";

Deno.test("PcapngWriter: SHB userappl, IDB name and tsresol, EPBs with comments read back identically", () => {
  const recs = [
    { data: frame(61, 1), origLen: 61, tsSec: 1767663089, tsNsec: 500330493, interfaceId: 0 },
    {
      data: frame(3, 2),
      origLen: 1500,
      tsSec: 1767663437,
      tsNsec: 140942123,
      interfaceId: 1,
      comment: "µs here ☃",
    },
    { data: new Uint8Array(0), origLen: 0, tsSec: 4294967295, tsNsec: 999999999, interfaceId: 0 },
  ];
  const bytes = encodePcapng(recs, {
    os: "Linux",
    comment: "made by a test",
    interfaces: [
      { linkType: 1, name: "eth0", description: "first", precision: "ns" },
      { linkType: 276, name: "any", precision: "us", snaplen: 2048, fcsLen: 4 },
    ],
  });
  const { got, parser } = parseAll(bytes);
  assert.deepEqual(parser.issues, []);
  const info = parser.info!;
  assert.equal(info.format, "pcapng");
  assert.equal(info.application, "mpp");
  assert.equal(info.os, "Linux");
  assert.equal(info.sectionComment, "made by a test");
  assert.deepEqual(info.interfaces.map((i) => [i.name, i.linkType, i.tsUnitsPerSec, i.snaplen, i.fcsLen]), [
    ["eth0", 1, 1e9, 262144, 0],
    ["any", 276, 1e6, 2048, 4],
  ]);
  assert.equal(info.interfaces[0].description, "first");
  assert.equal(got.length, 3);
  assert.deepEqual(got[0].data, Array.from(recs[0].data));
  assert.equal(got[0].tsSec, 1767663089);
  assert.equal(got[0].tsNsec, 500330493);
  assert.equal(got[0].comment, undefined);
  assert.equal(got[1].interfaceId, 1);
  assert.equal(got[1].linkType, 276);
  assert.equal(got[1].tsNsec, 140942000);
  assert.equal(got[1].origLen, 1500);
  assert.equal(got[1].comment, "µs here ☃");
  assert.equal(got[2].tsSec, 4294967295);
  assert.equal(got[2].tsNsec, 999999999);
  assert.equal(bytes.length % 4, 0);
});

Deno.test("PcapngWriter: addInterface later, snaplen cut, undeclared interface is an MppError", () => {
  const sink = new MemorySink();
  const w = new PcapngWriter(sink);
  assert.throws(
    () => w.write(frame(4), 4, 0, 0),
    (e: unknown) => e instanceof MppError && e.code === "bad_usage",
  );
  const id = w.addInterface({ linkType: 101, snaplen: 10 });
  assert.equal(id, 0);
  w.write(frame(40), 40, 1, 2, id);
  assert.equal(w.records, 1);
  assert.equal(w.interfaces, 1);
  w.closeSync();
  const bytes = sink.bytes();
  assert.equal(w.bytesWritten, bytes.length);
  const { got } = parseAll(bytes);
  assert.equal(got[0].data.length, 10);
  assert.equal(got[0].origLen, 40);
  assert.equal(got[0].linkType, 101);
  assert.throws(() => new PcapngWriter(new MemorySink()).addInterface({ linkType: -1 }), MppError);
});

Deno.test("PcapngWriter: streams to a WritableStream and disposes asynchronously", async () => {
  const chunks: Uint8Array[] = [];
  const stream = new WritableStream<Uint8Array>({ write: (c) => void chunks.push(c) });
  {
    await using w = new PcapngWriter(stream.getWriter(), { bufferSize: 512, interfaces: [{ linkType: 1 }] });
    for (let i = 0; i < 100; i++) w.write(frame(30, i), 30, i, i, 0, i % 10 === 0 ? `n${i}` : undefined);
  }
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.length;
  }
  const { got } = parseAll(all);
  assert.equal(got.length, 100);
  assert.equal(got[50].comment, "n50");
  assert.equal(got[51].comment, undefined);
  assert.deepEqual(got[99].data, Array.from(frame(30, 99)));
});
