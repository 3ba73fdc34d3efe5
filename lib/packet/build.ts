/**
 * Frame builders for tests and the traffic generator: real header layouts with correct lengths and
 * checksums, composed inside-out (`ethernet({payload: ipv4({payload: udp(...)})})`). Not a hot
 * path: every call allocates its result. Bad arguments throw MppError("bad_usage").
 */
import { MppError } from "../errors.ts";
import { EtherType } from "./layers.ts";

export type MacLike = string | Uint8Array;
export type Ip4Like = string | number;
export type Ip6Like = string | Uint32Array;

function bad(what: string): never {
  throw new MppError("bad_usage", `frame builder: ${what}`, "fix the argument passed to lib/packet/build.ts");
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function be16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}
function be32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/** RFC 1071 one's-complement sum over `b`, starting from `init` (for pseudo-headers). */
export function checksum(b: Uint8Array, init = 0): number {
  let sum = init;
  for (let i = 0; i + 1 < b.length; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (b.length & 1) sum += b[b.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function mac(s: MacLike): Uint8Array {
  if (s instanceof Uint8Array) {
    if (s.length !== 6) bad(`MAC address needs 6 bytes, got ${s.length}`);
    return s;
  }
  const parts = s.split(/[:-]/);
  if (parts.length !== 6 || parts.some((x) => !/^[0-9a-fA-F]{1,2}$/.test(x))) bad(`bad MAC address "${s}"`);
  return Uint8Array.from(parts.map((x) => parseInt(x, 16)));
}

export function ip4(s: Ip4Like): number {
  if (typeof s === "number") return s >>> 0;
  const parts = s.split(".");
  if (parts.length !== 4 || parts.some((x) => !/^\d{1,3}$/.test(x) || Number(x) > 255)) {
    bad(`bad IPv4 address "${s}"`);
  }
  return parts.reduce((a, x) => a * 256 + Number(x), 0) >>> 0;
}

export function ip6(s: Ip6Like): Uint32Array {
  if (s instanceof Uint32Array) {
    if (s.length !== 4) bad("IPv6 address needs 4 words");
    return s;
  }
  let text = s;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = ip4(v4[1]);
    text = text.slice(0, -v4[1].length) + `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) bad(`bad IPv6 address "${s}"`);
  const parse = (h: string) =>
    (h === "" ? [] : h.split(":")).map((x) => {
      if (!/^[0-9a-fA-F]{1,4}$/.test(x)) bad(`bad IPv6 address "${s}"`);
      return parseInt(x, 16);
    });
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  const groups: number[] = [];
  if (halves.length === 2) {
    const fill = 8 - head.length - rest.length;
    if (fill < 1) bad(`bad IPv6 address "${s}"`);
    groups.push(...head, ...new Array<number>(fill).fill(0), ...rest);
  } else {
    if (head.length !== 8) bad(`bad IPv6 address "${s}"`);
    groups.push(...head);
  }
  const w = new Uint32Array(4);
  for (let i = 0; i < 4; i++) w[i] = ((groups[2 * i] << 16) | groups[2 * i + 1]) >>> 0;
  return w;
}

function ip6Bytes(a: Ip6Like): Uint8Array {
  const w = ip6(a);
  const b = new Uint8Array(16);
  for (let i = 0; i < 4; i++) be32(b, 4 * i, w[i]);
  return b;
}

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

/** Pseudo-header sum for the L4 checksum: IPv4 when both addresses are v4-like, else IPv6. */
function pseudoSum(src: Ip4Like | Ip6Like, dst: Ip4Like | Ip6Like, proto: number, len: number): number {
  let sum = 0;
  const isV6 = (a: Ip4Like | Ip6Like) =>
    a instanceof Uint32Array || (typeof a === "string" && a.includes(":"));
  if (isV6(src)) {
    for (const w of [...ip6(src as Ip6Like), ...ip6(dst as Ip6Like)]) sum += (w >>> 16) + (w & 0xffff);
    sum += (len >>> 16) + (len & 0xffff) + proto;
  } else {
    const s = ip4(src as Ip4Like);
    const d = ip4(dst as Ip4Like);
    sum += (s >>> 16) + (s & 0xffff) + (d >>> 16) + (d & 0xffff) + proto + len;
  }
  return sum;
}

export interface L4Addr {
  /** IP addresses for the pseudo-header checksum; without them the checksum is left 0. */
  src?: Ip4Like | Ip6Like;
  dst?: Ip4Like | Ip6Like;
}

export interface UdpOpts extends L4Addr {
  sport: number;
  dport: number;
  payload: Uint8Array;
  /** Override the length field. */
  length?: number;
}

export function udp(o: UdpOpts): Uint8Array {
  const seg = new Uint8Array(8 + o.payload.length);
  be16(seg, 0, o.sport);
  be16(seg, 2, o.dport);
  be16(seg, 4, o.length ?? seg.length);
  seg.set(o.payload, 8);
  if (o.src !== undefined && o.dst !== undefined) {
    const c = checksum(seg, pseudoSum(o.src, o.dst, 17, seg.length));
    be16(seg, 6, c === 0 ? 0xffff : c);
  }
  return seg;
}

export interface TcpOptionsSpec {
  mss?: number;
  wscale?: number;
  sackPermitted?: boolean;
  timestamps?: [number, number];
  sack?: [number, number][];
}

/** TCP option bytes in the usual order, NOP-aligned. */
export function tcpOptions(o: TcpOptionsSpec): Uint8Array {
  const b: number[] = [];
  const u32 = (v: number) => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
  if (o.mss !== undefined) b.push(2, 4, (o.mss >>> 8) & 0xff, o.mss & 0xff);
  if (o.sackPermitted) b.push(1, 1, 4, 2);
  if (o.timestamps) b.push(1, 1, 8, 10, ...u32(o.timestamps[0]), ...u32(o.timestamps[1]));
  if (o.wscale !== undefined) b.push(1, 3, 3, o.wscale);
  if (o.sack && o.sack.length > 0) {
    b.push(1, 1, 5, 2 + 8 * o.sack.length);
    for (const [l, r] of o.sack) b.push(...u32(l), ...u32(r));
  }
  return Uint8Array.from(b);
}

export interface TcpOpts extends L4Addr {
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  /** Flags byte (see TcpFlag). */
  flags: number;
  window?: number;
  options?: Uint8Array;
  payload?: Uint8Array;
  /** Override the data offset (header length in bytes, for malformed-header tests). */
  dataOffset?: number;
}

export function tcp(o: TcpOpts): Uint8Array {
  const optLen = o.options ? (o.options.length + 3) & ~3 : 0;
  if (optLen > 40) bad("TCP options longer than 40 bytes");
  const hl = 20 + optLen;
  const payload = o.payload ?? new Uint8Array(0);
  const seg = new Uint8Array(hl + payload.length);
  be16(seg, 0, o.sport);
  be16(seg, 2, o.dport);
  be32(seg, 4, o.seq ?? 0);
  be32(seg, 8, o.ack ?? 0);
  seg[12] = ((o.dataOffset ?? hl) / 4) << 4;
  seg[13] = o.flags;
  be16(seg, 14, o.window ?? 65535);
  if (o.options) seg.set(o.options, 20);
  seg.set(payload, hl);
  if (o.src !== undefined && o.dst !== undefined) {
    be16(seg, 16, checksum(seg, pseudoSum(o.src, o.dst, 6, seg.length)));
  }
  return seg;
}

export interface IcmpOpts extends L4Addr {
  type: number;
  code?: number;
  /** The 4 bytes after the checksum (echo: id << 16 | seq). */
  rest?: number;
  payload?: Uint8Array;
}

/** ICMP for IPv4; with `src`/`dst` as IPv6 it is ICMPv6 with the pseudo-header checksum. */
export function icmp(o: IcmpOpts): Uint8Array {
  const payload = o.payload ?? new Uint8Array(0);
  const m = new Uint8Array(8 + payload.length);
  m[0] = o.type;
  m[1] = o.code ?? 0;
  be32(m, 4, o.rest ?? 0);
  m.set(payload, 8);
  const v6 = o.src !== undefined && o.dst !== undefined &&
    (o.src instanceof Uint32Array || (typeof o.src === "string" && o.src.includes(":")));
  be16(m, 2, v6 ? checksum(m, pseudoSum(o.src!, o.dst!, 58, m.length)) : checksum(m));
  return m;
}

export interface IgmpOpts {
  type: number;
  maxResp?: number;
  group: Ip4Like;
  /** Bytes after the group (v3 queries: flags, QQIC, sources). */
  extra?: Uint8Array;
}

export function igmp(o: IgmpOpts): Uint8Array {
  const m = new Uint8Array(8 + (o.extra?.length ?? 0));
  m[0] = o.type;
  m[1] = o.maxResp ?? 0;
  be32(m, 4, ip4(o.group));
  if (o.extra) m.set(o.extra, 8);
  be16(m, 2, checksum(m));
  return m;
}

/** IGMPv3 membership report (type 0x22) with one record per group (no sources). */
export function igmpv3Report(records: { type: number; group: Ip4Like }[]): Uint8Array {
  const m = new Uint8Array(8 + 8 * records.length);
  m[0] = 0x22;
  be16(m, 6, records.length);
  records.forEach((r, i) => {
    m[8 + 8 * i] = r.type;
    be32(m, 12 + 8 * i, ip4(r.group));
  });
  be16(m, 2, checksum(m));
  return m;
}

export interface GreOpts {
  protocol: number;
  payload: Uint8Array;
  /** 0 (RFC 2784/2890) or 1 (PPTP enhanced GRE, RFC 2637). */
  version?: 0 | 1;
  key?: number;
  seq?: number;
  /** Version 1: acknowledgement number. */
  ack?: number;
  /** Version 1: call id (the low half of the key field). */
  callId?: number;
  checksum?: boolean;
}

export function gre(o: GreOpts): Uint8Array {
  const v1 = o.version === 1;
  let flags = v1 ? 1 : 0;
  if (o.checksum && !v1) flags |= 0x8000;
  if (v1 || o.key !== undefined) flags |= 0x2000;
  if (o.seq !== undefined) flags |= 0x1000;
  if (v1 && o.ack !== undefined) flags |= 0x0080;
  const h = new Uint8Array(
    4 + (flags & 0x8000 ? 4 : 0) + (flags & 0x2000 ? 4 : 0) + (o.seq !== undefined ? 4 : 0) +
      (flags & 0x0080 ? 4 : 0),
  );
  be16(h, 0, flags);
  be16(h, 2, o.protocol);
  let i = 4;
  if (flags & 0x8000) i += 4;
  if (flags & 0x2000) {
    if (v1) {
      be16(h, i, o.payload.length);
      be16(h, i + 2, o.callId ?? 0);
    } else be32(h, i, o.key ?? 0);
    i += 4;
  }
  if (o.seq !== undefined) {
    be32(h, i, o.seq);
    i += 4;
  }
  if (flags & 0x0080) be32(h, i, o.ack ?? 0);
  const out = concat(h, o.payload);
  if (flags & 0x8000) be16(out, 4, checksum(out));
  return out;
}

export function vxlan(o: { vni: number; payload: Uint8Array }): Uint8Array {
  const h = new Uint8Array(8);
  h[0] = 0x08;
  be32(h, 4, (o.vni & 0xffffff) << 8);
  return concat(h, o.payload);
}

/** GTP-U v1 (TS 29.281); `extHeaders` are complete extension headers (length byte first, next type last). */
export function gtpu(
  o: { teid: number; payload: Uint8Array; type?: number; extHeaders?: Uint8Array[] },
): Uint8Array {
  const exts = o.extHeaders ?? [];
  const optional = exts.length > 0 ? 4 : 0;
  const h = new Uint8Array(8 + optional);
  h[0] = 0x30 | (exts.length > 0 ? 0x04 : 0);
  h[1] = o.type ?? 0xff;
  const body = concat(...exts, o.payload);
  be16(h, 2, optional + body.length);
  be32(h, 4, o.teid);
  if (exts.length > 0) h[11] = 0x85; // first extension type (PDU session container in practice)
  return concat(h, body);
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
