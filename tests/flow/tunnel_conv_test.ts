/**
 * Conversations and endpoints of tunnelled traffic, as tshark taps every layer: the outer IP pair
 * of GRE, VXLAN and GTP-U, the outer UDP pair of VXLAN and GTP-U, and both Ethernet pairs of VXLAN
 * each count the frame, beside the inner flow's own rows. A seeded mix of plain, GRE (IPv4 and
 * IPv6 outer), VXLAN and GTP-U frames whose inner and outer addresses overlap is compared with
 * tshark table for table; a small crafted capture checks the same facts without tshark.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as B from "../../lib/packet/build.ts";
import { PcapWriter } from "../../lib/capture/mod.ts";
import { analyzeFiles } from "../../lib/flow/analyze_files.ts";
import { haveTool, testIf } from "../_util/corpus.ts";
import { parseConv, parseEndpoints, tshark } from "../_util/tshark.ts";

const v4 = (n: number) => `10.${(n >> 8) & 255}.${n & 255}.${1 + (n % 3)}`;
const v6 = (n: number) => `2001:db8::${(n % 50).toString(16)}`;
const mac = (n: number) =>
  `02:00:00:00:${(n >> 8).toString(16).padStart(2, "0")}:${(n & 255).toString(16).padStart(2, "0")}`;
const eth = (src: number, dst: number, etherType: number, payload: Uint8Array) =>
  B.ethernet({ src: mac(src), dst: mac(dst), etherType, payload });

function transport(
  src: string,
  dst: string,
  tcp: boolean,
  sport: number,
  dport: number,
  len: number,
): Uint8Array {
  const payload = new Uint8Array(len);
  const six = src.includes(":");
  const seg = tcp
    ? B.tcp({ sport, dport, seq: 1000 + len, ack: 1, flags: 0x18, payload, src, dst })
    : B.udp({ sport, dport, payload, src, dst });
  const proto = tcp ? 6 : 17;
  return six
    ? B.ipv6({ src, dst, nextHeader: proto, payload: seg })
    : B.ipv4({ src, dst, proto, payload: seg });
}

function vxlan(oa: number, ob: number, inner: Uint8Array, innerType: number): Uint8Array {
  const s = v4(oa), d = v4(ob);
  const f = eth(oa + 100, ob + 100, innerType, inner);
  const udp = B.udp({
    sport: 40000 + oa,
    dport: 4789,
    payload: B.vxlan({ vni: oa % 3, payload: f }),
    src: s,
    dst: d,
  });
  return eth(oa, ob, 0x0800, B.ipv4({ src: s, dst: d, proto: 17, payload: udp }));
}

function gtp(oa: number, ob: number, inner: Uint8Array): Uint8Array {
  const s = v4(oa), d = v4(ob);
  const udp = B.udp({
    sport: 2152,
    dport: 2152,
    payload: B.gtpu({ teid: oa, payload: inner }),
    src: s,
    dst: d,
  });
  return eth(oa, ob, 0x0800, B.ipv4({ src: s, dst: d, proto: 17, payload: udp }));
}

async function write(dir: string, frames: Uint8Array[]): Promise<string> {
  const file = join(dir, "tunnels.pcap");
  const w = await PcapWriter.create(file, { linkType: 1, precision: "ns" });
  frames.forEach((f, i) =>
    w.write(f, f.length, 1_700_000_000 + Math.floor(i / 1000), (i % 1000) * 1_000_000, 0)
  );
  await w.close();
  return file;
}

/** The seeded mix: 40 addresses shared by inner and outer layers, so rows of both kinds merge. */
function mix(count: number, seed: number): Uint8Array[] {
  let x = seed;
  const rnd = () => (x = (x * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const n = () => Math.floor(rnd() * 40);
  const inner = (): [Uint8Array, number] => {
    const six = rnd() < 0.2, a = n(), b = n();
    const [s, d] = six ? [v6(a), v6(b)] : [v4(a), v4(b)];
    const pkt = transport(s, d, rnd() < 0.5, 1000 + Math.floor(rnd() * 4), [80, 53, 5000][n() % 3], n());
    return [pkt, six ? 0x86dd : 0x0800];
  };
  const frames: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const oa = n(), ob = n(), k = n() % 5;
    const [pkt, et] = inner();
    if (k === 0) frames.push(eth(oa, ob, et, pkt));
    else if (k === 1) {
      frames.push(
        eth(
          oa,
          ob,
          0x0800,
          B.ipv4({ src: v4(oa), dst: v4(ob), proto: 47, payload: B.gre({ protocol: et, payload: pkt }) }),
        ),
      );
    } else if (k === 2) {
      frames.push(
        eth(
          oa,
          ob,
          0x86dd,
          B.ipv6({
            src: v6(oa),
            dst: v6(ob),
            nextHeader: 47,
            payload: B.gre({ protocol: et, payload: pkt }),
          }),
        ),
      );
    } else if (k === 3) frames.push(vxlan(oa, ob, pkt, et));
    else if (et === 0x0800) frames.push(gtp(oa, ob, pkt));
    else frames.push(eth(oa, ob, et, pkt));
  }
  return frames;
}

Deno.test("a VXLAN frame counts in its outer UDP, outer IP and both Ethernet pairs; GTP-U in its outer UDP pair", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mpp-tunnel-" });
  try {
    const inner = transport(v4(7), v4(8), false, 1000, 53, 10);
    const file = await write(dir, [
      vxlan(1, 2, inner, 0x0800),
      vxlan(2, 1, transport(v4(8), v4(7), false, 53, 1000, 10), 0x0800),
      gtp(3, 4, transport(v4(9), v4(10), true, 1001, 80, 0)),
      // Plain UDP on the VXLAN tunnel's own 4-tuple: one row with the tunnel's frames.
      eth(1, 2, 0x0800, transport(v4(1), v4(2), false, 40001, 4789, 4)),
    ]);
    const { report } = await analyzeFiles([file], { threads: 1 });
    const row = (t: keyof typeof report.conversations, a: string, b: string) => {
      const rows = report.conversations[t].filter((r) =>
        (r.a === a && r.b === b) || (r.a === b && r.b === a)
      );
      assert.equal(rows.length, 1, `${t} ${a} <-> ${b}: one row`);
      return rows[0];
    };
    const vx = row("udp", `${v4(1)}:40001`, `${v4(2)}:4789`);
    assert.deepEqual(
      [vx.a, vx.aToBPackets, vx.bToAPackets],
      [`${v4(1)}:40001`, 2, 0],
      "the tunnelled frame and the plain one",
    );
    // The reply came from port 40002 (its sender's port): a pair of its own.
    assert.equal(row("udp", `${v4(2)}:40002`, `${v4(1)}:4789`).packets, 1);
    assert.equal(row("udp", `${v4(3)}:2152`, `${v4(4)}:2152`).packets, 1);
    assert.equal(row("udp", `${v4(7)}:1000`, `${v4(8)}:53`).packets, 2, "the inner flow");
    assert.equal(row("ip", v4(1), v4(2)).packets, 3);
    assert.equal(row("tcp", `${v4(9)}:1001`, `${v4(10)}:80`).packets, 1);
    assert.equal(row("eth", mac(1), mac(2)).packets, 3, "outer MACs of both VXLAN frames and the plain one");
    assert.equal(row("eth", mac(101), mac(102)).packets, 2, "inner MACs");
    assert.equal(row("eth", mac(3), mac(4)).packets, 1);
    const ep = report.endpoints.udp.find((e) => e.address === `${v4(3)}:2152`)!;
    assert.deepEqual([ep.packets, ep.txPackets, ep.rxPackets], [1, 1, 0]);
    // A sharded run builds the same tables.
    const two = (await analyzeFiles([file], { threads: 2 })).report;
    assert.deepEqual(two.conversations, report.conversations);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

testIf(
  haveTool("tshark"),
  "tshark not installed",
  "a tunnel mix (GRE over IPv4 and IPv6, VXLAN, GTP-U, plain): every conv and endpoints table equals tshark's",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "mpp-tunnel-" });
    try {
      for (const seed of [1, 2]) {
        const file = await write(dir, mix(3000, seed));
        const { report } = await analyzeFiles([file], { threads: 1 });
        const tables = ["tcp", "udp", "ip", "ipv6", "eth"] as const;
        const out = await tshark([
          "-r",
          file,
          "-q",
          ...tables.flatMap((t) => ["-z", `conv,${t}`, "-z", `endpoints,${t}`]),
        ]);
        const title = { tcp: "TCP", udp: "UDP", ip: "IPv4", ipv6: "IPv6", eth: "Ethernet" };
        const norm = (a: string) => a.replace(/^\[(.*)\]:(\d+)$/, "$1:$2");
        for (const t of tables) {
          const theirs = parseConv(out, `${title[t]} Conversations`);
          const ours = report.conversations[t];
          assert.ok(theirs.length > 20, `seed ${seed} ${t}: a table worth comparing`);
          const sig = (a: string, b: string, ab: number, ba: number, start: number) =>
            `${a} ${b} ${ab} ${ba} ${start.toFixed(9)}`;
          assert.deepEqual(
            ours.map((r) => sig(norm(r.a), norm(r.b), r.aToBPackets, r.bToAPackets, r.relStart)).sort(),
            theirs.map((c) => sig(c.a, c.b, c.aToBFrames, c.bToAFrames, c.relStart)).sort(),
            `seed ${seed}: conv,${t}`,
          );
          const eps = parseEndpoints(out, `${title[t]} Endpoints`, t === "tcp" || t === "udp");
          const ep = (a: string, p: number, by: number, tx: number, rx: number) =>
            `${a} ${p} ${by} ${tx} ${rx}`;
          assert.deepEqual(
            report.endpoints[t].map((e) => ep(norm(e.address), e.packets, e.bytes, e.txPackets, e.rxPackets))
              .sort(),
            eps.map((e) => ep(e.address, e.packets, e.bytes, e.txPackets, e.rxPackets)).sort(),
            `seed ${seed}: endpoints,${t}`,
          );
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("a GTP-U bearer's uplink and downlink (two TEIDs) are one flow; VXLAN VNIs and GRE keys keep flows apart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mpp-tunnel-" });
  try {
    const [ue, srv] = [v4(20), v4(21)];
    const gtpWith = (teid: number, up: boolean) => {
      const [s, d] = up ? [v4(3), v4(4)] : [v4(4), v4(3)];
      const inner = up ? transport(ue, srv, true, 1001, 80, 5) : transport(srv, ue, true, 80, 1001, 5);
      const udp = B.udp({
        sport: 2152,
        dport: 2152,
        payload: B.gtpu({ teid, payload: inner }),
        src: s,
        dst: d,
      });
      return eth(up ? 3 : 4, up ? 4 : 3, 0x0800, B.ipv4({ src: s, dst: d, proto: 17, payload: udp }));
    };
    const gre = (key: number) =>
      eth(
        5,
        6,
        0x0800,
        B.ipv4({
          src: v4(5),
          dst: v4(6),
          proto: 47,
          payload: B.gre({ protocol: 0x0800, key, payload: transport(ue, srv, false, 7, 8, 1) }),
        }),
      );
    const file = await write(dir, [
      gtpWith(0x1111, true),
      gtpWith(0x2222, false),
      gtpWith(0x1111, true),
      vxlan(1, 2, transport(ue, srv, false, 9, 9, 1), 0x0800),
      vxlan(2, 1, transport(ue, srv, false, 9, 9, 1), 0x0800), // another VNI (2 % 3): another flow
      gre(7),
      gre(8),
    ]);
    const { report } = await analyzeFiles([file], { threads: 1 });
    const tcp = report.flows.filter((f) => f.transport.name === "TCP");
    assert.equal(tcp.length, 1, "uplink and downlink meet");
    assert.deepEqual([tcp[0].orig.packets, tcp[0].resp.packets, tcp[0].tunnelId], [2, 1, null]);
    const vx = report.flows.filter((f) => f.label.endsWith(":9"));
    assert.deepEqual(vx.map((f) => f.tunnelId).sort(), [1, 2]);
    const keyed = report.flows.filter((f) => f.label.endsWith(":8"));
    assert.deepEqual(keyed.map((f) => f.tunnelId).sort(), [7, 8]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
