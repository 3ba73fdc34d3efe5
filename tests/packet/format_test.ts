import assert from "node:assert/strict";
import * as B from "../../lib/packet/build.ts";
import { formatIpv4, formatIpv6, formatMac, summarize } from "../../lib/packet/format.ts";
import { decode } from "./_frames.ts";

const w = (...x: number[]) => Uint32Array.from(x);

Deno.test("formatIpv4", () => {
  assert.equal(formatIpv4(0), "0.0.0.0");
  assert.equal(formatIpv4(0xffffffff), "255.255.255.255");
  assert.equal(formatIpv4(0xc0a80001), "192.168.0.1");
});

Deno.test("formatIpv6 follows RFC 5952", () => {
  assert.equal(formatIpv6(w(0x20010db8, 0, 0, 1)), "2001:db8::1"); // 4.2.1 longest run, lower case
  assert.equal(formatIpv6(w(0, 0, 0, 0)), "::");
  assert.equal(formatIpv6(w(0, 0, 0, 1)), "::1");
  assert.equal(formatIpv6(w(0x20010db8, 0x00000001, 0x00010001, 0x00010001)), "2001:db8:0:1:1:1:1:1"); // 4.2.2 one zero group kept
  assert.equal(formatIpv6(w(0x20010000, 0x00000001, 0, 0x00010001)), "2001::1:0:0:1:1"); // 4.2.3 first of equal runs
  assert.equal(formatIpv6(w(0x20010db8, 0, 0x00010000, 1)), "2001:db8::1:0:0:1");
  assert.equal(formatIpv6(w(0x20010db8, 0, 0x00010000, 0)), "2001:db8:0:0:1::"); // longest run wins
  assert.equal(formatIpv6(w(0xfe800000, 0, 0x8c3606ff, 0xfe44acaf)), "fe80::8c36:6ff:fe44:acaf");
  assert.equal(formatIpv6(w(0, 0, 0xffff, 0xc0000201)), "::ffff:192.0.2.1"); // section 5
  assert.equal(formatIpv6(w(0x20010db8, 0xabcd0000, 0, 0)), "2001:db8:abcd::");
});

Deno.test("formatMac", () => {
  assert.equal(formatMac(B.mac("0a:1b:2c:3d:4e:5f")), "0a:1b:2c:3d:4e:5f");
  assert.equal(formatMac(new Uint8Array([9, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6]), 6), "01:02:03:04:05:06");
});

Deno.test("summarize: tcpdump -n -q style lines", () => {
  const e = (t: number, p: Uint8Array) =>
    B.ethernet({ src: "00:00:00:00:00:01", dst: "00:00:00:00:00:02", etherType: t, payload: p });
  const tcp = decode(
    e(
      0x0800,
      B.ipv4({
        src: "10.0.0.1",
        dst: "10.0.0.2",
        proto: 6,
        payload: B.tcp({ sport: 1234, dport: 80, flags: 0x18, payload: new Uint8Array(100) }),
      }),
    ),
  );
  assert.equal(summarize(tcp), "IP 10.0.0.1.1234 > 10.0.0.2.80: tcp 100");
  const udp6 = decode(
    e(
      0x86dd,
      B.ipv6({
        src: "2001:db8::1",
        dst: "2001:db8::2",
        nextHeader: 17,
        payload: B.udp({ sport: 53, dport: 999, payload: new Uint8Array(20) }),
      }),
    ),
  );
  assert.equal(summarize(udp6), "IP6 2001:db8::1.53 > 2001:db8::2.999: UDP, length 20");
  const icmp = decode(
    e(
      0x0800,
      B.ipv4({
        src: "10.0.0.1",
        dst: "10.0.0.2",
        proto: 1,
        payload: B.icmp({ type: 8, payload: new Uint8Array(56) }),
      }),
    ),
  );
  assert.equal(summarize(icmp), "IP 10.0.0.1 > 10.0.0.2: ICMP echo request, length 64");
  const arp = decode(
    e(
      0x0806,
      B.arp({
        op: 1,
        senderMac: "00:00:00:00:00:01",
        senderIp: "10.0.0.1",
        targetMac: "00:00:00:00:00:00",
        targetIp: "10.0.0.2",
      }),
    ),
  );
  assert.equal(summarize(arp), "ARP, length 42");
  const ptp = decode(e(0x88f7, new Uint8Array(44)));
  assert.equal(summarize(ptp), "00:00:00:00:00:01 > 00:00:00:00:00:02, ethertype 0x88f7, length 58");
  const frag = decode(
    e(0x0800, B.ipv4({ src: "10.0.0.1", dst: "10.0.0.2", proto: 17, flags: 1, payload: new Uint8Array(64) })),
  );
  assert.equal(summarize(frag), "IP 10.0.0.1 > 10.0.0.2: ip-proto-17 fragment 64");
  const f = e(
    0x0800,
    B.ipv4({
      src: "10.0.0.1",
      dst: "10.0.0.2",
      proto: 6,
      payload: B.tcp({ sport: 1, dport: 2, flags: 2, payload: new Uint8Array(10) }),
    }),
  );
  assert.equal(
    summarize(decode(f.subarray(0, 40), { origLen: f.length })),
    "IP 10.0.0.1.1 > 10.0.0.2.2: tcp 0 [|truncated]",
  );
  const gre = decode(
    e(
      0x0800,
      B.ipv4({
        src: "1.1.1.1",
        dst: "2.2.2.2",
        proto: 47,
        payload: B.gre({
          protocol: 0x0800,
          payload: B.ipv4({
            src: "10.0.0.1",
            dst: "10.0.0.2",
            proto: 17,
            payload: B.udp({ sport: 1, dport: 2, payload: new Uint8Array(3) }),
          }),
        }),
      }),
    ),
  );
  assert.equal(summarize(gre), "IP 10.0.0.1.1 > 10.0.0.2.2: UDP, length 3 (in GRE)");
});
