import assert from "node:assert/strict";
import * as B from "../../lib/packet/build.ts";
import { PacketDecoder } from "../../lib/packet/decoder.ts";
import { formatIpv4, formatIpv6 } from "../../lib/packet/format.ts";
import { Layer } from "../../lib/packet/layers.ts";
import { Packet, TcpFlag } from "../../lib/packet/packet.ts";
import { decode, hex, record, stack } from "./_frames.ts";

const M1 = "00:11:22:33:44:55";
const M2 = "66:77:88:99:aa:bb";
const A = "10.0.0.1";
const Z = "10.0.0.2";
const A6 = "2001:db8::1";
const Z6 = "2001:db8::2";

function udp4(payload = new Uint8Array([1, 2, 3, 4]), sport = 1234, dport = 5678): Uint8Array {
  return B.ipv4({ src: A, dst: Z, proto: 17, payload: B.udp({ sport, dport, payload, src: A, dst: Z }) });
}
function eth(etherType: number, payload: Uint8Array, vlans?: number[], vlanTpids?: number[]): Uint8Array {
  return B.ethernet({ src: M1, dst: M2, etherType, payload, vlans, vlanTpids });
}

Deno.test("ethernet / ipv4 / udp: offsets, addresses, ports, payload", () => {
  const f = eth(0x0800, udp4());
  const p = decode(f);
  assert.equal(stack(p), "eth:ip:udp");
  assert.equal(p.l2Off, 0);
  assert.equal(p.dstMacOff, 0);
  assert.equal(p.srcMacOff, 6);
  assert.equal(p.etherType, 0x0800);
  assert.equal(p.l3Off, 14);
  assert.equal(p.ipVersion, 4);
  assert.equal(p.ipProto, 17);
  assert.equal(p.ttl, 64);
  assert.equal(formatIpv4(p.src[0]), A);
  assert.equal(formatIpv4(p.dst[0]), Z);
  assert.equal(p.l4Off, 34);
  assert.deepEqual([p.srcPort, p.dstPort], [1234, 5678]);
  assert.deepEqual([p.payloadOff, p.payloadLen, p.payloadWireLen], [42, 4, 4]);
  assert.equal(p.truncated || p.malformed, false);
});

