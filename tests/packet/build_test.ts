import assert from "node:assert/strict";
import { encodePcap } from "../../lib/capture/mod.ts";
import { MppError } from "../../lib/errors.ts";
import * as B from "../../lib/packet/build.ts";
import { formatIpv6 } from "../../lib/packet/format.ts";
import { haveTool, testIf } from "../_util/corpus.ts";

const M1 = "00:1b:21:3c:4d:5e";
const M2 = "ff:ff:ff:ff:ff:ff";

Deno.test("address helpers parse and reject", () => {
  assert.equal(B.ip4("10.0.0.1"), 0x0a000001);
  assert.equal(B.ip4("255.255.255.255"), 0xffffffff);
  assert.deepEqual(Array.from(B.ip6("2001:db8::1")), [0x20010db8, 0, 0, 1]);
  assert.deepEqual(Array.from(B.ip6("::")), [0, 0, 0, 0]);
  assert.deepEqual(Array.from(B.ip6("fe80::1:2:3:4")), [0xfe800000, 0, 0x10002, 0x30004]);
  assert.deepEqual(Array.from(B.ip6("::ffff:192.0.2.1")), [0, 0, 0xffff, 0xc0000201]);
  assert.deepEqual(Array.from(B.ip6("1:2:3:4:5:6:7:8")), [0x10002, 0x30004, 0x50006, 0x70008]);
  assert.deepEqual(Array.from(B.mac("00:11:22:33:44:55")), [0, 0x11, 0x22, 0x33, 0x44, 0x55]);
  for (const bad of ["10.0.0", "1.2.3.256", "a.b.c.d"]) assert.throws(() => B.ip4(bad), MppError);
  for (const bad of ["1::2::3", "12345::", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8::"]) {
    assert.throws(() => B.ip6(bad), MppError);
  }
  for (const bad of ["00:11:22:33:44", "zz:11:22:33:44:55"]) assert.throws(() => B.mac(bad), MppError);
  assert.throws(
    () => B.ipv4({ src: 1, dst: 2, proto: 17, payload: new Uint8Array(0), fragOffset: 3 }),
    MppError,
  );
  assert.throws(
    () => B.fragmentIpv4(B.ipv4({ src: 1, dst: 2, proto: 17, payload: new Uint8Array(100) }), 24),
    MppError,
  );
});

Deno.test("IPv4 header checksum verifies; ip6 round-trips through formatIpv6", () => {
  const ip = B.ipv4({
    src: "192.0.2.1",
    dst: "198.51.100.7",
    proto: 6,
    ttl: 3,
    id: 77,
    flags: 2,
    payload: new Uint8Array(5),
  });
  assert.equal(B.checksum(ip.subarray(0, 20)), 0);
  assert.deepEqual([ip[0], ip[8], ip[9], (ip[6] << 8) | ip[7]], [0x45, 3, 6, 0x4000]);
  for (const s of ["2001:db8::1", "::1", "fe80::8c36:6ff:fe44:acaf", "2001:db8:0:1:1:1:1:1"]) {
    assert.equal(formatIpv6(B.ip6(s)), s);
  }
});

Deno.test("fragmentIpv4 / fragmentIpv6 split on 8-byte boundaries and cover the datagram", () => {
  const d = B.ipv4({ src: 1, dst: 2, proto: 17, id: 9, payload: new Uint8Array(3000).fill(1) });
  const f = B.fragmentIpv4(d, 1500);
  assert.deepEqual(f.map((x) => x.length), [1500, 1500, 60]);
  assert.deepEqual(f.map((x) => ((x[6] << 8) | x[7]) & 0x3fff), [0x2000, 0x2000 | 185, 370]);
  for (const x of f) assert.equal(B.checksum(x.subarray(0, 20)), 0);
  const v6 = B.ipv6({ src: "::1", dst: "::2", nextHeader: 17, payload: new Uint8Array(3000) });
  const g = B.fragmentIpv6(v6, 1280, 5);
  assert.deepEqual(g.map((x) => x.length), [1280, 1280, 40 + 8 + 3000 - 2464]);
  assert.deepEqual(g.map((x) => x[6]), [44, 44, 44]);
});

/** Frames whose checksums tshark verifies. */
function checksumFrames(): Uint8Array[] {
  const a4 = "192.0.2.1";
  const z4 = "192.0.2.99";
  const a6 = "2001:db8::1";
  const z6 = "2001:db8::2";
  const e = (t: number, p: Uint8Array, vlans?: number[]) =>
    B.ethernet({ src: M1, dst: M2, etherType: t, payload: p, vlans });
  const opts = B.tcpOptions({ mss: 1460, wscale: 7, sackPermitted: true, timestamps: [1, 0] });
  return [
    e(
      0x0800,
      B.ipv4({
        src: a4,
        dst: z4,
        proto: 17,
        payload: B.udp({ sport: 1000, dport: 53, payload: new Uint8Array(13).fill(9), src: a4, dst: z4 }),
      }),
    ),
    e(
      0x0800,
      B.ipv4({
        src: a4,
        dst: z4,
        proto: 6,
        payload: B.tcp({ sport: 4000, dport: 80, seq: 1, flags: 2, options: opts, src: a4, dst: z4 }),
      }),
      [3],
    ),
    e(
      0x86dd,
      B.ipv6({
        src: a6,
        dst: z6,
        nextHeader: 17,
        payload: B.udp({ sport: 5, dport: 6, payload: new Uint8Array(7), src: a6, dst: z6 }),
      }),
    ),
    e(
      0x86dd,
      B.ipv6({
        src: a6,
        dst: z6,
        nextHeader: 6,
        payload: B.tcp({ sport: 7, dport: 8, flags: 0x18, payload: new Uint8Array(11), src: a6, dst: z6 }),
      }),
    ),
    e(
      0x0800,
      B.ipv4({
        src: a4,
        dst: z4,
        proto: 1,
        payload: B.icmp({ type: 8, rest: 0x00010002, payload: new Uint8Array(32) }),
      }),
    ),
    e(
      0x86dd,
      B.ipv6({
        src: a6,
        dst: z6,
        nextHeader: 58,
        payload: B.icmp({ type: 128, rest: 5, payload: new Uint8Array(9), src: a6, dst: z6 }),
      }),
    ),
    e(
      0x0800,
      B.ipv4({
        src: a4,
        dst: "224.0.0.1",
        proto: 2,
        ttl: 1,
        payload: B.igmp({ type: 0x16, group: "239.1.1.1" }),
      }),
    ),
    e(
      0x0800,
      B.ipv4({
        src: a4,
        dst: z4,
        proto: 47,
        payload: B.gre({
          protocol: 0x0800,
          checksum: true,
          key: 5,
          payload: B.ipv4({ src: "10.0.0.1", dst: "10.0.0.2", proto: 59, payload: new Uint8Array(3) }),
        }),
      }),
    ),
  ];
}

const CHECKSUM_FIELDS = [
  "ip.checksum.status",
  "udp.checksum.status",
  "tcp.checksum.status",
  "icmp.checksum.status",
  "icmpv6.checksum.status",
  "igmp.checksum.status",
  "gre.checksum.status",
];

testIf(
  haveTool("tshark"),
  "tshark not installed",
  "builders: tshark validates every checksum and reads the fields back",
  () => {
    const frames = checksumFrames();
    const pcap = encodePcap(frames.map((data, i) => ({ data, tsSec: 1000 + i, tsNsec: 0 })));
    const path = Deno.makeTempFileSync({ suffix: ".pcap" });
    try {
      Deno.writeFileSync(path, pcap);
      const args = ["-r", path, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"];
      for (const pref of ["ip.check_checksum", "udp.check_checksum", "tcp.check_checksum"]) {
        args.push(
          "-o",
          `${pref}:TRUE`,
        );
      }
      for (
        const f of [
          ...CHECKSUM_FIELDS,
          "_ws.expert.message",
          "frame.protocols",
          "tcp.options.mss_val",
          "vlan.id",
        ]
      ) args.push("-e", f);
      const r = new Deno.Command("tshark", { args, stdout: "piped", stderr: "piped" }).outputSync();
      assert.equal(r.success, true, new TextDecoder().decode(r.stderr));
      const rows = new TextDecoder().decode(r.stdout).trim().split("\n").map((l) => l.split("\t"));
      assert.equal(rows.length, frames.length);
      rows.forEach((cols, i) => {
        const statuses = cols.slice(0, CHECKSUM_FIELDS.length).join(",").split(",").filter((x) => x !== "");
        assert.ok(statuses.length > 0, `frame ${i + 1}: no checksum checked`);
        // 1 = good, 0 = bad, 2 = unverified.
        assert.ok(
          statuses.every((s) => s === "1"),
          `frame ${i + 1}: checksum status ${cols.slice(0, CHECKSUM_FIELDS.length)} ${
            cols[CHECKSUM_FIELDS.length]
          }`,
        );
      });
      assert.match(rows[1][CHECKSUM_FIELDS.length + 1], /eth:ethertype:vlan:ethertype:ip:tcp/);
      assert.equal(rows[1][CHECKSUM_FIELDS.length + 2], "1460");
      assert.equal(rows[1][CHECKSUM_FIELDS.length + 3], "3");
      assert.match(rows[7][CHECKSUM_FIELDS.length + 1], /gre:ip/);
    } finally {
      Deno.removeSync(path);
    }
  },
);
