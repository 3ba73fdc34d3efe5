/**
 * Frame builders for tests and the traffic generator: real header layouts with correct lengths and
 * checksums, composed inside-out (`ethernet({payload: ipv4({payload: udp(...)})})`). Not a hot
 * path: every call allocates its result. Bad arguments throw MppError("bad_usage").
 */
import { EtherType } from "./layers.ts";
import {
  bad,
  be16,
  be32,
  checksum,
  concat,
  ip4,
  type Ip4Like,
  ip6Bytes,
  type Ip6Like,
  mac,
  type MacLike,
} from "./build_bytes.ts";

export {
  checksum,
  concat,
  ip4,
  type Ip4Like,
  ip6,
  type Ip6Like,
  type L4Addr,
  mac,
  type MacLike,
} from "./build_bytes.ts";
export * from "./build_l4.ts";

export interface EthernetOpts {
  src: MacLike;
  dst: MacLike;
  etherType: number;
  /** VLAN ids, outermost first; each tagged with 0x8100 unless `vlanTpids` says otherwise. */
  vlans?: number[];
  vlanTpids?: number[];
  payload: Uint8Array;
  /** Pad to the 60-byte Ethernet minimum (as a NIC would). */
  pad?: boolean;
}

export function ethernet(o: EthernetOpts): Uint8Array {
  const vlans = o.vlans ?? [];
  const h = new Uint8Array(14 + 4 * vlans.length);
  h.set(mac(o.dst), 0);
  h.set(mac(o.src), 6);
  let off = 12;
  vlans.forEach((id, i) => {
    be16(h, off, o.vlanTpids?.[i] ?? EtherType.VLAN);
    be16(h, off + 2, id & 0x0fff);
    off += 4;
  });
  be16(h, off, o.etherType);
  const f = concat(h, o.payload);
  return o.pad && f.length < 60 ? concat(f, new Uint8Array(60 - f.length)) : f;
}

export interface Ipv4Opts {
  src: Ip4Like;
  dst: Ip4Like;
  proto: number;
  payload: Uint8Array;
  ttl?: number;
  id?: number;
  /** 3 flag bits: 0b010 DF, 0b001 MF. */
  flags?: number;
  /** Fragment offset in bytes (a multiple of 8). */
  fragOffset?: number;
  /** Option bytes, zero-padded to a multiple of 4. */
  options?: Uint8Array;
  tos?: number;
  /** Override the total length field (for malformed-header tests). */
  totalLength?: number;
}

export function ipv4(o: Ipv4Opts): Uint8Array {
  const optLen = o.options ? (o.options.length + 3) & ~3 : 0;
  if (optLen > 40) bad("IPv4 options longer than 40 bytes");
  const fo = o.fragOffset ?? 0;
  if (fo % 8 !== 0 || fo > 0xffff) bad(`IPv4 fragment offset ${fo} is not a multiple of 8 below 65536`);
  const ihl = 20 + optLen;
  const h = new Uint8Array(ihl);
  h[0] = 0x40 | (ihl / 4);
  h[1] = o.tos ?? 0;
  be16(h, 2, o.totalLength ?? ihl + o.payload.length);
  be16(h, 4, o.id ?? 0);
  be16(h, 6, ((o.flags ?? 0) << 13) | (fo / 8));
  h[8] = o.ttl ?? 64;
  h[9] = o.proto;
  be32(h, 12, ip4(o.src));
  be32(h, 16, ip4(o.dst));
  if (o.options) h.set(o.options, 20);
  be16(h, 10, checksum(h));
  return concat(h, o.payload);
}

export interface Ipv6ExtHeader {
  /** This header's type: 0 hop-by-hop, 43 routing, 60 destination options, 44 fragment, 51 AH. */
  type: number;
  /** Bytes after the next-header and length bytes; padded to the header's unit. */
  body: Uint8Array;
}

export interface Ipv6Opts {
  src: Ip6Like;
  dst: Ip6Like;
  nextHeader: number;
  payload: Uint8Array;
  hopLimit?: number;
  flowLabel?: number;
  extHeaders?: Ipv6ExtHeader[];
  /** Override the payload length field. */
  payloadLength?: number;
}

export function ipv6(o: Ipv6Opts): Uint8Array {
  const exts = o.extHeaders ?? [];
  const parts: Uint8Array[] = [];
  exts.forEach((e, i) => {
    const next = i + 1 < exts.length ? exts[i + 1].type : o.nextHeader;
    const unit = e.type === 51 ? 4 : 8;
    const len = Math.max(Math.ceil((e.body.length + 2) / unit) * unit, 8);
    if (e.type === 44 && len !== 8) bad("IPv6 fragment header body must be 6 bytes");
    const h = new Uint8Array(len);
    h[0] = next;
    h[1] = e.type === 51 ? len / 4 - 2 : e.type === 44 ? 0 : len / 8 - 1;
    h.set(e.body, 2);
    parts.push(h);
  });
  const body = concat(...parts, o.payload);
  const h = new Uint8Array(40);
  be32(h, 0, ((6 << 28) | ((o.flowLabel ?? 0) & 0xfffff)) >>> 0);
  be16(h, 4, o.payloadLength ?? body.length);
  h[6] = exts.length > 0 ? exts[0].type : o.nextHeader;
  h[7] = o.hopLimit ?? 64;
  h.set(ip6Bytes(o.src), 8);
  h.set(ip6Bytes(o.dst), 24);
  return concat(h, body);
}

