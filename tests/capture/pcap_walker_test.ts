import assert from "node:assert/strict";
import { CaptureParser } from "../../lib/capture/parser.ts";
import { MppError } from "../../lib/errors.ts";
import { Bytes, concat, frame, parseAll, pcapHeader, pcapRecord } from "./_build.ts";

Deno.test("pcap: little-endian µs file gives records with ns timestamps, offsets and header facts", () => {
  const d1 = frame(60, 1);
  const d2 = frame(42, 2);
  const bytes = concat(
    pcapHeader({ le: true, snaplen: 1500, linkTypeWord: 1 }),
    pcapRecord(true, 1700000000, 123456, d1, 60),
    pcapRecord(true, 1700000001, 999999, d2, 100),
  );
  const { got, parser } = parseAll(bytes);
  assert.equal(parser.records, 2);
  assert.deepEqual(parser.issues, []);
  assert.equal(parser.info?.format, "pcap");
  assert.equal(parser.info?.byteOrder, "le");
  assert.equal(parser.info?.tsPrecision, "us");
  assert.equal(parser.info?.interfaces[0].snaplen, 1500);
  assert.equal(parser.info?.interfaces[0].tsUnitsPerSec, 1e6);
  assert.deepEqual(got[0].data, Array.from(d1));
  assert.equal(got[0].tsSec, 1700000000);
  assert.equal(got[0].tsNsec, 123456000);
  assert.equal(got[0].fileOffset, 24);
  assert.equal(got[0].index, 0);
  assert.equal(got[0].linkType, 1);
  assert.equal(got[0].hasTimestamp, true);
  assert.equal(got[1].origLen, 100);
  assert.equal(got[1].tsNsec, 999999000);
  assert.equal(got[1].fileOffset, 24 + 16 + 60);
  assert.equal(got[1].index, 1);
});

Deno.test("pcap: big-endian ns file keeps nanoseconds and reads big-endian headers", () => {
  const bytes = concat(
    pcapHeader({ le: false, ns: true, linkTypeWord: 113 }),
    pcapRecord(false, 0x5a5a5a5a, 987654321, frame(20)),
  );
  const { got, parser } = parseAll(bytes);
  assert.equal(parser.info?.byteOrder, "be");
  assert.equal(parser.info?.tsPrecision, "ns");
  assert.equal(got.length, 1);
  assert.equal(got[0].tsSec, 0x5a5a5a5a);
  assert.equal(got[0].tsNsec, 987654321);
  assert.equal(got[0].linkType, 113);
  assert.deepEqual(got[0].data, Array.from(frame(20)));
});

Deno.test("pcap: little-endian ns and big-endian µs magic both detected", () => {
  const le = parseAll(concat(pcapHeader({ le: true, ns: true }), pcapRecord(true, 5, 7, frame(4))));
  assert.equal(le.got[0].tsNsec, 7);
  const be = parseAll(concat(pcapHeader({ le: false, ns: false }), pcapRecord(false, 5, 7, frame(4))));
  assert.equal(be.got[0].tsNsec, 7000);
});

Deno.test("pcap: FCS length in the link-type word is read only when the F bit (26) is set", () => {
  // 2 sixteen-bit words of FCS = 4 bytes, link type 1.
  const withF = parseAll(
    concat(
      pcapHeader({ linkTypeWord: (1 | 0x04000000 | (2 << 28)) >>> 0 }),
      pcapRecord(true, 1, 0, frame(64)),
    ),
  );
  assert.equal(withF.got[0].linkType, 1);
  assert.equal(withF.got[0].fcsLen, 4);
  assert.equal(withF.parser.info?.interfaces[0].fcsLen, 4);
  const noF = parseAll(
    concat(pcapHeader({ linkTypeWord: (105 | (2 << 28)) >>> 0 }), pcapRecord(true, 1, 0, frame(64))),
  );
  assert.equal(noF.got[0].linkType, 105);
  assert.equal(noF.got[0].fcsLen, 0);
});

Deno.test("pcap: caplen above snaplen is tolerated up to maxCaplen", () => {
  const bytes = concat(pcapHeader({ snaplen: 68 }), pcapRecord(true, 1, 0, frame(200)));
  const { got, parser } = parseAll(bytes);
  assert.equal(got.length, 1);
  assert.equal(got[0].data.length, 200);
  assert.deepEqual(parser.issues, []);
});

Deno.test("pcap: caplen above maxCaplen is fatal at the length field, earlier records delivered", () => {
  const good = pcapRecord(true, 1, 0, frame(30));
  const bad = pcapRecord(true, 2, 0, frame(10), 10, 0xffffff);
  const bytes = concat(pcapHeader(), good, good, bad, good);
  const { got, parser } = parseAll(bytes);
  assert.equal(got.length, 2);
  const at = 24 + 2 * good.length + 8;
  assert.deepEqual(parser.issues, [{
    offset: at,
    message: `record 3 at byte ${at} claims 16777215 captured bytes, more than the 262144 maximum`,
    fatal: true,
  }]);
  assert.equal(parser.stopped, true);
  // A smaller limit applies too.
  const small = parseAll(concat(pcapHeader(), pcapRecord(true, 1, 0, frame(100))), { maxCaplen: 99 });
  assert.equal(small.got.length, 0);
  assert.match(small.parser.issues[0].message, /claims 100 captured bytes, more than the 99 maximum/);
});

