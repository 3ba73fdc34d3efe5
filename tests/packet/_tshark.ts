/** tshark as a field oracle for decoded packets (used by the corpus and builder oracle tests). */
import { formatIpv4, formatIpv6 } from "../../lib/packet/format.ts";
import { Layer } from "../../lib/packet/layers.ts";
import type { Packet } from "../../lib/packet/packet.ts";

const FIELDS = [
  "frame.number",
  "frame.protocols",
  "frame.interface_id",
  "ip.src",
  "ip.dst",
  "ip.ttl",
  "ipv6.hlim",
  "udp.length",
  "icmp.code",
  "igmp.maddr",
  "ipv6.src",
  "ipv6.dst",
  "tcp.srcport",
  "tcp.dstport",
  "udp.srcport",
  "udp.dstport",
  "tcp.seq_raw",
  "tcp.ack_raw",
  "tcp.flags",
  "tcp.window_size_value",
  "tcp.options.mss_val",
  "tcp.options.wscale.shift",
  "tcp.options.timestamp.tsval",
  "tcp.len",
  "icmp.type",
  "icmpv6.type",
  "igmp.type",
  "vlan.id",
  "ieee8021ad.id",
  "mpls.label",
  "gre.key",
  "gre.key.call_id",
  "vxlan.vni",
  "gtp.teid",
] as const;

export type Row = Record<(typeof FIELDS)[number], string[]>;