/** Body of an IPv6 fragment header: offset in bytes (multiple of 8), M flag, identification. */
export function ipv6FragBody(offset: number, more: boolean, id: number): Uint8Array {
  const b = new Uint8Array(6);
  be16(b, 0, (offset & 0xfff8) | (more ? 1 : 0));
  be32(b, 2, id);
  return b;
}

export function sll(
  o: { protocol: number; payload: Uint8Array; pktType?: number; arphrd?: number; addr?: Uint8Array },
): Uint8Array {
  const h = new Uint8Array(16);
  be16(h, 0, o.pktType ?? 0);
  be16(h, 2, o.arphrd ?? 1);
  const addr = o.addr ?? new Uint8Array(6);
  be16(h, 4, addr.length);
  h.set(addr.subarray(0, 8), 6);
  be16(h, 14, o.protocol);
  return concat(h, o.payload);
}

export function sll2(
  o: {
    protocol: number;
    payload: Uint8Array;
    ifindex?: number;
    pktType?: number;
    arphrd?: number;
    addr?: Uint8Array;
  },
): Uint8Array {
  const h = new Uint8Array(20);
  be16(h, 0, o.protocol);
  be32(h, 4, o.ifindex ?? 1);
  be16(h, 8, o.arphrd ?? 1);
  h[10] = o.pktType ?? 0;
  const addr = o.addr ?? new Uint8Array(6);
  h[11] = addr.length;
  h.set(addr.subarray(0, 8), 12);
  return concat(h, o.payload);
}

/** BSD loopback header: address family in little-endian (DLT_NULL) or network order (DLT_LOOP). */
export function nullLoopback(o: { family: number; payload: Uint8Array; bigEndian?: boolean }): Uint8Array {
  const h = new Uint8Array(4);
  if (o.bigEndian) be32(h, 0, o.family);
  else new DataView(h.buffer).setUint32(0, o.family, true);
  return concat(h, o.payload);
}

/** MPLS label stack, bottom-of-stack set on the last entry. */
export function mpls(o: { labels: number[]; payload: Uint8Array; ttl?: number; tc?: number }): Uint8Array {
  if (o.labels.length === 0) bad("MPLS needs at least one label");
  const h = new Uint8Array(4 * o.labels.length);
  o.labels.forEach((l, i) => {
    const bos = i === o.labels.length - 1 ? 1 : 0;
    be32(h, 4 * i, (((l & 0xfffff) << 12) | ((o.tc ?? 0) << 9) | (bos << 8) | (o.ttl ?? 64)) >>> 0);
  });
  return concat(h, o.payload);
}

export function arp(
  o: { op: number; senderMac: MacLike; senderIp: Ip4Like; targetMac: MacLike; targetIp: Ip4Like },
): Uint8Array {
  const m = new Uint8Array(28);
  be16(m, 0, 1);
  be16(m, 2, 0x0800);
  m[4] = 6;
  m[5] = 4;
  be16(m, 6, o.op);
  m.set(mac(o.senderMac), 8);
  be32(m, 14, ip4(o.senderIp));
  m.set(mac(o.targetMac), 18);
  be32(m, 24, ip4(o.targetIp));
  return m;
}

/** Splits an IPv4 packet into fragments of at most `mtu` bytes (options copied to every fragment). */
export function fragmentIpv4(datagram: Uint8Array, mtu: number): Uint8Array[] {
  const ihl = (datagram[0] & 0x0f) * 4;
  const step = (mtu - ihl) & ~7;
  if (step <= 0) bad(`MTU ${mtu} leaves no room for fragment data`);
  const data = datagram.subarray(ihl);
  const out: Uint8Array[] = [];
  for (let off = 0; off < data.length || off === 0; off += step) {
    const chunk = data.subarray(off, Math.min(off + step, data.length));
    const last = off + step >= data.length;
    const h = datagram.slice(0, ihl);
    be16(h, 2, ihl + chunk.length);
    be16(h, 6, (h[6] & 0x40) << 8 | (last ? 0 : 0x2000) | (off / 8));
    be16(h, 10, 0);
    be16(h, 10, checksum(h));
    out.push(concat(h, chunk));
    if (last) break;
  }
  return out;
}

/** Splits an IPv6 packet (no extension headers) into fragments of at most `mtu` bytes. */
export function fragmentIpv6(packet: Uint8Array, mtu: number, id: number): Uint8Array[] {
  const nh = packet[6];
  const data = packet.subarray(40);
  const step = (mtu - 48) & ~7;
  if (step <= 0) bad(`MTU ${mtu} leaves no room for fragment data`);
  const out: Uint8Array[] = [];
  for (let off = 0; off < data.length || off === 0; off += step) {
    const chunk = data.subarray(off, Math.min(off + step, data.length));
    const last = off + step >= data.length;
    const h = packet.slice(0, 48);
    h[6] = 44;
    be16(h, 4, 8 + chunk.length);
    h[40] = nh;
    h[41] = 0;
    be16(h, 42, off | (last ? 0 : 1));
    be32(h, 44, id);
    out.push(concat(h, chunk));
    if (last) break;
  }
  return out;
}
