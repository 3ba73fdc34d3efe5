import assert from "node:assert/strict";
import { Packet } from "../../lib/packet/packet.ts";
import { Layer } from "../../lib/packet/layers.ts";
import { ProtocolHierarchy } from "../../lib/flow/phs.ts";
import { IO_MAX_BUCKETS, IoStat } from "../../lib/flow/io_stat.ts";
import { macLabel, macNumber, PairTable } from "../../lib/flow/pair_table.ts";

function pkt(layers: number[], len: number, frag = false): Packet {
  const p = new Packet();
  for (const l of layers) p.pushLayer(l);
  p.origLen = len;
  p.isFragment = frag;
  return p;
}

Deno.test("protocol hierarchy counts frames per path like tshark io,phs", () => {
  const h = new ProtocolHierarchy();
  h.setAppName(Layer.APP_BASE + 1, "dns");
  h.add(pkt([Layer.ETH, Layer.IPV4, Layer.UDP], 100), Layer.APP_BASE + 1);
  h.add(pkt([Layer.ETH, Layer.IPV4, Layer.UDP], 60), 0);
  h.add(pkt([Layer.ETH, Layer.IPV4], 1500, true), 0);
  h.add(pkt([Layer.ETH, Layer.IPV6, Layer.IPV6_FRAG], 1500, true), 0);
  h.add(pkt([Layer.SLL2, Layer.ARP], 42), 0);
  h.add(pkt([Layer.SLL, Layer.ARP], 42), 0);
  const m = Object.fromEntries(h.entries().map((e) => [e.path, e.packets]));
  assert.deepEqual(m, {
    "eth": 4,
    "eth:ip": 3,
    "eth:ip:udp": 2,
    "eth:ip:udp:dns": 1,
    "eth:ip:data": 1,
    "eth:ipv6": 1,
    "eth:ipv6:data": 1,
    "sll": 2,
    "sll:arp": 2,
  });
  const bytes = Object.fromEntries(h.entries().map((e) => [e.path, e.bytes]));
  assert.equal(bytes["eth:ip:udp"], 160);
});

Deno.test("io stat: intervals from the first frame's own time, exact at boundaries, capped", () => {
  const io = new IoStat(0.5, 100);
  const base = 1_700_000_000;
  io.add(base, 700_000_000, 10); // the origin: .7 s into its second, as tshark's time_relative 0
  io.add(base + 1, 199_999_999, 10); // 0.499999999 s after it
  io.add(base + 1, 200_000_000, 5); // exactly 0.5 s: the second interval
  io.add(base + 2, 900_000_000, 1);
  io.add(base + 1000, 0, 1); // past 100 intervals
  const rows = io.rows();
  assert.equal(rows.length, 5);
  assert.deepEqual(rows.map((r) => r.frames), [2, 1, 0, 0, 1]);
  assert.deepEqual(rows.map((r) => r.bytes), [20, 5, 0, 0, 1]);
  assert.equal(io.overflow, 1);
  // Frames earlier than the first (merged, unsorted captures) are not counted either.
  io.add(base, 600_000_000, 1);
  assert.equal(io.overflow, 2);
  assert.equal(new IoStat(1).maxBuckets, IO_MAX_BUCKETS);
});

Deno.test("pair table: A is the first sender, directions counted, size bounded", () => {
  const t = new PairTable((n) => `h${n}`, 2);
  t.add(5, 3, 100, 0);
  t.add(3, 5, 40, 1);
  t.add(5, 3, 100, 2);
  t.add(1, 2, 1, 3);
  t.add(7, 8, 1, 4); // over the cap
  assert.equal(t.pairs.length, 2);
  assert.equal(t.dropped, 1);
  const p = t.pairs[0];
  assert.equal(p.a, "h5");
  assert.equal(p.b, "h3");
  assert.equal(p.aToBPackets, 2);
  assert.equal(p.aToBBytes, 200);
  assert.equal(p.bToAPackets, 1);
  assert.equal(p.last, 2);
});

Deno.test("MAC numbers are exact 48-bit values and format back", () => {
  const b = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x0c, 0x29, 0x01, 0x02, 0x03]);
  assert.equal(macNumber(b, 0), 0xffffffffffff);
  assert.equal(macLabel(macNumber(b, 6)), "00:0c:29:01:02:03");
});
