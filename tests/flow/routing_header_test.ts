/**
 * IPv6 routing headers with segments left (SRv6, Mobile IPv6, type 0): the transport's peer is the
 * final destination (RFC 8200 8.1), so a connection whose one direction carries a segment list and
 * whose other does not is one flow, one TCP/UDP conversation, while its IPv6 conversations stay
 * between the header's addresses, as tshark's tables are.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as B from "../../lib/packet/build.ts";
import { ip6Bytes } from "../../lib/packet/build_bytes.ts";
import { PcapWriter } from "../../lib/capture/mod.ts";
import { CaptureRecord } from "../../lib/capture/record.ts";
import { Packet } from "../../lib/packet/packet.ts";
import { PacketDecoder } from "../../lib/packet/decoder.ts";
import { analyzeFiles } from "../../lib/flow/analyze_files.ts";
import { haveTool, testIf } from "../_util/corpus.ts";
import { parseConv, parseEndpoints, tshark } from "../_util/tshark.ts";

const C = "2001:db8::1", S = "2001:db8::2", SEG = "2001:db8:ff::1", SEG2 = "2001:db8:ff::2";

/** A routing header body (after next-header and length): type, segments left, then its addresses. */
function routing(type: number, left: number, addrs: string[]): Uint8Array {
  const b = new Uint8Array(6 + 16 * addrs.length);
  b[0] = type;
  b[1] = left;
  if (type === 4) b[2] = addrs.length - 1; // last entry
  addrs.forEach((a, i) => b.set(ip6Bytes(a), 6 + 16 * i));
  return b;
}

function frame(
  src: string,
  dst: string,
  tcpDst: string,
  rh: Uint8Array | null,
  fromC: boolean,
  flags: number,
) {
  const seg = B.tcp({
    sport: fromC ? 40000 : 80,
    dport: fromC ? 80 : 40000,
    seq: fromC ? 100 : 500,
    ack: 1,
    flags,
    payload: new Uint8Array(0),
    src,
    dst: tcpDst,
  });
  return B.ethernet({
    src: "02:00:00:00:00:01",
    dst: "02:00:00:00:00:02",
    etherType: 0x86dd,
    payload: B.ipv6({
      src,
      dst,
      nextHeader: 6,
      payload: seg,
      extHeaders: rh ? [{ type: 43, body: rh }] : [],
    }),
  });
}

function decode(f: Uint8Array): Packet {
  const rec = new CaptureRecord();
  rec.linkType = 1;
  rec.data = f;
  rec.origLen = f.length;
  const p = new Packet();
  new PacketDecoder().decode(rec, p);
  return p;
}

const hex = (w: Uint32Array) => [...w].map((x) => x.toString(16).padStart(8, "0")).join("");
const words = (a: string) => {
  const b = ip6Bytes(a), dv = new DataView(b.buffer, b.byteOffset);
  return new Uint32Array([0, 4, 8, 12].map((o) => dv.getUint32(o)));
};

Deno.test("the final destination of routing types 0, 2 and 4 with segments left; none otherwise", () => {
  const cases: [Uint8Array, string | null][] = [
    [routing(4, 1, [S, SEG]), S], // SRv6: segment list[0] is the last segment
    [routing(4, 0, [S, SEG]), null], // no segments left: the header's destination is final
    [routing(0, 2, [SEG2, S]), S], // type 0: the last address
    [routing(2, 1, [S]), S], // Mobile IPv6: the home address
    [routing(3, 1, [S]), null], // RPL (compressed): not followed
  ];
  for (const [rh, final] of cases) {
    const p = decode(frame(C, SEG, S, rh, true, 2));
    assert.equal(p.routed, final !== null, `type ${rh[0]} left ${rh[1]}`);
    if (final !== null) assert.equal(hex(p.finalDst), hex(words(final)));
    assert.equal(p.srcPort, 40000, "the transport behind the header is decoded");
  }
  // An address cut by the snaplen: the header's destination stays the transport's.
  const full = frame(C, SEG, S, routing(4, 1, [S, SEG]), true, 2);
  const rec = new CaptureRecord();
  rec.linkType = 1;
  rec.data = full.subarray(0, 14 + 40 + 8 + 8);
  rec.origLen = full.length;
  const p = new Packet();
  new PacketDecoder().decode(rec, p);
  assert.equal(p.routed, false);
});

