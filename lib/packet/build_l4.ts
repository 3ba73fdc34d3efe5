/** Transport and tunnel header builders (UDP, TCP, ICMP, IGMP, GRE, VXLAN, GTP-U); see build.ts. */
import {
  bad,
  be16,
  be32,
  checksum,
  concat,
  ip4,
  type Ip4Like,
  type L4Addr,
  pseudoSum,
} from "./build_bytes.ts";

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
