/**
 * Branches the corpus does not cover (PPTP GRE with seq/ack, GTP-U extension headers, IPv6 AH,
 * MPLS pseudowires, 0x9100 tags, IP-in-IP, SLL2/NULL/LOOP/raw link types, shuffled fragments) built
 * with build.ts, written as pcaps, and compared field by field with what tshark decodes from them.
 */
import assert from "node:assert/strict";
import { encodePcap } from "../../lib/capture/mod.ts";
import * as B from "../../lib/packet/build.ts";
import { PacketDecoder } from "../../lib/packet/decoder.ts";
import { LAYER_NAMES } from "../../lib/packet/layers.ts";
import { Packet } from "../../lib/packet/packet.ts";
import { haveTool, testIf } from "../_util/corpus.ts";
import { record } from "./_frames.ts";
import { compare, tsharkRows } from "./_tshark.ts";

const A = "198.51.100.1";
const Z = "198.51.100.2";
const A6 = "2001:db8:1::10";
const Z6 = "2001:db8:2::20";
const e = (t: number, p: Uint8Array, vlans?: number[], tpids?: number[]) =>
  B.ethernet({
    src: "00:0c:29:00:00:01",
    dst: "00:0c:29:00:00:02",
    etherType: t,
    payload: p,
    vlans,
    vlanTpids: tpids,
  });
const udp4 = (sport: number, dport: number, n = 20, src = A, dst = Z) =>
  B.ipv4({
    src,
    dst,
    proto: 17,
    ttl: 33,
    payload: B.udp({ sport, dport, payload: new Uint8Array(n).fill(0x41), src, dst }),
  });
const tcpSeg = (src: string, dst: string) =>
  B.tcp({
    sport: 40001,
    dport: 8443,
    seq: 0x80000000,
    ack: 77,
    flags: 0x12,
    window: 1000,
    options: B.tcpOptions({ mss: 1380, wscale: 9, sackPermitted: true, timestamps: [99, 98] }),
    payload: new Uint8Array(0),
    src,
    dst,
  });

function ethernetFrames(): Uint8Array[] {
  const ppp = B.concat(
    new Uint8Array([0xff, 0x03, 0x00, 0x21]),
    udp4(1000, 2000, 12, "10.9.0.1", "10.9.0.2"),
  );
  const gtpInner = udp4(3000, 4000, 8, "10.45.0.2", "8.8.8.8");
  const ah = B.ipv6({
    src: A6,
    dst: Z6,
    nextHeader: 6,
    payload: tcpSeg(A6, Z6),
    hopLimit: 17,
    extHeaders: [{ type: 60, body: new Uint8Array(6) }, {
      type: 51,
      body: B.concat(
        new Uint8Array(2),
        Uint8Array.of(0, 0, 1, 0),
        Uint8Array.of(0, 0, 0, 1),
        new Uint8Array(12),
      ),
    }],
  });
  const udp = B.udp({ sport: 5353, dport: 5353, payload: new Uint8Array(2000).fill(7), src: A, dst: Z });
  const v4frags = B.fragmentIpv4(B.ipv4({ src: A, dst: Z, proto: 17, id: 0x1111, payload: udp }), 800)
    .reverse();
  const udp6 = B.udp({ sport: 547, dport: 546, payload: new Uint8Array(3000).fill(9), src: A6, dst: Z6 });
  const v6frags = B.fragmentIpv6(B.ipv6({ src: A6, dst: Z6, nextHeader: 17, payload: udp6 }), 1280, 0xabc);
  return [
    e(
      0x0800,
      B.ipv4({
        src: A,
        dst: Z,
        proto: 47,
        payload: B.gre({ version: 1, protocol: 0x880b, callId: 0x4321, seq: 5, ack: 4, payload: ppp }),
      }),
    ),
    e(
      0x0800,
      B.ipv4({
        src: A,
        dst: Z,
        proto: 17,
        payload: B.udp({
          sport: 2152,
          dport: 2152,
          payload: B.gtpu({
            teid: 0x01020304,
            payload: gtpInner,
            extHeaders: [Uint8Array.of(1, 0x10, 0x09, 0)],
          }),
          src: A,
          dst: Z,
        }),
      }),
    ),
    e(0x86dd, ah),
    e(0x8847, B.mpls({ labels: [100, 200, 300], payload: udp4(7, 8) })),
    e(
      0x0800,
      B.ipv4({
        src: A,
        dst: Z,
        proto: 47,
        payload: B.gre({ version: 1, protocol: 0x880b, callId: 77, ack: 3, payload: new Uint8Array(0) }),
      }),
    ),
    e(0x8847, B.mpls({ labels: [16], payload: B.concat(new Uint8Array(4), e(0x0800, udp4(70, 80))) })),
    e(0x0800, udp4(9, 10), [10, 20, 30], [0x88a8, 0x8100, 0x8100]),
    e(0x0800, B.ipv4({ src: A, dst: Z, proto: 4, payload: udp4(11, 12, 5, "172.16.1.1", "172.16.1.2") })),
    e(
      0x0800,
      B.ipv4({
        src: A,
        dst: Z,
        proto: 41,
        payload: B.ipv6({
          src: A6,
          dst: Z6,
          nextHeader: 58,
          payload: B.icmp({ type: 128, rest: 0x10002, src: A6, dst: Z6 }),
        }),
      }),
    ),
    e(
      0x0800,
      B.ipv4({ src: A, dst: Z, proto: 6, options: Uint8Array.of(0x94, 4, 0, 0, 1), payload: tcpSeg(A, Z) }),
    ),
    e(
      0x0800,
      B.ipv4({
        src: A,
        dst: "224.0.0.22",
        proto: 2,
        ttl: 1,
        payload: B.igmpv3Report([{ type: 4, group: "239.9.9.9" }, { type: 3, group: "239.1.1.1" }]),
      }),
    ),
    e(
      0x0800,
      B.ipv4({
        src: A,
        dst: Z,
        proto: 1,
        payload: B.icmp({ type: 3, code: 3, payload: udp4(53, 33000, 4).subarray(0, 28) }),
      }),
    ),
    ...v4frags.map((f) => e(0x0800, f)),
    ...v6frags.map((f) => e(0x86dd, f)),
  ];
}

