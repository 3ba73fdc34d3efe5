import assert from "node:assert/strict";
import { CaptureParser } from "../../lib/capture/parser.ts";
import { MppError } from "../../lib/errors.ts";
import { block, Bytes, concat, epb, frame, idb, parseAll, pb, shb, spb } from "./_build.ts";

function split64(v: bigint): [number, number] {
  return [Number(v >> 32n), Number(v & 0xffffffffn)];
}

Deno.test("pcapng: SHB and IDB options, default µs resolution, EPB with and without comment", () => {
  const le = true;
  const [hi, lo] = split64(1700000000123456n);
  const bytes = concat(
    shb(le, [{ code: 1, value: "section note" }, { code: 3, value: "Linux 6.1" }, {
      code: 4,
      value: "dumpcap",
    }]),
    idb(le, 1, 65535, [{ code: 2, value: "eth0" }, { code: 3, value: "uplink\0" }]),
    epb(le, 0, hi, lo, frame(61), { origLen: 1514 }),
    epb(le, 0, hi, lo + 1, frame(3), { opts: [{ code: 1, value: "hello ☃" }] }),
  );
  const { got, parser } = parseAll(bytes);
  assert.deepEqual(parser.issues, []);
  const info = parser.info!;
  assert.equal(info.format, "pcapng");
  assert.equal(info.byteOrder, "le");
  assert.equal(info.sectionComment, "section note");
  assert.equal(info.os, "Linux 6.1");
  assert.equal(info.application, "dumpcap");
  assert.deepEqual(info.interfaces, [{
    id: 0,
    linkType: 1,
    snaplen: 65535,
    tsUnitsPerSec: 1e6,
    tsOffsetSec: 0,
    fcsLen: 0,
    section: 0,
    name: "eth0",
    description: "uplink",
  }]);
  assert.equal(got.length, 2);
  assert.equal(got[0].tsSec, 1700000000);
  assert.equal(got[0].tsNsec, 123456000);
  assert.equal(got[0].origLen, 1514);
  assert.deepEqual(got[0].data, Array.from(frame(61)));
  assert.equal(got[0].comment, undefined);
  assert.equal(
    got[0].fileOffset,
    shb(le, [
      { code: 1, value: "section note" },
      { code: 3, value: "Linux 6.1" },
      { code: 4, value: "dumpcap" },
    ]).length + idb(le, 1, 65535, [{ code: 2, value: "eth0" }, { code: 3, value: "uplink\0" }]).length,
  );
  assert.equal(got[1].tsNsec, 123457000);
  assert.equal(got[1].comment, "hello ☃");
  assert.deepEqual(got[1].data, [...frame(3)]);
});

Deno.test("pcapng: big-endian section, if_tsresol 9 above 2^53 units, split exactly", () => {
  const le = false;
  const units = 1767663089500330493n; // > 2^53
  const [hi, lo] = split64(units);
  const bytes = concat(shb(le), idb(le, 1, 0, [{ code: 9, value: [9] }]), epb(le, 0, hi, lo, frame(10)));
  const { got, parser } = parseAll(bytes);
  assert.equal(parser.info?.byteOrder, "be");
  assert.equal(parser.info?.interfaces[0].tsUnitsPerSec, 1e9);
  assert.equal(got[0].tsSec, 1767663089);
  assert.equal(got[0].tsNsec, 500330493);
});

Deno.test("pcapng: binary if_tsresol (2^-n) and decimal 10^-12 convert exactly", () => {
  for (const le of [true, false]) {
    // 2^-20 s units; fraction 0xABCDE / 2^20 s.
    const units = (1700000000n << 20n) + 0xabcden;
    const [hi, lo] = split64(units);
    const bin = parseAll(
      concat(shb(le), idb(le, 1, 0, [{ code: 9, value: [0x80 | 20] }]), epb(le, 0, hi, lo, frame(4))),
    );
    assert.equal(bin.parser.info?.interfaces[0].tsUnitsPerSec, 2 ** 20);
    assert.equal(bin.got[0].tsSec, 1700000000);
    assert.equal(bin.got[0].tsNsec, Number((0xabcden * 1_000_000_000n) >> 20n));
    // Picoseconds: 10^12 units per second (64 bits hold about 213 days of them).
    const ps = 17000000n * 10n ** 12n + 123456789012n;
    const [h2, l2] = split64(ps);
    const dec = parseAll(
      concat(shb(le), idb(le, 1, 0, [{ code: 9, value: [12] }]), epb(le, 0, h2, l2, frame(4))),
    );
    assert.equal(dec.got[0].tsSec, 17000000);
    assert.equal(dec.got[0].tsNsec, 123456789);
  }
});

