/**
 * IPv4/IPv6 addresses and prefixes for routing rules. Addresses are kept as 16 bytes (IPv4 in the
 * first 4) plus the family, with a canonical string for keys and output.
 */
import { ipv6GroupsText } from "../ipv6_text.ts";
import { MppError } from "../errors.ts";

export type Family = 4 | 6;

export interface Addr {
  family: Family;
  bytes: Uint8Array;
  text: string;
}

export interface Prefix {
  addr: Addr;
  len: number;
}

export function v4Number(a: Addr): number {
  const b = a.bytes;
  return ((b[0] << 24) >>> 0) + (b[1] << 16) + (b[2] << 8) + b[3];
}

export function fromV4Number(n: number): Addr {
  const bytes = new Uint8Array([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
  return { family: 4, bytes, text: `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}` };
}

function parseV4(s: string): Uint8Array | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const b = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const v = Number(m[i + 1]);
    if (v > 255) return null;
    b[i] = v;
  }
  return b;
}

function parseV6(s: string): Uint8Array | null {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || !s.includes(":")) return null;
  let tail4: Uint8Array | null = null;
  let str = s;
  const lastColon = s.lastIndexOf(":");
  if (s.slice(lastColon + 1).includes(".")) {
    tail4 = parseV4(s.slice(lastColon + 1));
    if (!tail4) return null;
    str = s.slice(0, lastColon + 1) + "0:0";
  }
  const halves = str.split("::");
  if (halves.length > 2) return null;
  const parse = (p: string) => p === "" ? [] : p.split(":");
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  const groups = halves.length === 2
    ? [...head, ...Array(8 - head.length - tail.length).fill("0"), ...tail]
    : head;
  if (groups.length !== 8 || (halves.length === 2 && head.length + tail.length > 7)) return null;
  const b = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(groups[i])) return null;
    const v = parseInt(groups[i], 16);
    b[i * 2] = v >> 8;
    b[i * 2 + 1] = v & 255;
  }
  if (tail4) b.set(tail4, 12);
  return b;
}

export function formatV6(b: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[i * 2] << 8) | b[i * 2 + 1]);
  return ipv6GroupsText(g);
}

export function parseAddr(s: string): Addr | null {
  const v4 = parseV4(s);
  if (v4) return { family: 4, bytes: v4, text: `${v4[0]}.${v4[1]}.${v4[2]}.${v4[3]}` };
  const v6 = parseV6(s);
  if (v6) return { family: 6, bytes: v6, text: formatV6(v6) };
  return null;
}

export function looksLikeAddr(s: string): boolean {
  return parseAddr(s.split("/")[0]) !== null;
}

export function isMulticast(a: Addr): boolean {
  return a.family === 4 ? (a.bytes[0] & 0xf0) === 0xe0 : a.bytes[0] === 0xff;
}

/** Parses ADDR[/LEN]; `what` names the argument in errors ("group", "source"). */
export function parsePrefix(s: string, what: string): Prefix {
  const [a, l, extra] = s.split("/");
  const addr = parseAddr(a);
  if (!addr || extra !== undefined) {
    throw new MppError(
      "bad_input",
      `${what} '${s}' is not an IPv4 or IPv6 address`,
      `write it like 239.1.1.1, 232.0.0.0/8 or ff3e::1`,
    );
  }
  const max = addr.family === 4 ? 32 : 128;
  let len = max;
  if (l !== undefined) {
    if (!/^\d{1,3}$/.test(l) || Number(l) > max) {
      throw new MppError("bad_input", `${what} '${s}' has a bad prefix length`, `use /0../${max}`);
    }
    len = Number(l);
  }
  return { addr: maskAddr(addr, len), len };
}

function maskAddr(a: Addr, len: number): Addr {
  const n = a.family === 4 ? 4 : 16;
  const b = a.bytes.slice(0, n);
  for (let i = 0; i < n; i++) {
    const bits = Math.max(0, Math.min(8, len - i * 8));
    b[i] &= (0xff << (8 - bits)) & 0xff;
  }
  const text = a.family === 4 ? `${b[0]}.${b[1]}.${b[2]}.${b[3]}` : formatV6(b);
  return { family: a.family, bytes: b, text };
}

export function prefixContains(p: Prefix, a: Addr): boolean {
  if (p.addr.family !== a.family) return false;
  for (let i = 0; i * 8 < p.len; i++) {
    const bits = Math.min(8, p.len - i * 8);
    const mask = (0xff << (8 - bits)) & 0xff;
    if ((a.bytes[i] & mask) !== (p.addr.bytes[i] & mask)) return false;
  }
  return true;
}

export function isHostPrefix(p: Prefix): boolean {
  return p.len === (p.addr.family === 4 ? 32 : 128);
}

export function prefixText(p: Prefix): string {
  return isHostPrefix(p) ? p.addr.text : `${p.addr.text}/${p.len}`;
}

export function addrFromBytes(family: Family, bytes: Uint8Array): Addr {
  const b = bytes.slice(0, family === 4 ? 4 : 16);
  return { family, bytes: b, text: family === 4 ? `${b[0]}.${b[1]}.${b[2]}.${b[3]}` : formatV6(b) };
}
