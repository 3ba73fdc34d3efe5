/**
 * Run by no_alloc_test.ts under `--v8-flags=--trace-gc`: decodes a mix of frames many times after
 * a warm-up, printing markers around the measured loop. A decode that allocates per packet fills
 * the young generation and shows up as scavenges between the markers.
 */
import * as B from "../../lib/packet/build.ts";
import { PacketDecoder } from "../../lib/packet/decoder.ts";
import { Packet } from "../../lib/packet/packet.ts";
import { record } from "./_frames.ts";

const e = (t: number, p: Uint8Array, vlans?: number[]) =>
  B.ethernet({ src: "02:00:00:00:00:01", dst: "02:00:00:00:00:02", etherType: t, payload: p, vlans });
const a6 = "2001:db8::1";
const z6 = "2001:db8::2";
const opts = B.tcpOptions({ mss: 1460, wscale: 7, sackPermitted: true, timestamps: [1, 2], sack: [[1, 2]] });
const frames = [
  e(
    0x0800,
    B.ipv4({
      src: 1,
      dst: 2,
      proto: 6,
      payload: B.tcp({ sport: 1, dport: 80, flags: 0x18, options: opts, payload: new Uint8Array(50) }),
    }),
  ),
  e(
    0x0800,
    B.ipv4({
      src: 1,
      dst: 2,
      proto: 17,
      payload: B.udp({ sport: 1, dport: 53, payload: new Uint8Array(30) }),
    }),
    [5, 6],
  ),
  e(
    0x86dd,
    B.ipv6({
      src: a6,
      dst: z6,
      nextHeader: 6,
      payload: B.tcp({ sport: 1, dport: 2, flags: 2, options: opts }),
      extHeaders: [{ type: 0, body: new Uint8Array(6) }],
    }),
  ),
  e(0x0800, B.ipv4({ src: 1, dst: 2, proto: 1, payload: B.icmp({ type: 8, payload: new Uint8Array(20) }) })),
  e(0x0800, B.ipv4({ src: 1, dst: 2, proto: 2, payload: B.igmpv3Report([{ type: 4, group: "239.1.1.1" }]) })),
  e(
    0x0806,
    B.arp({
      op: 1,
      senderMac: "02:00:00:00:00:01",
      senderIp: 1,
      targetMac: "00:00:00:00:00:00",
      targetIp: 2,
    }),
  ),
  e(0x88f7, new Uint8Array(44)),
  e(
    0x8847,
    B.mpls({
      labels: [3, 4],
      payload: B.ipv4({
        src: 1,
        dst: 2,
        proto: 17,
        payload: B.udp({ sport: 1, dport: 2, payload: new Uint8Array(9) }),
      }),
    }),
  ),
  e(
    0x0800,
    B.ipv4({
      src: 1,
      dst: 2,
      proto: 47,
      payload: B.gre({
        protocol: 0x0800,
        key: 1,
        payload: B.ipv4({
          src: 3,
          dst: 4,
          proto: 17,
          payload: B.udp({ sport: 1, dport: 2, payload: new Uint8Array(3) }),
        }),
      }),
    }),
  ),
  e(
    0x0800,
    B.ipv4({
      src: 1,
      dst: 2,
      proto: 17,
      payload: B.udp({
        sport: 9,
        dport: 4789,
        payload: B.vxlan({
          vni: 5,
          payload: e(
            0x0800,
            B.ipv4({ src: 3, dst: 4, proto: 6, payload: B.tcp({ sport: 1, dport: 2, flags: 2 }) }),
          ),
        }),
      }),
    }),
  ),
  e(
    0x0800,
    B.ipv4({
      src: 1,
      dst: 2,
      proto: 17,
      payload: B.udp({
        sport: 2152,
        dport: 2152,
        payload: B.gtpu({
          teid: 7,
          payload: B.ipv4({
            src: 3,
            dst: 4,
            proto: 17,
            payload: B.udp({ sport: 1, dport: 2, payload: new Uint8Array(3) }),
          }),
        }),
      }),
    }),
  ),
];
const recs = frames.map((f) => record(f));
const dec = new PacketDecoder();
const p = new Packet();
let sum = 0;
// "alloc" makes the loop take a payload view per packet: the test's proof that it can see allocation.
const allocate = Deno.args[1] === "alloc";
const loop = (n: number) => {
  for (let i = 0; i < n; i++) {
    dec.decode(recs[i % recs.length], p);
    sum += allocate ? p.payload().length : p.depth;
  }
};
loop(2_000_000);
console.log("MEASURE-START");
loop(Number(Deno.args[0] ?? 5_000_000));
console.log("MEASURE-END", sum);