const LINKS: [string, number, () => Uint8Array[]][] = [
  ["ethernet", 1, ethernetFrames],
  ["sll", 113, () => [B.sll({ protocol: 0x0800, payload: udp4(1, 2), addr: B.mac("00:0c:29:00:00:01") })]],
  [
    "sll2",
    276,
    () => [
      B.sll2({
        protocol: 0x86dd,
        payload: B.ipv6({ src: A6, dst: Z6, nextHeader: 6, payload: tcpSeg(A6, Z6) }),
      }),
    ],
  ],
  [
    "null",
    0,
    () => [
      B.nullLoopback({ family: 2, payload: udp4(3, 4) }),
      B.nullLoopback({
        family: 24,
        bigEndian: true,
        payload: B.ipv6({
          src: A6,
          dst: Z6,
          nextHeader: 17,
          payload: B.udp({ sport: 1, dport: 2, payload: new Uint8Array(3) }),
        }),
      }),
    ],
  ],
  ["loop", 108, () => [B.nullLoopback({ family: 2, bigEndian: true, payload: udp4(5, 6) })]],
  ["raw", 101, () => [udp4(7, 8), B.ipv6({ src: A6, dst: Z6, nextHeader: 6, payload: tcpSeg(A6, Z6) })]],
  ["ipv4", 228, () => [udp4(9, 10)]],
  [
    "ipv6",
    229,
    () => [
      B.ipv6({
        src: A6,
        dst: Z6,
        nextHeader: 17,
        payload: B.udp({ sport: 11, dport: 12, payload: new Uint8Array(1) }),
      }),
    ],
  ],
];

testIf(
  haveTool("tshark"),
  "tshark not installed",
  "builder frames of every link type and tunnel: fields equal tshark's",
  () => {
    const problems: string[] = [];
    let compared = 0;
    for (const [name, linkType, make] of LINKS) {
      const frames = make();
      const path = Deno.makeTempFileSync({ suffix: ".pcap" });
      try {
        Deno.writeFileSync(
          path,
          encodePcap(frames.map((data, i) => ({ data, tsSec: 100 + i, tsNsec: 0 })), { linkType }),
        );
        const rows = tsharkRows(path);
        assert.equal(rows.length, frames.length, name);
        const dec = new PacketDecoder();
        const p = new Packet();
        frames.forEach((f, i) => {
          dec.decode(record(f, { linkType, tsSec: 100 + i }), p);
          compared++;
          const layers = Array.from(p.layers.subarray(0, p.depth)).map((id) => LAYER_NAMES[id]).join(":");
          if (Deno.env.get("MPP_DEBUG")) {
            console.log(name, i + 1, layers, "|", rows[i]["frame.protocols"].join());
          }
          for (const d of compare(p, rows[i])) {
            problems.push(`${name} #${i + 1} (${layers} | ${rows[i]["frame.protocols"]}): ${d}`);
          }
        });
      } finally {
        Deno.removeSync(path);
      }
    }
    assert.equal(compared, 27);
    assert.deepEqual(problems, []);
  },
);
