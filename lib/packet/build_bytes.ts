/**
 * Byte-level helpers for the frame builders: address parsing, big-endian stores, the Internet
 * checksum and the transport pseudo-header sum. Not a hot path.
 */
import { MppError } from "../errors.ts";

export type MacLike = string | Uint8Array;
export type Ip4Like = string | number;
export type Ip6Like = string | Uint32Array;

export function bad(what: string): never {
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

export function be16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}
export function be32(b: Uint8Array, o: number, v: number): void {
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

export function ip6Bytes(a: Ip6Like): Uint8Array {
  const w = ip6(a);
  const b = new Uint8Array(16);
  for (let i = 0; i < 4; i++) be32(b, 4 * i, w[i]);
  return b;
}

/** Pseudo-header sum for the L4 checksum: IPv4 when both addresses are v4-like, else IPv6. */
export function pseudoSum(
  src: Ip4Like | Ip6Like,
  dst: Ip4Like | Ip6Like,
  proto: number,
  len: number,
): number {
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