Deno.test("pcapng: if_tsoffset (positive and negative) and if_fcslen", () => {
  const le = true;
  const off = (v: bigint) =>
    new Bytes(le).u32(Number(BigInt.asUintN(64, v) & 0xffffffffn)).u32(Number(BigInt.asUintN(64, v) >> 32n))
      .build();
  const bytes = concat(
    shb(le),
    idb(le, 1, 0, [{ code: 14, value: off(1000n) }, { code: 13, value: [4] }]),
    idb(le, 1, 0, [{ code: 14, value: off(-5n) }]),
    epb(le, 0, 0, 2_000_000, frame(8)),
    epb(le, 1, 0, 7_500_000, frame(8)),
  );
  const { got, parser } = parseAll(bytes);
  assert.equal(parser.info?.interfaces[0].tsOffsetSec, 1000);
  assert.equal(parser.info?.interfaces[1].tsOffsetSec, -5);
  assert.equal(got[0].tsSec, 1002);
  assert.equal(got[0].fcsLen, 4);
  assert.equal(got[1].tsSec, 2);
  assert.equal(got[1].tsNsec, 500_000_000);
  assert.equal(got[1].interfaceId, 1);
  assert.equal(got[1].fcsLen, 0);
});

Deno.test("pcapng: Simple Packet Block has no timestamp, caplen = min(origLen, snaplen, room)", () => {
  const le = true;
  const bytes = concat(
    shb(le),
    idb(le, 1, 20),
    spb(le, 10, frame(12)), // origLen 10 < padded room 12
    spb(le, 100, frame(40)), // snaplen 20 cuts
    spb(le, 1000, frame(8)), // room 8 limits
  );
  const { got, parser } = parseAll(bytes);
  assert.deepEqual(parser.issues, []);
  assert.deepEqual(got.map((g) => g.data.length), [10, 20, 8]);
  assert.deepEqual(got.map((g) => g.origLen), [10, 100, 1000]);
  for (const g of got) {
    assert.equal(g.hasTimestamp, false);
    assert.equal(g.tsSec, 0);
    assert.equal(g.tsNsec, 0);
  }
  // snaplen 0 means unlimited.
  const u = parseAll(concat(shb(le), idb(le, 1, 0), spb(le, 40, frame(40))));
  assert.equal(u.got[0].data.length, 40);
});

Deno.test("pcapng: obsolete Packet Block (type 2) with a 16-bit interface id and comment", () => {
  for (const le of [true, false]) {
    const bytes = concat(
      shb(le),
      idb(le, 1),
      idb(le, 101),
      pb(le, 1, 0, 3_000_001, frame(9), [{ code: 1, value: "old" }]),
    );
    const { got } = parseAll(bytes);
    assert.equal(got.length, 1);
    assert.equal(got[0].interfaceId, 1);
    assert.equal(got[0].linkType, 101);
    assert.equal(got[0].tsSec, 3);
    assert.equal(got[0].tsNsec, 1000);
    assert.equal(got[0].comment, "old");
    assert.equal(got[0].hasTimestamp, true);
  }
});

Deno.test("pcapng: several sections with different byte order reset the interfaces", () => {
  const bytes = concat(
    shb(true, [{ code: 4, value: "first" }]),
    idb(true, 1),
    idb(true, 0),
    epb(true, 1, 0, 1, frame(5)),
    shb(false, [{ code: 4, value: "second" }]),
    idb(false, 113, 0, [{ code: 9, value: [9] }]),
    epb(false, 0, 0, 1, frame(6)),
    epb(false, 1, 0, 1, frame(6)), // interface 1 does not exist in this section
    shb(true),
    idb(true, 276),
    epb(true, 0, 0, 2, frame(7)),
  );
  const { got, parser } = parseAll(bytes);
  assert.equal(parser.info?.application, "first");
  assert.deepEqual(parser.info?.interfaces.map((i) => [i.section, i.id, i.linkType]), [
    [0, 0, 1],
    [0, 1, 0],
    [1, 0, 113],
    [2, 0, 276],
  ]);
  assert.deepEqual(got.map((g) => [g.section, g.interfaceId, g.linkType, g.tsNsec]), [
    [0, 1, 0, 1000],
    [1, 0, 113, 1],
    [2, 0, 276, 2000],
  ]);
  assert.equal(parser.issues.length, 1);
  assert.equal(parser.issues[0].fatal, false);
  assert.match(parser.issues[0].message, /names interface 1, but section 1 has 1: skipped/);
});