export function tsharkRows(file: string): Row[] {
  const args = ["-r", file, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=|"];
  for (const f of FIELDS) args.push("-e", f);
  const r = new Deno.Command("tshark", { args, stdout: "piped", stderr: "piped" }).outputSync();
  const err = new TextDecoder().decode(r.stderr);
  if (/aren't valid/.test(err)) throw new Error(`tshark rejected the field list: ${err}`);
  const out = new TextDecoder().decode(r.stdout).split("\n").filter((l) => l.length > 0);
  const rows = out.map((line) => {
    const cols = line.split("\t");
    const row = {} as Row;
    FIELDS.forEach((f, i) => row[f] = cols[i] ? cols[i].split("|") : []);
    return row;
  });
  // tshark 4.0 shows pcapng custom blocks as frames of their own (no interface, only "data");
  // the capture reader skips them, as they carry no packet.
  return rows.filter((r) => !(r["frame.protocols"][0] === "data" && r["frame.interface_id"].length === 0));
}

const ICMP_ERRORS = [3, 4, 5, 11, 12];

function firstNum(v: string[]): number {
  return v.length === 0 ? -1 : Number(v[0]);
}

/** Compares one decoded packet with tshark's row; returns the differences as text. */
export function compare(p: Packet, t: Row): string[] {
  const d: string[] = [];
  const eq = (what: string, got: unknown, want: unknown) => {
    if (String(got) !== String(want)) d.push(`${what}: mpp ${got}, tshark ${want}`);
  };
  // ICMP errors quote the offending IP header: tshark prints its fields too (but io,phs does not
  // count them as layers); mpp leaves the quote as ICMP payload, so compare with the last IP
  // before it and skip the quoted transport.
  const quoted = p.ipProto === 1 && !p.isFragment && ICMP_ERRORS.includes(p.icmpType) ? 1 : 0;
  const ips4 = t["ip.src"].length - quoted;
  const ips6 = t["ipv6.src"].length;
  if (p.ipVersion === 4) {
    eq("ip.src", formatIpv4(p.src[0]), t["ip.src"][ips4 - 1]);
    eq("ip.dst", formatIpv4(p.dst[0]), t["ip.dst"][ips4 - 1]);
  } else if (p.ipVersion === 6) {
    eq("ipv6.src", formatIpv6(p.src), t["ipv6.src"][ips6 - 1]);
    eq("ipv6.dst", formatIpv6(p.dst), t["ipv6.dst"][ips6 - 1]);
  } else eq("ip layers", 0, ips4 + ips6);
  if (p.ipVersion === 4) eq("ip.ttl", p.ttl, t["ip.ttl"][ips4 - 1]);
  if (p.ipVersion === 6) eq("ipv6.hlim", p.ttl, t["ipv6.hlim"][ips6 - 1]);
  if (p.tunnel !== 0 && p.outerIpVersion === 4) eq("outer ip.src", formatIpv4(p.outerSrc[0]), t["ip.src"][0]);
  const hasTcp = p.layers.subarray(0, p.depth).includes(Layer.TCP);
  const hasUdp = p.layers.subarray(0, p.depth).includes(Layer.UDP);
  if (hasTcp && !p.truncated) {
    eq("tcp.srcport", p.srcPort, t["tcp.srcport"][0]);
    eq("tcp.dstport", p.dstPort, t["tcp.dstport"][0]);
    eq("tcp.seq_raw", p.tcpSeq, t["tcp.seq_raw"][0]);
    eq("tcp.ack_raw", p.tcpAck, t["tcp.ack_raw"][0]);
    eq("tcp.flags", p.tcpFlags, firstNum(t["tcp.flags"]) & 0xff);
    eq("tcp.window", p.tcpWindow, t["tcp.window_size_value"][0]);
    eq("tcp.mss", p.tcpMss, firstNum(t["tcp.options.mss_val"]));
    eq("tcp.wscale", p.tcpWscale, firstNum(t["tcp.options.wscale.shift"]));
    eq("tcp.tsval", p.tcpTsVal, firstNum(t["tcp.options.timestamp.tsval"]));
    eq("tcp.len", p.payloadWireLen, t["tcp.len"][0]);
  } else if (!hasTcp && !quoted) eq("tcp present", false, t["tcp.srcport"].length > 0);
  if (hasUdp && p.tunnel === 0) {
    eq("udp.srcport", p.srcPort, t["udp.srcport"][0]);
    eq("udp.dstport", p.dstPort, t["udp.dstport"][0]);
    const udpLast = p.layers[p.depth - 1] === Layer.UDP;
    if (udpLast && !p.truncated && !p.malformed) {
      eq("udp.length - 8", p.payloadWireLen, Number(t["udp.length"][0]) - 8);
    }
  } else if (hasUdp) {
    // Inner transport after a UDP tunnel: the outer ports were reset with the inner IP.
    eq("udp.srcport (outer)", true, t["udp.srcport"].length > 0);
  } else if (!quoted) eq("udp present", false, t["udp.srcport"].length > 0);
  eq("icmp.type", p.ipProto === 1 && !p.isFragment ? p.icmpType : -1, firstNum(t["icmp.type"]));
  eq("icmpv6.type", p.ipProto === 58 && !p.isFragment ? p.icmpType : -1, firstNum(t["icmpv6.type"]));
  eq("igmp.type", p.igmpType, firstNum(t["igmp.type"]));
  if (p.igmpType >= 0) eq("igmp.maddr", formatIpv4(p.igmpGroup), t["igmp.maddr"][0] ?? "0.0.0.0");
  eq("icmp.code", p.ipProto === 1 && !p.isFragment ? p.icmpCode : -1, firstNum(t["icmp.code"]));
  const vlans = [...t["ieee8021ad.id"], ...t["vlan.id"]].slice(0, 4).join(",");
  eq("vlan ids", Array.from(p.vlanIds.subarray(0, p.vlanCount)).join(","), vlans);
  eq("mpls.label", p.mplsCount > 0 ? p.mplsLabel : -1, firstNum(t["mpls.label"]));
  const tid = t["vxlan.vni"][0] ?? t["gtp.teid"][0] ?? t["gre.key"][0] ?? t["gre.key.call_id"][0];
  if (tid !== undefined) eq("tunnel id", p.tunnelId, Number(tid));
  return d;
}