Deno.test("ethernet padding is trimmed by the IP total length; FCS is stripped", () => {
  const f = B.ethernet({ src: M1, dst: M2, etherType: 0x0800, payload: udp4(new Uint8Array(2)), pad: true });
  assert.equal(f.length, 60);
  const p = decode(f);
  assert.deepEqual([p.payloadLen, p.payloadWireLen], [2, 2]);
  // Non-IP ethertype with an FCS: payload ends before the 4 FCS bytes.
  const ptp = B.concat(eth(0x88f7, new Uint8Array(44).fill(7)), new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
  const q = decode(ptp, { fcsLen: 4 });
  assert.equal(q.etherType, 0x88f7);
  assert.deepEqual([q.payloadOff, q.payloadLen], [14, 44]);
  assert.equal(stack(q), "eth");
});

Deno.test("802.3 length field pushes LLC and stops", () => {
  const llc = new Uint8Array([0x42, 0x42, 0x03, 0, 0, 0]);
  const p = decode(eth(llc.length, llc));
  assert.equal(stack(p), "eth:llc");
  assert.deepEqual([p.payloadOff, p.payloadLen], [14, 6]);
  assert.equal(p.ipVersion, 0);
});

Deno.test("VLAN stacks: 802.1Q, 802.1ad and 0x9100, ids outermost first, at most 4 kept", () => {
  const p = decode(eth(0x0800, udp4(), [100, 200], [0x88a8, 0x8100]));
  assert.equal(stack(p), "eth:ieee8021ad:vlan:ip:udp");
  assert.deepEqual(Array.from(p.vlanIds.subarray(0, p.vlanCount)), [100, 200]);
  const deep = decode(
    eth(0x0800, udp4(), [1, 2, 3, 4, 5, 6], [0x9100, 0x8100, 0x8100, 0x8100, 0x8100, 0x8100]),
  );
  assert.equal(deep.vlanCount, 4);
  assert.deepEqual(Array.from(deep.vlanIds), [1, 2, 3, 4]);
  assert.equal(deep.ipProto, 17);
  assert.equal(deep.etherType, 0x0800);
});

Deno.test("MPLS: label stack, IPv4/IPv6 by first nibble, Ethernet pseudowire after a zero control word", () => {
  const p = decode(eth(0x8847, B.mpls({ labels: [29, 30], payload: udp4() })));
  assert.equal(stack(p), "eth:mpls:ip:udp");
  assert.deepEqual([p.mplsCount, p.mplsLabel], [2, 29]);
  const v6 = B.ipv6({
    src: A6,
    dst: Z6,
    nextHeader: 17,
    payload: B.udp({ sport: 1, dport: 2, payload: new Uint8Array(3) }),
  });
  assert.equal(stack(decode(eth(0x8848, B.mpls({ labels: [1048575], payload: v6 })))), "eth:mpls:ipv6:udp");
  const pw = B.mpls({ labels: [16], payload: B.concat(new Uint8Array(4), eth(0x0800, udp4())) });
  const q = decode(eth(0x8847, pw));
  assert.equal(stack(q), "eth:mpls:eth:ip:udp");
  assert.equal(q.dstMacOff, 22);
  const other = decode(eth(0x8847, B.mpls({ labels: [5], payload: new Uint8Array([0x90, 1, 2, 3]) })));
  assert.equal(stack(other), "eth:mpls");
  assert.deepEqual([other.payloadOff, other.payloadLen], [18, 4]);
});

Deno.test("Linux SLL and SLL2: protocol field, source MAC, LLC", () => {
  const addr = B.mac(M1);
  const p = decode(B.sll({ protocol: 0x0800, payload: udp4(), addr }), { linkType: 113 });
  assert.equal(stack(p), "sll:ip:udp");
  assert.deepEqual([p.hasMac, p.srcMacOff, p.l3Off], [true, 6, 16]);
  const q = decode(
    B.sll2({
      protocol: 0x86dd,
      payload: B.ipv6({ src: A6, dst: Z6, nextHeader: 59, payload: new Uint8Array(0) }),
      addr,
    }),
    {
      linkType: 276,
    },
  );
  assert.equal(stack(q), "sll:ipv6");
  assert.deepEqual([q.srcMacOff, q.l3Off, q.ipProto], [12, 20, 59]);
  assert.equal(
    stack(decode(B.sll({ protocol: 0x0004, payload: new Uint8Array(10) }), { linkType: 113 })),
    "sll:llc",
  );
  const vl = decode(B.sll({ protocol: 0x8100, payload: B.concat(new Uint8Array([0, 7, 8, 0]), udp4()) }), {
    linkType: 113,
  });
  assert.equal(stack(vl), "sll:vlan:ip:udp");
  assert.equal(vl.vlanIds[0], 7);
});

Deno.test("BSD NULL (host order, either) and LOOP (network order); AF values for IPv6", () => {
  for (const af of [2, 10, 24, 28, 30]) {
    const payload = af === 2
      ? udp4()
      : B.ipv6({ src: A6, dst: Z6, nextHeader: 59, payload: new Uint8Array(0) });
    const want = af === 2 ? "null:ip:udp" : "null:ipv6";
    assert.equal(
      stack(decode(B.nullLoopback({ family: af, payload }), { linkType: 0 })),
      want,
      `NULL LE ${af}`,
    );
    assert.equal(
      stack(decode(B.nullLoopback({ family: af, payload, bigEndian: true }), { linkType: 0 })),
      want,
      `NULL BE ${af}`,
    );
    assert.equal(
      stack(decode(B.nullLoopback({ family: af, payload, bigEndian: true }), { linkType: 108 })),
      want,
      `LOOP ${af}`,
    );
  }
  const odd = decode(B.nullLoopback({ family: 7, payload: new Uint8Array(5) }), { linkType: 0 });
  assert.deepEqual([stack(odd), odd.payloadOff, odd.payloadLen], ["null", 4, 5]);
});

Deno.test("raw IP link types 101, 228, 229", () => {
  assert.equal(stack(decode(udp4(), { linkType: 101 })), "raw:ip:udp");
  const v6 = B.ipv6({
    src: A6,
    dst: Z6,
    nextHeader: 17,
    payload: B.udp({ sport: 1, dport: 2, payload: new Uint8Array(1) }),
  });
  assert.equal(stack(decode(v6, { linkType: 101 })), "raw:ipv6:udp");
  assert.equal(stack(decode(udp4(), { linkType: 228 })), "ip:udp");
  assert.equal(stack(decode(v6, { linkType: 229 })), "ipv6:udp");
  const bad = decode(new Uint8Array([0x50, 0, 0, 0]), { linkType: 101 });
  assert.equal(bad.malformed, true);
});

Deno.test("ARP and RARP", () => {
  const a = B.arp({ op: 1, senderMac: M1, senderIp: A, targetMac: "00:00:00:00:00:00", targetIp: Z });
  const p = decode(eth(0x0806, a));
  assert.equal(stack(p), "eth:arp");
  assert.deepEqual([p.etherType, p.payloadOff, p.payloadLen], [0x0806, 14, 28]);
  assert.equal(stack(decode(eth(0x8035, a))), "eth:arp");
});

Deno.test("non-IP ethertypes: payload after the link layer for application decoders", () => {
  const body = new Uint8Array(34).fill(1);
  for (const et of [0x88f7, 0x88a4, 0x8892]) {
    const p = decode(eth(et, body, [10]));
    assert.equal(p.etherType, et);
    assert.deepEqual([p.payloadOff, p.payloadLen, p.payloadWireLen], [18, 34, 34]);
    assert.equal(p.ipVersion, 0);
  }
});

Deno.test("IPv4 options (IHL > 5) are skipped to the transport header", () => {
  const ip = B.ipv4({
    src: A,
    dst: Z,
    proto: 17,
    options: new Uint8Array([0x94, 0x04, 0, 0]), // router alert
    payload: B.udp({ sport: 9, dport: 10, payload: new Uint8Array(2) }),
  });
  const p = decode(eth(0x0800, ip));
  assert.deepEqual([p.ipHdrLen, p.l4Off, p.srcPort], [24, 38, 9]);
});

Deno.test("IPv6 extension headers: hop-by-hop, routing, destination options, AH walked to the transport", () => {
  const udp = B.udp({ sport: 53, dport: 4000, payload: new Uint8Array(5), src: A6, dst: Z6 });
  const ip = B.ipv6({
    src: A6,
    dst: Z6,
    nextHeader: 17,
    payload: udp,
    extHeaders: [
      { type: 0, body: new Uint8Array([5, 2, 0, 0, 1, 0]) },
      { type: 43, body: new Uint8Array(22) },
      { type: 60, body: new Uint8Array(6) },
      { type: 51, body: new Uint8Array(14) },
    ],
  });
  const p = decode(eth(0x86dd, ip));
  assert.equal(stack(p), "eth:ipv6:udp");
  assert.equal(p.ipProto, 17);
  assert.equal(p.ipHdrLen, 40 + 8 + 24 + 8 + 16);
  assert.deepEqual([p.srcPort, p.dstPort, p.payloadLen], [53, 4000, 5]);
  assert.equal(formatIpv6(p.src), A6);
  // An atomic fragment (offset 0, M = 0) is a whole datagram.
  const atomic = B.ipv6({
    src: A6,
    dst: Z6,
    nextHeader: 17,
    payload: udp,
    extHeaders: [{ type: 44, body: B.ipv6FragBody(0, false, 9) }],
  });
  const q = decode(eth(0x86dd, atomic));
  assert.equal(stack(q), "eth:ipv6:ipv6.fraghdr:udp");
  assert.equal(q.isFragment, false);
});

Deno.test("TCP header and options: MSS, window scale, SACK-permitted, timestamps, SACK blocks", () => {
  const options = B.tcpOptions({
    mss: 1460,
    wscale: 7,
    sackPermitted: true,
    timestamps: [123456789, 0xfffffffe],
  });
  const seg = B.tcp({
    sport: 40000,
    dport: 80,
    seq: 0xfffffff0,
    ack: 0x80000001,
    flags: TcpFlag.SYN | TcpFlag.ACK,
    window: 29200,
    options,
    src: A,
    dst: Z,
  });
  const p = decode(eth(0x0800, B.ipv4({ src: A, dst: Z, proto: 6, payload: seg })));
  assert.equal(stack(p), "eth:ip:tcp");
  assert.deepEqual([p.srcPort, p.dstPort, p.tcpSeq, p.tcpAck], [40000, 80, 0xfffffff0, 0x80000001]);
  assert.deepEqual([p.tcpFlags, p.tcpWindow, p.tcpHdrLen], [0x12, 29200, 20 + options.length]);
  assert.deepEqual([p.tcpMss, p.tcpWscale, p.tcpSackPermitted, p.tcpTsVal, p.tcpTsEcr], [
    1460,
    7,
    true,
    123456789,
    0xfffffffe,
  ]);
  const sack = B.tcp({
    sport: 1,
    dport: 2,
    flags: TcpFlag.ACK,
    options: B.tcpOptions({ sack: [[100, 200], [0xffffff00, 5]] }),
    payload: new Uint8Array(7),
  });
  const q = decode(eth(0x0800, B.ipv4({ src: A, dst: Z, proto: 6, payload: sack })));
  assert.equal(q.tcpSackCount, 2);
  assert.deepEqual(Array.from(q.tcpSack.subarray(0, 4)), [100, 200, 0xffffff00, 5]);
  assert.deepEqual([q.payloadLen, q.payloadWireLen], [7, 7]);
});

Deno.test("TCP options with bad lengths end the walk safely", () => {
  for (const opts of [[2, 0, 5, 0], [2, 40, 0, 0], [3, 3], [8, 1, 0, 0], [1, 1, 1, 2]]) {
    const seg = B.tcp({ sport: 1, dport: 2, flags: 2, options: new Uint8Array(opts) });
    const p = decode(eth(0x0800, B.ipv4({ src: A, dst: Z, proto: 6, payload: seg })));
    assert.equal(p.tcpMss, -1, `options ${opts}`);
    assert.equal(p.malformed, false);
  }
  const hl = B.tcp({ sport: 1, dport: 2, flags: 2, dataOffset: 16 });
  assert.equal(decode(eth(0x0800, B.ipv4({ src: A, dst: Z, proto: 6, payload: hl }))).malformed, true);
});

Deno.test("UDP length: payload from the UDP header, trimmed to captured data; bad lengths malformed", () => {
  const dgram = B.udp({ sport: 1, dport: 2, payload: new Uint8Array(100) });
  const f = eth(0x0800, B.ipv4({ src: A, dst: Z, proto: 17, payload: dgram }));
  const cut = decode(f.subarray(0, 80), { origLen: f.length });
  assert.equal(cut.truncated, true);
  assert.deepEqual([cut.payloadOff, cut.payloadLen, cut.payloadWireLen], [42, 38, 100]);
  const short = B.udp({ sport: 1, dport: 2, payload: new Uint8Array(10), length: 12 });
  const s = decode(eth(0x0800, B.ipv4({ src: A, dst: Z, proto: 17, payload: short })));
  assert.deepEqual([s.payloadLen, s.payloadWireLen, s.malformed], [4, 4, false]);
  const long = B.udp({ sport: 1, dport: 2, payload: new Uint8Array(10), length: 400 });
  assert.equal(decode(eth(0x0800, B.ipv4({ src: A, dst: Z, proto: 17, payload: long }))).malformed, true);
  const tiny = B.udp({ sport: 1, dport: 2, payload: new Uint8Array(10), length: 4 });
  assert.equal(decode(eth(0x0800, B.ipv4({ src: A, dst: Z, proto: 17, payload: tiny }))).malformed, true);
});

Deno.test("ICMP, ICMPv6 and IGMP (v2 and v3 report group)", () => {
  const p = decode(
    eth(
      0x0800,
      B.ipv4({
        src: A,
        dst: Z,
        proto: 1,
        payload: B.icmp({ type: 8, rest: 0x10001, payload: new Uint8Array(56) }),
      }),
    ),
  );
  assert.equal(stack(p), "eth:ip:icmp");
  assert.deepEqual([p.icmpType, p.icmpCode, p.payloadLen], [8, 0, 60]);
  const q = decode(
    eth(
      0x86dd,
      B.ipv6({ src: A6, dst: Z6, nextHeader: 58, payload: B.icmp({ type: 128, src: A6, dst: Z6 }) }),
    ),
  );
  assert.equal(stack(q), "eth:ipv6:icmpv6");
  assert.equal(q.icmpType, 128);
  const g = decode(
    eth(
      0x0800,
      B.ipv4({ src: A, dst: "224.0.0.251", proto: 2, payload: B.igmp({ type: 0x16, group: "224.0.0.251" }) }),
    ),
  );
  assert.equal(stack(g), "eth:ip:igmp");
  assert.deepEqual([g.igmpType, formatIpv4(g.igmpGroup)], [0x16, "224.0.0.251"]);
  const v3 = decode(
    eth(
      0x0800,
      B.ipv4({
        src: A,
        dst: "224.0.0.22",
        proto: 2,
        payload: B.igmpv3Report([{ type: 4, group: "239.1.2.3" }]),
      }),
    ),
  );
  assert.deepEqual([v3.igmpType, formatIpv4(v3.igmpGroup)], [0x22, "239.1.2.3"]);
});

Deno.test("GRE v0 with key carrying IPv4: inner flow, outer addresses kept, tunnel id", () => {
  const inner = B.ipv4({
    src: "192.168.1.1",
    dst: "192.168.1.2",
    proto: 6,
    payload: B.tcp({ sport: 22, dport: 5000, flags: 0x18, payload: new Uint8Array(9) }),
  });
  const outer = B.ipv4({
    src: A,
    dst: Z,
    proto: 47,
    payload: B.gre({ protocol: 0x0800, key: 0xabcdef01, seq: 7, checksum: true, payload: inner }),
  });
  const p = decode(eth(0x0800, outer));
  assert.equal(stack(p), "eth:ip:gre:ip:tcp");
  assert.deepEqual([p.tunnel, p.tunnelId, p.outerIpVersion], [Layer.GRE, 0xabcdef01, 4]);
  assert.equal(formatIpv4(p.outerSrc[0]), A);
  assert.equal(formatIpv4(p.src[0]), "192.168.1.1");
  assert.deepEqual([p.srcPort, p.dstPort, p.payloadLen], [22, 5000, 9]);
  // Transparent Ethernet bridging and IPv6 payloads.
  const teb = decode(
    eth(
      0x0800,
      B.ipv4({
        src: A,
        dst: Z,
        proto: 47,
        payload: B.gre({ protocol: 0x6558, payload: eth(0x0800, udp4()) }),
      }),
    ),
  );
  assert.equal(stack(teb), "eth:ip:gre:eth:ip:udp");
  const v6 = B.ipv6({ src: A6, dst: Z6, nextHeader: 59, payload: new Uint8Array(0) });
  assert.equal(
    stack(
      decode(
        eth(0x0800, B.ipv4({ src: A, dst: Z, proto: 47, payload: B.gre({ protocol: 0x86dd, payload: v6 }) })),
      ),
    ),
    "eth:ip:gre:ipv6",
  );
});

Deno.test("enhanced GRE (PPTP, version 1): call id, seq/ack, PPP to IPv4 and to LCP", () => {
  const ppp = B.concat(new Uint8Array([0xff, 0x03, 0x00, 0x21]), udp4());
  const g = B.gre({ version: 1, protocol: 0x880b, callId: 0x1234, seq: 1, ack: 2, payload: ppp });
  const p = decode(eth(0x0800, B.ipv4({ src: A, dst: Z, proto: 47, payload: g })));
  assert.equal(stack(p), "eth:ip:gre:ppp:ip:udp");
  assert.deepEqual([p.tunnel, p.tunnelId], [Layer.GRE, 0x1234]);
  const lcp = B.gre({
    version: 1,
    protocol: 0x880b,
    callId: 5,
    payload: new Uint8Array([0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4]),
  });
  const q = decode(eth(0x0800, B.ipv4({ src: A, dst: Z, proto: 47, payload: lcp })));
  assert.equal(stack(q), "eth:ip:gre:ppp");
  assert.deepEqual([q.payloadLen, q.malformed], [4, false]);
  const bad = B.gre({ version: 1, protocol: 0x0800, payload: new Uint8Array(4) });
  assert.equal(decode(eth(0x0800, B.ipv4({ src: A, dst: Z, proto: 47, payload: bad }))).malformed, true);
});

Deno.test("VXLAN: real frame from tcpdump's vxlan.pcap", () => {
  const f = hex(
    `00163e0871cf36dc851eb340080045000086d2c0400040115152c0a8cb01c0a8ca01b05d12b5007200000800000000
    0064000030880100020016 3e37f604080045000054000040004001234fc0a8cb03c0a8cb050800f6f2050c0001fce29751
    00000000a6f80200000000001011121314151617 18191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637`,
  );
  const p = decode(f);
  assert.equal(stack(p), "eth:ip:udp:vxlan:eth:ip:icmp");
  assert.deepEqual([p.tunnel, p.tunnelId], [Layer.VXLAN, 100]);
  assert.equal(formatIpv4(p.outerSrc[0]), "192.168.203.1");
  assert.equal(formatIpv4(p.src[0]), "192.168.203.3");
  assert.equal(formatIpv4(p.dst[0]), "192.168.203.5");
  assert.equal(p.icmpType, 8);
  assert.equal(p.dstMacOff, 50);
});

Deno.test("GTP-U: T-PDU with extension headers to inner IPv4; non-T-PDU stays UDP payload", () => {
  const ext = new Uint8Array([1, 0x10, 0x01, 0x00]); // PDU session container, no further extension
  const g = B.gtpu({ teid: 0xcafe0001, payload: udp4(), extHeaders: [ext] });
  const p = decode(
    eth(
      0x0800,
      B.ipv4({ src: A, dst: Z, proto: 17, payload: B.udp({ sport: 2152, dport: 2152, payload: g }) }),
    ),
  );
  assert.equal(stack(p), "eth:ip:udp:gtp:ip:udp");
  assert.deepEqual([p.tunnel, p.tunnelId, p.srcPort, p.dstPort], [Layer.GTP, 0xcafe0001, 1234, 5678]);
  const echo = B.gtpu({ teid: 0, type: 1, payload: new Uint8Array(4) });
  const q = decode(
    eth(
      0x0800,
      B.ipv4({ src: A, dst: Z, proto: 17, payload: B.udp({ sport: 2152, dport: 2152, payload: echo }) }),
    ),
  );
  assert.equal(stack(q), "eth:ip:udp:gtp");
  assert.deepEqual([q.srcPort, q.tunnel], [2152, 0]);
  const zeroExt = B.gtpu({ teid: 1, payload: udp4(), extHeaders: [new Uint8Array([0, 0, 0, 0])] });
  const z = decode(
    eth(
      0x0800,
      B.ipv4({ src: A, dst: Z, proto: 17, payload: B.udp({ sport: 2152, dport: 2152, payload: zeroExt }) }),
    ),
  );
  assert.equal(z.malformed, true);
});

Deno.test("IP-in-IP (4 and 41)", () => {
  const p = decode(eth(0x0800, B.ipv4({ src: A, dst: Z, proto: 4, payload: udp4() })));
  assert.equal(stack(p), "eth:ip:ip:udp");
  assert.deepEqual([p.tunnel, p.outerIpVersion, p.ipVersion], [Layer.IPIP, 4, 4]);
  const v6 = B.ipv6({
    src: A6,
    dst: Z6,
    nextHeader: 17,
    payload: B.udp({ sport: 5, dport: 6, payload: new Uint8Array(1) }),
  });
  const q = decode(eth(0x0800, B.ipv4({ src: A, dst: Z, proto: 41, payload: v6 })));
  assert.equal(stack(q), "eth:ip:ipv6:udp");
  assert.deepEqual([q.outerIpVersion, q.ipVersion, formatIpv6(q.src), formatIpv4(q.outerSrc[0])], [
    4,
    6,
    A6,
    A,
  ]);
  assert.deepEqual(Array.from(q.outerSrc.subarray(1)), [0, 0, 0]);
});

Deno.test("deeply nested tunnels stop at the nesting limit without throwing", () => {
  let pkt = udp4();
  for (let i = 0; i < 20; i++) pkt = B.ipv4({ src: A, dst: Z, proto: 4, payload: pkt });
  const p = decode(eth(0x0800, pkt));
  assert.equal(p.malformed, true);
  assert.ok(p.depth <= p.layers.length);
});

Deno.test("malformed headers: bad IP version, IHL, total length, IPv6 version", () => {
  const ip = udp4();
  const v = ip.slice();
  v[0] = 0x55;
  assert.equal(decode(eth(0x0800, v)).malformed, true);
  const ihl = ip.slice();
  ihl[0] = 0x44;
  assert.equal(decode(eth(0x0800, ihl)).malformed, true);
  const tl = ip.slice();
  tl[2] = 0;
  tl[3] = 10;
  assert.equal(decode(eth(0x0800, tl)).malformed, true);
  const big = ip.slice();
  big[2] = 0x10;
  const b = decode(eth(0x0800, big));
  assert.equal(b.malformed, true);
  assert.equal(b.truncated, false);
  const v6 = B.ipv6({ src: A6, dst: Z6, nextHeader: 59, payload: new Uint8Array(0) });
  v6[0] = 0x40;
  assert.equal(decode(eth(0x86dd, v6)).malformed, true);
  const ext = B.ipv6({
    src: A6,
    dst: Z6,
    nextHeader: 17,
    payload: new Uint8Array(0),
    extHeaders: [{ type: 0, body: new Uint8Array(6) }],
  });
  ext[41] = 9; // hop-by-hop length beyond the packet
  assert.equal(decode(eth(0x86dd, ext)).malformed, true);
  const runt = decode(new Uint8Array(10));
  assert.equal(runt.malformed, true);
  assert.equal(decode(eth(0x0555, new Uint8Array(10))).malformed, true);
});

/** Frames covering every branch, each cut at every length: never throws, always flags truncation. */
function truncationCases(): [string, Uint8Array, number][] {
  const tcpSeg = B.tcp({
    sport: 1,
    dport: 2,
    flags: 2,
    options: B.tcpOptions({ mss: 1460, timestamps: [1, 2] }),
    payload: new Uint8Array(3),
  });
  const v6 = B.ipv6({
    src: A6,
    dst: Z6,
    nextHeader: 6,
    payload: tcpSeg,
    extHeaders: [{ type: 0, body: new Uint8Array(6) }, { type: 60, body: new Uint8Array(6) }],
  });
  const ppp = B.concat(new Uint8Array([0xff, 0x03, 0x00, 0x21]), udp4());
  return [
    [
      "eth/vlan/ip/tcp",
      eth(0x0800, B.ipv4({ src: A, dst: Z, proto: 6, payload: tcpSeg }), [5, 6], [0x88a8, 0x8100]),
      1,
    ],
    ["eth/ipv6 ext/tcp", eth(0x86dd, v6), 1],
    ["eth/mpls/ip/udp", eth(0x8847, B.mpls({ labels: [1, 2], payload: udp4() })), 1],
    ["eth/arp", eth(0x0806, B.arp({ op: 1, senderMac: M1, senderIp: A, targetMac: M2, targetIp: Z })), 1],
    [
      "sll/ip/icmp",
      B.sll({
        protocol: 0x0800,
        payload: B.ipv4({ src: A, dst: Z, proto: 1, payload: B.icmp({ type: 8 }) }),
      }),
      113,
    ],
    [
      "sll2/ip/igmp",
      B.sll2({
        protocol: 0x0800,
        payload: B.ipv4({
          src: A,
          dst: Z,
          proto: 2,
          payload: B.igmpv3Report([{ type: 2, group: "239.0.0.1" }]),
        }),
      }),
      276,
    ],
    [
      "null/ipv6/icmpv6",
      B.nullLoopback({
        family: 30,
        payload: B.ipv6({
          src: A6,
          dst: Z6,
          nextHeader: 58,
          payload: B.icmp({ type: 135, src: A6, dst: Z6 }),
        }),
      }),
      0,
    ],
    [
      "gre/ppp",
      eth(
        0x0800,
        B.ipv4({
          src: A,
          dst: Z,
          proto: 47,
          payload: B.gre({ version: 1, protocol: 0x880b, seq: 1, ack: 1, payload: ppp }),
        }),
      ),
      1,
    ],
    [
      "gre key/ip",
      eth(
        0x0800,
        B.ipv4({ src: A, dst: Z, proto: 47, payload: B.gre({ protocol: 0x0800, key: 1, payload: udp4() }) }),
      ),
      1,
    ],
    [
      "vxlan",
      eth(
        0x0800,
        B.ipv4({
          src: A,
          dst: Z,
          proto: 17,
          payload: B.udp({
            sport: 9,
            dport: 4789,
            payload: B.vxlan({ vni: 3, payload: eth(0x0800, udp4()) }),
          }),
        }),
      ),
      1,
    ],
    [
      "gtp-u ext",
      eth(
        0x0800,
        B.ipv4({
          src: A,
          dst: Z,
          proto: 17,
          payload: B.udp({
            sport: 2152,
            dport: 2152,
            payload: B.gtpu({ teid: 9, payload: udp4(), extHeaders: [new Uint8Array([1, 0, 0, 0])] }),
          }),
        }),
      ),
      1,
    ],
    ["ipip", eth(0x0800, B.ipv4({ src: A, dst: Z, proto: 4, payload: udp4() })), 1],
    [
      "raw ipv4 options",
      B.ipv4({
        src: A,
        dst: Z,
        proto: 17,
        options: new Uint8Array([0x94, 4, 0, 0]),
        payload: B.udp({ sport: 1, dport: 2, payload: new Uint8Array(4) }),
      }),
      101,
    ],
  ];
}

Deno.test("truncation at every header boundary: never throws, sets truncated, never malformed", () => {
  const dec = new PacketDecoder();
  const p = new Packet();
  for (const [name, frame, linkType] of truncationCases()) {
    dec.decode(record(frame, { linkType }), p);
    assert.equal(p.truncated || p.malformed, false, `${name} whole: ${stack(p)}`);
    const full = p.depth;
    for (let cap = 0; cap < frame.length; cap++) {
      dec.decode(record(frame.subarray(0, cap), { linkType, origLen: frame.length }), p);
      assert.equal(p.truncated, true, `${name} cut at ${cap}: ${stack(p)}`);
      assert.equal(p.malformed, false, `${name} cut at ${cap}: ${stack(p)}`);
      assert.ok(p.depth <= full, `${name} cut at ${cap}`);
      assert.ok(
        p.payloadOff < 0 || p.payloadOff + p.payloadLen <= cap,
        `${name} payload within capture at ${cap}`,
      );
    }
  }
});

Deno.test("random bytes on every link type never throw and keep offsets inside the data", () => {
  const dec = new PacketDecoder({ maxFragmentBytes: 1 << 20 });
  const p = new Packet();
  let seed = 12345;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16;
  const bases = truncationCases().map((c) => c[1]);
  for (let i = 0; i < 20000; i++) {
    const base = bases[i % bases.length];
    const f = base.slice();
    for (let k = 0; k < 3; k++) f[rnd() % f.length] = rnd() & 0xff;
    const lt = [1, 113, 276, 0, 108, 101, 228, 229][i % 8];
    dec.decode(record(f, { linkType: lt, tsSec: i }), p);
    assert.ok(p.payloadOff < 0 || p.payloadOff + p.payloadLen <= p.data.length);
    assert.ok(p.l3Off < p.data.length);
  }
});

Deno.test("frames without IP carry their MAC addresses in src/dst words 0-1", () => {
  const p = decode(eth(0x88f7, new Uint8Array(44)));
  assert.deepEqual(Array.from(p.src), [0x00112233, 0x4455, 0, 0]);
  assert.deepEqual(Array.from(p.dst), [0x66778899, 0xaabb, 0, 0]);
  const s = decode(B.sll({ protocol: 0x88cc, payload: new Uint8Array(20), addr: B.mac(M2) }), {
    linkType: 113,
  });
  assert.deepEqual(Array.from(s.src), [0x66778899, 0xaabb, 0, 0]);
  assert.deepEqual(Array.from(s.dst), [0, 0, 0, 0]);
  // With IP, the words are the IP addresses.
  assert.deepEqual(Array.from(decode(eth(0x0800, udp4())).src), [0x0a000001, 0, 0, 0]);
});

Deno.test("SLL netlink (ARPHRD 824) is not dispatched as an EtherType", () => {
  const nl = B.sll({ protocol: 0x0800, arphrd: 824, payload: udp4(), addr: new Uint8Array(0) });
  const p = decode(nl, { linkType: 113 });
  assert.equal(stack(p), "sll");
  assert.deepEqual([p.payloadOff, p.ipVersion], [16, 0]);
  const gre = decode(B.sll({ protocol: 0x0800, arphrd: 778, payload: udp4(), addr: new Uint8Array(4) }), {
    linkType: 113,
  });
  assert.equal(stack(gre), "sll:ip:udp");
});

Deno.test("IPv4 total length 0 (TSO capture) takes the length from the frame", () => {
  const ip = B.ipv4({
    src: A,
    dst: Z,
    proto: 6,
    totalLength: 0,
    payload: B.tcp({ sport: 1, dport: 2, flags: 0x10, payload: new Uint8Array(3000) }),
  });
  const p = decode(eth(0x0800, ip));
  assert.deepEqual([p.malformed, p.truncated, p.payloadLen, p.payloadWireLen], [false, false, 3000, 3000]);
});

Deno.test("PPTP GRE acknowledgement without payload is neither PPP nor malformed", () => {
  const ack = B.gre({ version: 1, protocol: 0x880b, callId: 9, ack: 41, payload: new Uint8Array(0) });
  const p = decode(eth(0x0800, B.ipv4({ src: A, dst: Z, proto: 47, payload: ack })));
  assert.equal(stack(p), "eth:ip:gre");
  assert.deepEqual([p.malformed, p.truncated, p.tunnelId, p.payloadLen], [false, false, 9, 0]);
});