Deno.test("pcapng: NRB, ISB, DSB, custom and unknown blocks are skipped cleanly", () => {
  const le = true;
  const bytes = concat(
    shb(le),
    block(le, 4, new Bytes(le).u16(1).u16(8).bytes([10, 0, 0, 1, 0x61, 0x62, 0, 0]).u16(0).u16(0).build()),
    idb(le, 1),
    block(le, 0x0a, new Bytes(le).u32(0x544c534b).u32(4).bytes([1, 2, 3, 4]).build()),
    epb(le, 0, 0, 5, frame(5)),
    block(le, 5, new Bytes(le).u32(0).u32(0).u32(0).build()),
    block(le, 0xbad, new Bytes(le).u32(32473).bytes([1, 2, 3]).build()),
    block(le, 0x40000bad, new Bytes(le).u32(32473).build()),
    block(le, 0x12345678, new Uint8Array(0)),
    epb(le, 0, 0, 6, frame(6)),
  );
  const { got, parser } = parseAll(bytes);
  assert.deepEqual(parser.issues, []);
  assert.equal(got.length, 2);
  assert.equal(got[1].index, 1);
});

Deno.test("pcapng: bad block lengths are fatal where the block starts", () => {
  const le = true;
  const head = concat(shb(le), idb(le, 1), epb(le, 0, 0, 1, frame(4)));
  const at = head.length;
  const cases: [Uint8Array, string][] = [
    [
      new Bytes(le).u32(6).u32(8).u32(8).build(),
      `block 0x00000006 at byte ${at} has length 8: must be a multiple of 4 and at least 12`,
    ],
    [
      block(le, 4, new Uint8Array(16), { len: 30 }),
      `block 0x00000004 at byte ${at} has length 30: must be a multiple of 4 and at least 12`,
    ],
    [
      block(le, 5, new Uint8Array(16), { trailer: 24 }),
      `block 0x00000005 at byte ${at}: trailing length 24 disagrees with leading length 28`,
    ],
  ];
  for (const [bad, msg] of cases) {
    const { got, parser } = parseAll(concat(head, bad, epb(le, 0, 0, 2, frame(4))));
    assert.equal(got.length, 1, msg);
    assert.deepEqual(parser.issues, [{ offset: at, message: msg, fatal: true }]);
  }
});

Deno.test("pcapng: truncated last block, too-short packet blocks, caplen beyond limits", () => {
  const le = true;
  const head = concat(shb(le), idb(le, 1));
  const e = epb(le, 0, 0, 1, frame(40));
  const t = parseAll(concat(head, e, e.subarray(0, e.length - 10)));
  assert.equal(t.got.length, 1);
  const at = head.length + e.length;
  assert.deepEqual(t.parser.issues, [{
    offset: at,
    message: `truncated block at byte ${at}: block length says ${e.length} bytes, file ends after ${
      e.length - 10
    } (1 packets read)`,
    fatal: true,
  }]);
  const t2 = parseAll(concat(head, e.subarray(0, 7)));
  assert.match(t2.parser.issues[0].message, /block header is 12 bytes, file ends after 7/);

  const short = parseAll(concat(head, block(le, 6, new Uint8Array(12))));
  assert.match(
    short.parser.issues[0].message,
    /packet block at byte \d+ is 24 bytes long, less than the 32 minimum/,
  );

  const big = new Bytes(le).u32(0).u32(0).u32(0).u32(1000).u32(1000).bytes(frame(8)).build();
  const over = parseAll(concat(head, block(le, 6, big)));
  assert.match(
    over.parser.issues[0].message,
    /claims 1000 captured bytes, more than its 40-byte block holds/,
  );

  const limited = parseAll(concat(head, e), { maxCaplen: 39 });
  assert.equal(limited.parser.issues[0].offset, head.length + 20);
  assert.match(
    limited.parser.issues[0].message,
    /packet 1 at byte \d+ claims 40 captured bytes, more than the 39 maximum/,
  );
});

Deno.test("pcapng: unusable section header throws when nothing could be read", () => {
  const badBom = shb(true);
  badBom.set([1, 2, 3, 4], 8);
  assert.throws(() => parseAll(badBom), (err: unknown) => {
    assert.ok(err instanceof MppError);
    assert.equal(err.code, "bad_capture");
    assert.match(err.message, /section header block at byte 0 has byte-order magic 0x04030201/);
    return true;
  });
  assert.throws(() => parseAll(shb(true, [], 2)), /pcapng version 2\.0, expected 1\.x/);
  assert.throws(() => parseAll(shb(true).subarray(0, 20)), /truncated section header block at byte 0/);
});

