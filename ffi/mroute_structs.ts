/**
 * Linux multicast-routing ABI (x86-64): constants and byte-exact encoders/decoders for the structs
 * passed to setsockopt/ioctl on the mroute sockets. Offsets are named so the test can compare each
 * with the C compiler's offsetof. Addresses (in_addr, in6_addr) are in network byte order; every
 * other integer is in host order (little-endian here). Leaf module: no project imports.
 */

export const MRT_INIT = 200;
export const MRT_DONE = 201;
export const MRT_ADD_VIF = 202;
export const MRT_DEL_VIF = 203;
export const MRT_ADD_MFC = 204;
export const MRT_DEL_MFC = 205;
export const MRT_VERSION = 206;
export const MRT_ASSERT = 207;
export const MRT_PIM = 208;
export const MRT_TABLE = 209;
export const MRT_FLUSH = 212;
export const MRT_FLUSH_MFC = 1;
export const MRT_FLUSH_MFC_STATIC = 2;
export const MRT_FLUSH_VIFS = 4;
export const MRT_FLUSH_VIFS_STATIC = 8;
// MRT6_* share the numbers; these aliases keep IPv6 call sites readable.
export const MRT6_INIT = 200;
export const MRT6_DONE = 201;
export const MRT6_ADD_MIF = 202;
export const MRT6_DEL_MIF = 203;
export const MRT6_ADD_MFC = 204;
export const MRT6_DEL_MFC = 205;
export const MRT6_PIM = 208;
export const MRT6_TABLE = 209;

export const MAXVIFS = 32;
export const VIFF_USE_IFINDEX = 0x8;
export const SIOCGETVIFCNT = 0x89e0;
export const SIOCGETSGCNT = 0x89e1;
export const SIOCGETMIFCNT_IN6 = 0x89e0;
export const SIOCGETSGCNT_IN6 = 0x89e1;
export const IGMPMSG_NOCACHE = 1;
export const IGMPMSG_WRONGVIF = 2;
export const IGMPMSG_WHOLEPKT = 3;
export const MRT6MSG_NOCACHE = 1;
export const MRT6MSG_WRONGMIF = 2;

// Generic (protocol-independent) membership options, same numbers at IPPROTO_IP and IPPROTO_IPV6.
export const MCAST_JOIN_GROUP = 42;
export const MCAST_LEAVE_GROUP = 45;
export const MCAST_JOIN_SOURCE_GROUP = 46;
export const MCAST_LEAVE_SOURCE_GROUP = 47;

export const VIFCTL = {
  size: 16,
  vifi: 0,
  flags: 2,
  threshold: 3,
  rateLimit: 4,
  lclIfindex: 8,
  rmtAddr: 12,
} as const;
export const MFCCTL = {
  size: 60,
  origin: 0,
  mcastgrp: 4,
  parent: 8,
  ttls: 10,
  pktCnt: 44,
  byteCnt: 48,
  wrongIf: 52,
  expire: 56,
} as const;
export const MIF6CTL = { size: 12, mifi: 0, flags: 2, threshold: 3, pifi: 4, rateLimit: 8 } as const;
export const SOCKADDR_IN6 = { size: 28, family: 0, port: 2, flowinfo: 4, addr: 8, scopeId: 24 } as const;
export const MF6CCTL = { size: 92, origin: 0, mcastgrp: 28, parent: 56, ifset: 60 } as const;
export const IGMPMSG = { size: 20, msgtype: 8, mbz: 9, vif: 10, vifHi: 11, src: 12, dst: 16 } as const;
export const MRT6MSG = { size: 40, mbz: 0, msgtype: 1, mif: 2, src: 8, dst: 24 } as const;
export const SIOC_SG_REQ = { size: 32, src: 0, grp: 4, pktcnt: 8, bytecnt: 16, wrongIf: 24 } as const;
export const SIOC_SG_REQ6 = { size: 80, src: 0, grp: 28, pktcnt: 56, bytecnt: 64, wrongIf: 72 } as const;
export const SIOC_VIF_REQ = { size: 40, vifi: 0, icount: 8, ocount: 16, ibytes: 24, obytes: 32 } as const;
export const SIOC_MIF_REQ6 = { size: 40, mifi: 0, icount: 8, ocount: 16, ibytes: 24, obytes: 32 } as const;
/** struct group_req / group_source_req (sockaddr_storage is 128 bytes, aligned to 8). */
export const GROUP_REQ = { size: 136, iface: 0, group: 8 } as const;
export const GROUP_SOURCE_REQ = { size: 264, iface: 0, group: 8, source: 136 } as const;
export const SOCKADDR_IN = { size: 16, family: 0, port: 2, addr: 4 } as const;

