/**
 * Byte builders for capture-format unit tests: classic pcap headers/records and pcapng blocks in
 * either byte order, written out field by field so each test states exactly what the file holds.
 */
import { CaptureParser, type CaptureParserOptions } from "../../lib/capture/parser.ts";
import type { CaptureRecord } from "../../lib/capture/record.ts";

export class Bytes {
  readonly parts: number[] = [];
  constructor(readonly le = true) {}
  u8(v: number): this {
    this.parts.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    if (this.le) this.parts.push(v & 0xff, (v >>> 8) & 0xff);
    else this.parts.push((v >>> 8) & 0xff, v & 0xff);
    return this;
  }
  u32(v: number): this {
    const b = [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
    this.parts.push(...(this.le ? b.reverse() : b));
    return this;
  }
  bytes(d: ArrayLike<number>): this {
    for (let i = 0; i < d.length; i++) this.parts.push(d[i]);
    return this;
  }
  pad4(): this {
    while (this.parts.length % 4 !== 0) this.parts.push(0);
    return this;
  }
  get length(): number {
    return this.parts.length;
  }
  build(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function frame(len: number, seed = 1): Uint8Array {
  const d = new Uint8Array(len);
  for (let i = 0; i < len; i++) d[i] = (i * 7 + seed * 13) & 0xff;
  return d;
}

// ---- classic pcap ----
export function pcapHeader(
  o: { le?: boolean; ns?: boolean; snaplen?: number; linkTypeWord?: number } = {},
): Uint8Array {
  return new Bytes(o.le ?? true).u32(o.ns ? 0xa1b23c4d : 0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0)
    .u32(o.snaplen ?? 65535).u32(o.linkTypeWord ?? 1).build();
}

export function pcapRecord(
  le: boolean,
  sec: number,
  frac: number,
  data: Uint8Array,
  origLen = data.length,
  caplen = data.length,
): Uint8Array {
  return new Bytes(le).u32(sec).u32(frac).u32(caplen).u32(origLen).bytes(data).build();
}

// ---- pcapng ----
export interface Opt {
  code: number;
  value: ArrayLike<number> | string;
}

export function optionBytes(le: boolean, opts: Opt[]): Uint8Array {
  if (opts.length === 0) return new Uint8Array(0);
  const b = new Bytes(le);
  for (const o of opts) {
    const v = typeof o.value === "string" ? new TextEncoder().encode(o.value) : o.value;
    b.u16(o.code).u16(v.length).bytes(v).pad4();
  }
  return b.u16(0).u16(0).build();
}

/** A block with the given body; total length computed unless overridden (for corrupt blocks). */
export function block(
  le: boolean,
  type: number,
  body: Uint8Array,
  o: { len?: number; trailer?: number } = {},
): Uint8Array {
  const padded = (body.length + 3) & ~3;
  const len = 12 + padded;
  return new Bytes(le).u32(type).u32(o.len ?? len).bytes(body).pad4().u32(o.trailer ?? o.len ?? len).build();
}

export function shb(le: boolean, opts: Opt[] = [], major = 1): Uint8Array {
  const body = new Bytes(le).u32(0x1a2b3c4d).u16(major).u16(0).u32(0xffffffff).u32(0xffffffff)
    .bytes(optionBytes(le, opts)).build();
  return block(le, 0x0a0d0d0a, body);
}

export function idb(le: boolean, linkType: number, snaplen = 0, opts: Opt[] = []): Uint8Array {
  return block(le, 1, new Bytes(le).u16(linkType).u16(0).u32(snaplen).bytes(optionBytes(le, opts)).build());
}

export function epb(
  le: boolean,
  ifid: number,
  hi: number,
  lo: number,
  data: Uint8Array,
  o: { origLen?: number; opts?: Opt[] } = {},
): Uint8Array {
  const body = new Bytes(le).u32(ifid).u32(hi).u32(lo).u32(data.length).u32(o.origLen ?? data.length)
    .bytes(data).pad4().bytes(optionBytes(le, o.opts ?? [])).build();
  return block(le, 6, body);
}

export function spb(le: boolean, origLen: number, data: Uint8Array): Uint8Array {
  return block(le, 3, new Bytes(le).u32(origLen).bytes(data).pad4().build());
}

/** Obsolete Packet Block (type 2): 16-bit interface id and drops count. */
export function pb(
  le: boolean,
  ifid: number,
  hi: number,
  lo: number,
  data: Uint8Array,
  opts: Opt[] = [],
): Uint8Array {
  const body = new Bytes(le).u16(ifid).u16(0).u32(hi).u32(lo).u32(data.length).u32(data.length)
    .bytes(data).pad4().bytes(optionBytes(le, opts)).build();
  return block(le, 2, body);
}

/** A copy of the fields tests compare (the parser's record is reused, so it must be copied). */
export interface Got {
  data: number[];
  origLen: number;
  tsSec: number;
  tsNsec: number;
  linkType: number;
  interfaceId: number;
  section: number;
  hasTimestamp: boolean;
  fcsLen: number;
  comment: string | undefined;
  index: number;
  fileOffset: number;
}

export function copyRecord(r: CaptureRecord): Got {
  return {
    data: Array.from(r.data),
    origLen: r.origLen,
    tsSec: r.tsSec,
    tsNsec: r.tsNsec,
    linkType: r.linkType,
    interfaceId: r.interfaceId,
    section: r.section,
    hasTimestamp: r.hasTimestamp,
    fcsLen: r.fcsLen,
    comment: r.comment,
    index: r.index,
    fileOffset: r.fileOffset,
  };
}

/** Parses `bytes` in one push (or in pieces of `split` bytes) and returns records and the parser. */
export function parseAll(
  bytes: Uint8Array,
  opts: CaptureParserOptions & { split?: number } = {},
): { got: Got[]; parser: CaptureParser } {
  const got: Got[] = [];
  const parser = new CaptureParser((r) => got.push(copyRecord(r)), opts);
  const step = opts.split ?? bytes.length;
  for (let i = 0; i < bytes.length; i += step) {
    parser.push(bytes.subarray(i, Math.min(bytes.length, i + step)));
  }
  parser.end();
  return { got, parser };
}