Deno.test("pcap: truncated last record and truncated record header are reported where they start", () => {
  const r = pcapRecord(true, 1, 0, frame(50));
  const cut = concat(pcapHeader(), r, r.subarray(0, 16 + 20));
  const a = parseAll(cut);
  assert.equal(a.got.length, 1);
  const at = 24 + r.length;
  assert.deepEqual(a.parser.issues, [{
    offset: at,
    message: `truncated record 2 at byte ${at}: header says 50 captured bytes, file ends after 20`,
    fatal: true,
  }]);
  const b = parseAll(concat(pcapHeader(), r, r.subarray(0, 9)));
  assert.equal(b.got.length, 1);
  assert.equal(
    b.parser.issues[0].message,
    `truncated record 2 at byte ${at}: record header is 16 bytes, file ends after 9`,
  );
});

Deno.test("pcap: any chunking gives the same records (tail kept across pushes)", () => {
  const parts = [pcapHeader({ ns: true })];
  for (let i = 0; i < 40; i++) parts.push(pcapRecord(true, 1000 + i, i * 1000 + 1, frame(1 + i * 3, i), 500));
  const bytes = concat(...parts);
  const whole = parseAll(bytes).got;
  assert.equal(whole.length, 40);
  for (const split of [1, 2, 3, 7, 16, 17, 100, 1000]) {
    assert.deepEqual(parseAll(bytes, { split }).got, whole, `split ${split}`);
  }
});

Deno.test("pcap: header only is a valid empty capture", () => {
  const { got, parser } = parseAll(pcapHeader());
  assert.equal(got.length, 0);
  assert.deepEqual(parser.issues, []);
  assert.equal(parser.info?.format, "pcap");
});

Deno.test("bad input: garbage header, empty input and a cut file header throw bad_capture", () => {
  const garbage = new TextEncoder().encode("<html><body>not a capture</body></html>");
  const p1 = new CaptureParser(() => {});
  assert.throws(() => p1.push(garbage), (e: unknown) => {
    assert.ok(e instanceof MppError);
    assert.equal(e.code, "bad_capture");
    assert.equal(
      e.message,
      "not a capture file: unknown magic 0x3c68746d at byte 0 (expected pcap or pcapng)",
    );
    assert.ok(e.hint.length > 0);
    return true;
  });
  assert.equal(p1.issues[0].fatal, true);

  const p2 = new CaptureParser(() => {});
  assert.throws(
    () => p2.end(),
    (e: unknown) => e instanceof MppError && e.message === "empty file (0 bytes)",
  );
  assert.deepEqual(p2.issues, [{ offset: 0, message: "empty file (0 bytes)", fatal: true }]);

  const p3 = new CaptureParser(() => {});
  p3.push(pcapHeader().subarray(0, 10));
  assert.throws(
    () => p3.end(),
    (e: unknown) =>
      e instanceof MppError &&
      e.message === "truncated pcap file header: 24 bytes needed, input ends after 10",
  );

  const p4 = new CaptureParser(() => {});
  p4.push(Uint8Array.of(0xd4, 0xc3));
  assert.throws(() => p4.end(), /too short for a pcap or pcapng header/);

  const p5 = new CaptureParser(() => {});
  assert.throws(() => p5.push(Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0)), /gzip-compressed input/);
});

Deno.test("bad input: parser options are validated", () => {
  assert.throws(() => new CaptureParser(() => {}, { maxCaplen: -1 }), MppError);
  assert.throws(() => new CaptureParser(() => {}, { chunkSize: 0.5 }), MppError);
});

Deno.test("pcap: Kuznetsov's modified format (magic 0xa1b2cd34) has 24-byte record headers", () => {
  for (const le of [true, false]) {
    const hdr = new Bytes(le).u32(0xa1b2cd34).u16(2).u16(4).u32(0).u32(0).u32(65535).u32(1).build();
    const rec = (sec: number, usec: number, d: Uint8Array) =>
      new Bytes(le).u32(sec).u32(usec).u32(d.length).u32(d.length).u32(3).u16(0x0800).u8(0).u8(0).bytes(d)
        .build();
    const { got, parser } = parseAll(concat(hdr, rec(10, 5, frame(30, 1)), rec(11, 6, frame(31, 2))));
    assert.deepEqual(parser.issues, []);
    assert.equal(parser.info?.tsPrecision, "us");
    assert.deepEqual(got.map((g) => [g.tsSec, g.tsNsec, g.data.length, g.fileOffset]), [
      [10, 5000, 30, 24],
      [11, 6000, 31, 24 + 24 + 30],
    ]);
    assert.deepEqual(got[1].data, Array.from(frame(31, 2)));
    const cut = parseAll(concat(hdr, rec(10, 5, frame(30, 1)).subarray(0, 20)));
    assert.match(cut.parser.issues[0].message, /record header is 24 bytes, file ends after 20/);
  }
});