function u16le(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}
function u32le(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}
function u32be(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}
function readU32be(b: Uint8Array, o: number): number {
  return ((b[o] << 24) >>> 0) + (b[o + 1] << 16) + (b[o + 2] << 8) + b[o + 3];
}
function readU64le(b: Uint8Array, o: number): number {
  // Counters stay below 2^53 in practice; a Number keeps the JSON output simple.
  let v = 0;
  for (let i = 7; i >= 0; i--) v = v * 256 + b[o + i];
  return v;
}

/** IPv4 addresses travel as host numbers (0..2^32-1) inside mpp; written big-endian here. */
export interface VifCtl {
  vifi: number;
  flags: number;
  threshold: number;
  rateLimit?: number;
  /** With VIFF_USE_IFINDEX: the interface index; otherwise the local address as a number. */
  ifindexOrAddr: number;
}

export function encodeVifctl(v: VifCtl, out = new Uint8Array(VIFCTL.size)): Uint8Array {
  out.fill(0);
  u16le(out, VIFCTL.vifi, v.vifi);
  out[VIFCTL.flags] = v.flags;
  out[VIFCTL.threshold] = v.threshold;
  u32le(out, VIFCTL.rateLimit, v.rateLimit ?? 0);
  if (v.flags & VIFF_USE_IFINDEX) u32le(out, VIFCTL.lclIfindex, v.ifindexOrAddr);
  else u32be(out, VIFCTL.lclIfindex, v.ifindexOrAddr);
  return out;
}

export interface MfcCtl {
  origin: number;
  group: number;
  parent: number;
  /** ttls[vif] = threshold (1..254) for each output VIF, 0 for the others. */
  ttls: ArrayLike<number>;
}

export function encodeMfcctl(m: MfcCtl, out = new Uint8Array(MFCCTL.size)): Uint8Array {
  out.fill(0);
  u32be(out, MFCCTL.origin, m.origin);
  u32be(out, MFCCTL.mcastgrp, m.group);
  u16le(out, MFCCTL.parent, m.parent);
  for (let i = 0; i < MAXVIFS && i < m.ttls.length; i++) out[MFCCTL.ttls + i] = m.ttls[i];
  return out;
}

export interface Mif6Ctl {
  mifi: number;
  flags: number;
  threshold: number;
  pifi: number;
  rateLimit?: number;
}

export function encodeMif6ctl(m: Mif6Ctl, out = new Uint8Array(MIF6CTL.size)): Uint8Array {
  out.fill(0);
  u16le(out, MIF6CTL.mifi, m.mifi);
  out[MIF6CTL.flags] = m.flags;
  out[MIF6CTL.threshold] = m.threshold;
  u16le(out, MIF6CTL.pifi, m.pifi);
  u32le(out, MIF6CTL.rateLimit, m.rateLimit ?? 0);
  return out;
}

function sockaddrIn6(out: Uint8Array, o: number, addr: Uint8Array): void {
  u16le(out, o + SOCKADDR_IN6.family, 10);
  out.set(addr.subarray(0, 16), o + SOCKADDR_IN6.addr);
}

export interface Mf6cCtl {
  origin: Uint8Array;
  group: Uint8Array;
  parent: number;
  /** MIF indexes that forward. */
  oifs: ArrayLike<number>;
}

export function encodeMf6cctl(m: Mf6cCtl, out = new Uint8Array(MF6CCTL.size)): Uint8Array {
  out.fill(0);
  sockaddrIn6(out, MF6CCTL.origin, m.origin);
  sockaddrIn6(out, MF6CCTL.mcastgrp, m.group);
  u16le(out, MF6CCTL.parent, m.parent);
  for (let i = 0; i < m.oifs.length; i++) {
    const mif = m.oifs[i];
    const o = MF6CCTL.ifset + (mif >>> 5) * 4;
    u32le(out, o, (readU32le(out, o) | (1 << (mif & 31))) >>> 0);
  }
  return out;
}

