/**
 * Address formatting and a tcpdump `-n -q`-like one-line summary of a decoded Packet, for reports
 * and the live capture view. Not a hot path: these build strings.
 */
import { ipv6GroupsText } from "../ipv6_text.ts";
import { Layer } from "./layers.ts";
import type { Packet } from "./packet.ts";

/** IPv4 address held as an unsigned 32-bit number → dotted quad. */
export function formatIpv4(n: number): string {
  return `${(n >>> 24) & 0xff}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

/** IPv6 address as four big-endian 32-bit words → RFC 5952 text (lower case, longest zero run ::). */
export function formatIpv6(w: ArrayLike<number>): string {
  const g: number[] = [];
  for (let i = 0; i < 4; i++) g.push((w[i] >>> 16) & 0xffff, w[i] & 0xffff);
  // IPv4-mapped addresses keep the dotted tail (RFC 5952 section 5).
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${formatIpv4(w[3] >>> 0)}`;
  }
  return ipv6GroupsText(g);
}

/** Six bytes at `off` → "00:11:22:33:44:55". */
export function formatMac(b: Uint8Array, off = 0): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push((b[off + i] ?? 0).toString(16).padStart(2, "0"));
  return parts.join(":");
}

/** The source or destination address of the innermost IP header as text ("" without IP). */
export function formatAddr(p: Packet, which: "src" | "dst"): string {
  const a = which === "src" ? p.src : p.dst;
  if (p.ipVersion === 4) return formatIpv4(a[0]);
  if (p.ipVersion === 6) return formatIpv6(a);
  return "";
}

/**
 * One line in the spirit of `tcpdump -n -q`: `IP 10.0.0.1.1234 > 10.0.0.2.80: tcp 100`,
 * `IP6 2001:db8::1 > 2001:db8::2: ICMP6 echo request`, `ARP`, `ethertype 0x88f7, length 60`.
 */
export function summarize(p: Packet): string {
  const flags = (p.truncated ? " [|truncated]" : "") + (p.malformed ? " [malformed]" : "");
  if (p.ipVersion === 0) {
    if (p.etherType === 0x0806) return `ARP, length ${p.origLen}${flags}`;
    if (p.hasMac && p.dstMacOff >= 0 && p.srcMacOff >= 0) {
      const et = p.etherType ? `ethertype 0x${p.etherType.toString(16).padStart(4, "0")}` : "802.3";
      return `${formatMac(p.data, p.srcMacOff)} > ${
        formatMac(p.data, p.dstMacOff)
      }, ${et}, length ${p.origLen}${flags}`;
    }
    return `length ${p.origLen}${flags}`;
  }
  const fam = p.ipVersion === 4 ? "IP" : "IP6";
  const src = formatAddr(p, "src");
  const dst = formatAddr(p, "dst");
  const hasPorts = p.l4Off >= 0 && (p.ipProto === 6 || p.ipProto === 17 || p.ipProto === 132);
  const s = hasPorts ? `${src}.${p.srcPort}` : src;
  const d = hasPorts ? `${dst}.${p.dstPort}` : dst;
  const tun = p.tunnel !== 0 ? ` (in ${tunnelName(p.tunnel)})` : "";
  let what: string;
  if (p.isFragment) what = `ip-proto-${p.ipProto} fragment ${p.payloadWireLen}`;
  else if (p.ipProto === 6) what = `tcp ${p.payloadWireLen}`;
  else if (p.ipProto === 17) what = `UDP, length ${p.payloadWireLen}`;
  else if (p.ipProto === 1) what = `ICMP ${icmpName(p.icmpType)}, length ${p.payloadWireLen + 4}`;
  else if (p.ipProto === 58) what = `ICMP6 ${icmp6Name(p.icmpType)}, length ${p.payloadWireLen + 4}`;
  else if (p.ipProto === 2) what = `igmp type 0x${p.igmpType.toString(16)}`;
  else what = `ip-proto-${p.ipProto} ${p.payloadWireLen}`;
  return `${fam} ${s} > ${d}: ${what}${tun}${flags}`;
}

function tunnelName(id: number): string {
  switch (id) {
    case Layer.GRE:
      return "GRE";
    case Layer.VXLAN:
      return "VXLAN";
    case Layer.GTP:
      return "GTP-U";
    case Layer.IPIP:
      return "IP-in-IP";
  }
  return "tunnel";
}

function icmpName(t: number): string {
  switch (t) {
    case 0:
      return "echo reply";
    case 3:
      return "unreachable";
    case 8:
      return "echo request";
    case 11:
      return "time exceeded";
  }
  return `type ${t}`;
}

function icmp6Name(t: number): string {
  switch (t) {
    case 128:
      return "echo request";
    case 129:
      return "echo reply";
    case 133:
      return "router solicitation";
    case 134:
      return "router advertisement";
    case 135:
      return "neighbor solicitation";
    case 136:
      return "neighbor advertisement";
    case 143:
      return "multicast listener report v2";
  }
  return `type ${t}`;
}