Deno.test("pcapng: a block too large to buffer is skipped unseen across pushes", () => {
  const le = true;
  const maxCaplen = 1000;
  const huge = block(le, 0xbad, new Uint8Array(200_000));
  const bytes = concat(shb(le), idb(le, 1), epb(le, 0, 0, 1, frame(4)), huge, epb(le, 0, 0, 2, frame(5)));
  for (const split of [bytes.length, 4096, 777]) {
    const { got, parser } = parseAll(bytes, { maxCaplen, chunkSize: 1024, split });
    assert.deepEqual(parser.issues, [], `split ${split}`);
    assert.equal(got.length, 2);
    assert.equal(parser.bufferCapacity, 1024 + maxCaplen + 65536);
  }
  const cut = parseAll(bytes.subarray(0, bytes.length - 100_000), {
    maxCaplen,
    chunkSize: 1024,
    split: 5000,
  });
  assert.equal(cut.got.length, 1);
  assert.match(cut.parser.issues[0].message, /truncated block at byte \d+: block length says 200012 bytes/);
});

Deno.test("pcapng: any chunking gives the same records", () => {
  const parts = [shb(false), idb(false, 1, 0, [{ code: 9, value: [9] }]), idb(false, 0)];
  for (let i = 0; i < 30; i++) {
    parts.push(
      epb(
        false,
        i & 1,
        0x18000000,
        i * 77777,
        frame(1 + i * 5, i),
        i % 4 === 0 ? { opts: [{ code: 1, value: `c${i}` }] } : {},
      ),
    );
    if (i % 7 === 0) parts.push(spb(false, 50, frame(52)));
  }
  const bytes = concat(...parts);
  const whole = parseAll(bytes).got;
  assert.equal(whole.length, 35);
  for (const split of [1, 3, 12, 13, 64, 999]) {
    assert.deepEqual(parseAll(bytes, { split }).got, whole, `split ${split}`);
  }
});

Deno.test("parser: direct reads through writable()/commit() give the same records", () => {
  const parts = [shb(true), idb(true, 1)];
  for (let i = 0; i < 50; i++) parts.push(epb(true, 0, 0, i, frame(100 + i)));
  const bytes = concat(...parts);
  const want = parseAll(bytes).got.length;
  let n = 0;
  const p = new CaptureParser(() => n++, { chunkSize: 64 });
  let off = 0;
  while (off < bytes.length) {
    const region = p.writable();
    assert.ok(region.length >= 64);
    const k = Math.min(region.length, 97, bytes.length - off);
    region.set(bytes.subarray(off, off + k));
    p.commit(k);
    off += k;
  }
  p.end();
  assert.equal(n, want);
  assert.deepEqual(p.issues, []);
});

Deno.test("pcapng: decimal resolutions up to 1 ns split exactly for random 64-bit timestamps", () => {
  let x = 0x9e3779b97f4a7c15n;
  for (const exp of [0, 1, 3, 6, 9]) {
    const r = 10n ** BigInt(exp);
    const parts = [shb(true), idb(true, 1, 0, [{ code: 9, value: [exp] }])];
    const want: [number, number][] = [];
    for (let i = 0; i < 400; i++) {
      x = (x * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
      // Seconds must stay below 2^53 to be exact as a number.
      const v = x % (r * 2n ** 53n);
      const sec = v / r;
      want.push([Number(sec), Number((v - sec * r) * 10n ** BigInt(9 - exp))]);
      parts.push(epb(true, 0, Number(v >> 32n), Number(v & 0xffffffffn), frame(1)));
    }
    // Values next to second boundaries, where a rounded estimate is most likely off by one.
    for (const v of [r * 1767663089n - 1n, r * 1767663089n, r * 1767663089n + 1n, 0n, 1n]) {
      const sec = v / r;
      want.push([Number(sec), Number((v - sec * r) * 10n ** BigInt(9 - exp))]);
      parts.push(epb(true, 0, Number(v >> 32n), Number(v & 0xffffffffn), frame(1)));
    }
    const { got } = parseAll(concat(...parts));
    assert.deepEqual(got.map((g) => [g.tsSec, g.tsNsec]), want, `10^-${exp}`);
  }
});