function readU32le(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

export interface Upcall {
  type: number;
  vif: number;
  /** IPv4 as a number, or IPv6 as 16 bytes (a copy). */
  src: number | Uint8Array;
  dst: number | Uint8Array;
}

/** An upcall from the IGMP socket, or null when the bytes are an ordinary IGMP packet. */
export function decodeIgmpmsg(b: Uint8Array, len: number): Upcall | null {
  if (len < IGMPMSG.size) return null;
  // An upcall looks like an IPv4 header whose protocol byte (im_mbz) is 0.
  if (b[IGMPMSG.mbz] !== 0 || b[IGMPMSG.msgtype] === 0) return null;
  return {
    type: b[IGMPMSG.msgtype],
    vif: b[IGMPMSG.vif] | (b[IGMPMSG.vifHi] << 8),
    src: readU32be(b, IGMPMSG.src),
    dst: readU32be(b, IGMPMSG.dst),
  };
}

/** An upcall from the ICMPv6 socket (im6_mbz == 0), or null for an ordinary ICMPv6 message. */
export function decodeMrt6msg(b: Uint8Array, len: number): Upcall | null {
  if (len < MRT6MSG.size || b[MRT6MSG.mbz] !== 0 || b[MRT6MSG.msgtype] === 0) return null;
  return {
    type: b[MRT6MSG.msgtype],
    vif: b[MRT6MSG.mif] | (b[MRT6MSG.mif + 1] << 8),
    src: b.slice(MRT6MSG.src, MRT6MSG.src + 16),
    dst: b.slice(MRT6MSG.dst, MRT6MSG.dst + 16),
  };
}

export interface SgCounters {
  packets: number;
  bytes: number;
  wrongIf: number;
}

export function encodeSiocSgReq(
  src: number,
  grp: number,
  out = new Uint8Array(SIOC_SG_REQ.size),
): Uint8Array {
  out.fill(0);
  u32be(out, SIOC_SG_REQ.src, src);
  u32be(out, SIOC_SG_REQ.grp, grp);
  return out;
}

export function decodeSgCounters(
  b: Uint8Array,
  layout: { pktcnt: number; bytecnt: number; wrongIf: number },
): SgCounters {
  return {
    packets: readU64le(b, layout.pktcnt),
    bytes: readU64le(b, layout.bytecnt),
    wrongIf: readU64le(b, layout.wrongIf),
  };
}

export function encodeSiocSgReq6(
  src: Uint8Array,
  grp: Uint8Array,
  out = new Uint8Array(SIOC_SG_REQ6.size),
): Uint8Array {
  out.fill(0);
  sockaddrIn6(out, SIOC_SG_REQ6.src, src);
  sockaddrIn6(out, SIOC_SG_REQ6.grp, grp);
  return out;
}

export interface VifCounters {
  inPackets: number;
  outPackets: number;
  inBytes: number;
  outBytes: number;
}

export function encodeSiocVifReq(vifi: number, out = new Uint8Array(SIOC_VIF_REQ.size)): Uint8Array {
  out.fill(0);
  u16le(out, SIOC_VIF_REQ.vifi, vifi);
  return out;
}

export function decodeVifCounters(b: Uint8Array): VifCounters {
  return {
    inPackets: readU64le(b, SIOC_VIF_REQ.icount),
    outPackets: readU64le(b, SIOC_VIF_REQ.ocount),
    inBytes: readU64le(b, SIOC_VIF_REQ.ibytes),
    outBytes: readU64le(b, SIOC_VIF_REQ.obytes),
  };
}

function sockaddrStorage(out: Uint8Array, o: number, addr: number | Uint8Array): void {
  if (typeof addr === "number") {
    u16le(out, o + SOCKADDR_IN.family, 2);
    u32be(out, o + SOCKADDR_IN.addr, addr);
  } else {
    sockaddrIn6(out, o, addr);
  }
}

/** group_req for MCAST_JOIN_GROUP / MCAST_LEAVE_GROUP (IPv4 address as number or IPv6 bytes). */
export function encodeGroupReq(ifindex: number, group: number | Uint8Array): Uint8Array {
  const out = new Uint8Array(GROUP_REQ.size);
  u32le(out, GROUP_REQ.iface, ifindex);
  sockaddrStorage(out, GROUP_REQ.group, group);
  return out;
}

/** group_source_req for MCAST_JOIN_SOURCE_GROUP / MCAST_LEAVE_SOURCE_GROUP (SSM). */
export function encodeGroupSourceReq(
  ifindex: number,
  group: number | Uint8Array,
  source: number | Uint8Array,
): Uint8Array {
  const out = new Uint8Array(GROUP_SOURCE_REQ.size);
  u32le(out, GROUP_SOURCE_REQ.iface, ifindex);
  sockaddrStorage(out, GROUP_SOURCE_REQ.group, group);
  sockaddrStorage(out, GROUP_SOURCE_REQ.source, source);
  return out;
}