async function srv6Capture(dir: string): Promise<string> {
  const file = join(dir, "srv6.pcap");
  const w = await PcapWriter.create(file, { linkType: 1, precision: "ns" });
  let k = 0;
  const put = (f: Uint8Array) => w.write(f, f.length, 1_700_000_000, 1000 * k++, 0);
  // The client's segments go through SEG (an SRH with one segment left), the server answers directly;
  // a second connection from the same client is plain both ways first, then routed.
  put(frame(C, SEG, S, routing(4, 1, [S, SEG]), true, 0x02));
  put(frame(S, C, C, null, false, 0x12));
  put(frame(C, SEG, S, routing(4, 1, [S, SEG]), true, 0x10));
  put(frame(C, S, S, null, true, 0x18));
  put(frame(C, SEG2, S, routing(0, 1, [S]), true, 0x18));
  put(frame(S, C, C, null, false, 0x11));
  await w.close();
  return file;
}

Deno.test("an SRv6 connection is one flow and one TCP row; its IPv6 rows follow the headers", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mpp-srv6-" });
  try {
    const { report } = await analyzeFiles([await srv6Capture(dir)], { threads: 1 });
    assert.equal(report.flows.length, 1);
    assert.equal(report.flows[0].packets, 6);
    assert.equal(report.flows[0].label, `[${C}]:40000 → [${S}]:80`);
    assert.equal(report.conversations.tcp.length, 1);
    const v6 = report.conversations.ipv6.map((r) =>
      `${r.a} ${r.b} ${r.aToBPackets} ${r.bToAPackets} ${r.relStart}`
    );
    assert.deepEqual(
      v6.sort(),
      [
        `${S} ${C} 2 1 0.000001`, // the plain frames (2, 4, 6): A sent the first of them
        `${C} ${SEG} 2 0 0`,
        `${C} ${SEG2} 1 0 0.000004`,
      ].sort(),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

testIf(
  haveTool("tshark"),
  "tshark not installed",
  "an SRv6 connection: every conv and endpoints table equals tshark's",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "mpp-srv6-" });
    try {
      const file = await srv6Capture(dir);
      const { report } = await analyzeFiles([file], { threads: 1 });
      const out = await tshark([
        "-r",
        file,
        "-q",
        ...["tcp", "ipv6"].flatMap((t) => ["-z", `conv,${t}`, "-z", `endpoints,${t}`]),
      ]);
      const norm = (a: string) => a.replace(/^\[(.*)\]:(\d+)$/, "$1:$2");
      for (const [t, title] of [["tcp", "TCP"], ["ipv6", "IPv6"]] as const) {
        const sig = (a: string, b: string, ab: number, ba: number, s: number) =>
          `${a} ${b} ${ab} ${ba} ${s.toFixed(9)}`;
        assert.deepEqual(
          report.conversations[t].map((r) =>
            sig(norm(r.a), norm(r.b), r.aToBPackets, r.bToAPackets, r.relStart)
          ).sort(),
          parseConv(out, `${title} Conversations`).map((c) =>
            sig(c.a, c.b, c.aToBFrames, c.bToAFrames, c.relStart)
          ).sort(),
          `conv,${t}`,
        );
        const ep = (a: string, n: number, by: number) => `${a} ${n} ${by}`;
        assert.deepEqual(
          report.endpoints[t].map((e) => ep(norm(e.address), e.packets, e.bytes)).sort(),
          parseEndpoints(out, `${title} Endpoints`, t === "tcp").map((e) => ep(e.address, e.packets, e.bytes))
            .sort(),
          `endpoints,${t}`,
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
