/**
 * pcapng: a sequence of blocks (type u32, total length u32, body, total length u32 again). Sections
 * start with a Section Header Block that fixes the byte order and resets the interfaces. Packets come
 * in Enhanced, Simple and obsolete Packet Blocks; every other block type is skipped by its length.
 */
import type { CaptureInterface } from "./record.ts";
import { hex32, MAX_BLOCK_OVERHEAD, type ParseState, type Walker } from "./parse_state.ts";
import {
  findComment,
  i64,
  IF_DESCRIPTION,
  IF_FCSLEN,
  IF_NAME,
  IF_TSOFFSET,
  IF_TSRESOL,
  listOptions,
  OPT_COMMENT,
  optionString,
  SHB_OS,
  SHB_USERAPPL,
  u16,
  u32,
} from "./pcapng_options.ts";
import { type SecNsec, unitsPerSecFromTsresol, unitsToSecNsec } from "./timestamp.ts";

export const BT_SHB = 0x0a0d0d0a;
export const BT_IDB = 1;
export const BT_PB = 2;
export const BT_SPB = 3;
export const BT_EPB = 6;
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** Per-interface facts the packet path needs, precomputed when the IDB is read. */
interface Iface {
  linkType: number;
  snaplen: number;
  unitsPerSec: number;
  /** Nanoseconds per unit when the resolution is 10^-n with n <= 9 (exact integer), else 0. */
  nsPerUnit: number;
  tsOffset: number;
  fcsLen: number;
}

const TWO32 = 4294967296;

export class PcapngWalker implements Walker {
  #le = true;
  #section = -1;
  #ifaces: Iface[] = [];
  readonly #ts: SecNsec = { sec: 0, nsec: 0 };
  readonly maxUnit: number;

  constructor(private readonly st: ParseState) {
    this.maxUnit = st.maxCaplen + MAX_BLOCK_OVERHEAD;
  }

  walk(b: Uint8Array, pos: number, end: number, base: number): number {
    const st = this.st;
    while (end - pos >= 12) {
      const isShb = b[pos] === 0x0a && b[pos + 1] === 0x0d && b[pos + 2] === 0x0d && b[pos + 3] === 0x0a;
      if (isShb && !this.#readByteOrder(b, pos, base)) return pos;
      const le = this.#le;
      const type = isShb ? BT_SHB : u32(b, pos, le);
      const len = u32(b, pos + 4, le);
      if (len < 12 || (len & 3) !== 0) {
        st.fail(
          base + pos,
          `block ${hex32(type)} at byte ${
            base + pos
          } has length ${len}: must be a multiple of 4 and at least 12`,
        );
        return pos;
      }
      if (len > end - pos) {
        if (len <= this.maxUnit) return pos; // wait for the rest
        const isPacket = type === BT_EPB || type === BT_PB || type === BT_SPB;
        if (isPacket || isShb || type === BT_IDB) {
          this.#tooLarge(b, pos, end, base, type, len);
          return pos;
        }
        // A huge block we do not read (custom, NRB...): skip it without buffering it.
        st.skipOffset = base + pos;
        st.skipLength = len;
        return pos + len;
      }
      const trailer = u32(b, pos + len - 4, le);
      if (trailer !== len) {
        st.fail(
          base + pos,
          `block ${hex32(type)} at byte ${
            base + pos
          }: trailing length ${trailer} disagrees with leading length ${len}`,
        );
        return pos;
      }
      if (type === BT_EPB) {
        if (!this.#packet(b, pos, len, base, false)) return pos;
      } else if (type === BT_SPB) {
        if (!this.#simplePacket(b, pos, len, base)) return pos;
      } else if (type === BT_PB) {
        if (!this.#packet(b, pos, len, base, true)) return pos;
      } else if (type === BT_IDB) {
        if (!this.#interface(b, pos, len, base)) return pos;
      } else if (isShb) {
        if (!this.#sectionHeader(b, pos, len, base)) return pos;
      }
      pos += len;
    }
    return pos;
  }

  finish(b: Uint8Array, pos: number, end: number, base: number): void {
    const st = this.st;
    const left = end - pos;
    if (left === 0 && st.skipLength === 0) return;
    if (st.skipLength > 0) {
      st.fail(
        st.skipOffset,
        `truncated block at byte ${st.skipOffset}: block length says ${st.skipLength} bytes, file ends before its end`,
      );
      return;
    }
    if (left < 12) {
      st.fail(
        base + pos,
        `truncated block at byte ${base + pos}: block header is 12 bytes, file ends after ${left}`,
      );
      return;
    }
    const len = u32(b, pos + 4, this.#le);
    const what = this.#section < 0 ? "section header block" : "block";
    st.fail(
      base + pos,
      `truncated ${what} at byte ${base + pos}: block length says ${len} bytes, file ends after ${left}` +
        ` (${st.records} packets read)`,
    );
  }

  /** Byte order of a new section from its byte-order magic; false (and a fatal issue) if unknown. */
  #readByteOrder(b: Uint8Array, pos: number, base: number): boolean {
    const le = u32(b, pos + 8, true);
    if (le === BYTE_ORDER_MAGIC) this.#le = true;
    else if (u32(b, pos + 8, false) === BYTE_ORDER_MAGIC) this.#le = false;
    else {
      this.st.fail(
        base + pos,
        `section header block at byte ${base + pos} has byte-order magic ${hex32(le)}, expected 0x1a2b3c4d`,
      );
      return false;
    }
    return true;
  }

  #tooLarge(b: Uint8Array, pos: number, end: number, base: number, type: number, len: number): void {
    const st = this.st;
    if ((type === BT_EPB || type === BT_PB) && end - pos >= 24) {
      const caplen = u32(b, pos + 20, this.#le);
      if (caplen > st.maxCaplen) {
        st.fail(
          base + pos + 20,
          `packet ${st.records + 1} at byte ${
            base + pos + 20
          } claims ${caplen} captured bytes, more than the ${st.maxCaplen} maximum`,
        );
        return;
      }
    }
    st.fail(
      base + pos,
      `block ${hex32(type)} at byte ${base + pos} claims ${len} bytes, more than the ${this.maxUnit} maximum`,
    );
  }

  /** Enhanced (6) or obsolete (2) Packet Block: same layout except a 16-bit interface id in PB. */
  #packet(b: Uint8Array, pos: number, len: number, base: number, obsolete: boolean): boolean {
    const st = this.st;
    const le = this.#le;
    if (len < 32) {
      st.fail(
        base + pos,
        `packet block at byte ${base + pos} is ${len} bytes long, less than the 32 minimum`,
      );
      return false;
    }
    const ifid = obsolete ? u16(b, pos + 8, le) : u32(b, pos + 8, le);
    const hi = u32(b, pos + 12, le);
    const lo = u32(b, pos + 16, le);
    const caplen = u32(b, pos + 20, le);
    const orig = u32(b, pos + 24, le);
    if (caplen > st.maxCaplen) {
      st.fail(
        base + pos + 20,
        `packet ${st.records + 1} at byte ${
          base + pos + 20
        } claims ${caplen} captured bytes, more than the ${st.maxCaplen} maximum`,
      );
      return false;
    }
    const dataStart = pos + 28;
    const padded = (caplen + 3) & ~3;
    if (28 + padded + 4 > len) {
      st.fail(
        base + pos,
        `packet ${st.records + 1} at byte ${
          base + pos
        } claims ${caplen} captured bytes, more than its ${len}-byte block holds`,
      );
      return false;
    }
    const iface = this.#ifaces[ifid];
    if (iface === undefined) {
      st.warn(
        base + pos,
        `packet at byte ${
          base + pos
        } names interface ${ifid}, but section ${this.#section} has ${this.#ifaces.length}: skipped`,
      );
      return true;
    }
    const rec = st.rec;
    const ts = this.#ts;
    if (iface.nsPerUnit !== 0) {
      // Decimal resolution up to 1 ns (r <= 1e9 < 2^31). The double estimate of units / r is off by a
      // few seconds at most, so the remainder is exact when taken modulo 2^32 from the low words alone.
      const r = iface.unitsPerSec;
      let sec = Math.floor((hi * TWO32 + lo) / r);
      let d = (lo - Math.imul(sec, r)) | 0;
      if (d < 0 || d >= r) {
        const q = Math.floor(d / r);
        sec += q;
        d -= q * r;
      }
      rec.tsSec = sec + iface.tsOffset;
      rec.tsNsec = d * iface.nsPerUnit;
    } else {
      unitsToSecNsec(hi, lo, iface.unitsPerSec, ts);
      rec.tsSec = ts.sec + iface.tsOffset;
      rec.tsNsec = ts.nsec;
    }
    const optStart = dataStart + padded;
    const optEnd = pos + len - 4;
    rec.comment = optStart < optEnd ? findComment(b, optStart, optEnd, le) : undefined;
    rec.data = b.subarray(dataStart, dataStart + caplen);
    rec.origLen = orig;
    rec.linkType = iface.linkType;
    rec.fcsLen = iface.fcsLen;
    rec.interfaceId = ifid;
    rec.section = this.#section;
    rec.hasTimestamp = true;
    rec.index = st.records;
    rec.fileOffset = base + pos;
    st.records++;
    st.sink(rec);
    return true;
  }

  #simplePacket(b: Uint8Array, pos: number, len: number, base: number): boolean {
    const st = this.st;
    if (len < 16) {
      st.fail(
        base + pos,
        `simple packet block at byte ${base + pos} is ${len} bytes long, less than the 16 minimum`,
      );
      return false;
    }
    const iface = this.#ifaces[0];
    if (iface === undefined) {
      st.warn(
        base + pos,
        `simple packet block at byte ${base + pos} but section ${this.#section} has no interface: skipped`,
      );
      return true;
    }
    const orig = u32(b, pos + 8, this.#le);
    // An SPB has no caplen: the packet is what fits, cut to the interface's snaplen.
    let caplen = Math.min(orig, len - 16);
    if (iface.snaplen !== 0 && iface.snaplen < caplen) caplen = iface.snaplen;
    if (caplen > st.maxCaplen) caplen = st.maxCaplen;
    const rec = st.rec;
    rec.data = b.subarray(pos + 12, pos + 12 + caplen);
    rec.origLen = orig;
    rec.tsSec = 0;
    rec.tsNsec = 0;
    rec.hasTimestamp = false;
    rec.comment = undefined;
    rec.linkType = iface.linkType;
    rec.fcsLen = iface.fcsLen;
    rec.interfaceId = 0;
    rec.section = this.#section;
    rec.index = st.records;
    rec.fileOffset = base + pos;
    st.records++;
    st.sink(rec);
    return true;
  }

  #interface(b: Uint8Array, pos: number, len: number, base: number): boolean {
    const st = this.st;
    const le = this.#le;
    if (len < 20) {
      st.fail(
        base + pos,
        `interface description block at byte ${base + pos} is ${len} bytes long, less than 20`,
      );
      return false;
    }
    const linkType = u16(b, pos + 8, le);
    const snaplen = u32(b, pos + 12, le);
    let unitsPerSec = 1e6;
    let tsOffset = 0;
    let fcsLen = 0;
    let name: string | undefined;
    let description: string | undefined;
    const opts = listOptions(b, pos + 16, pos + len - 4, le);
    if (opts === undefined) {
      st.warn(base + pos, `interface description block at byte ${base + pos} has a malformed option list`);
    }
    for (const o of opts ?? []) {
      if (o.code === IF_TSRESOL && o.length >= 1) unitsPerSec = unitsPerSecFromTsresol(b[o.offset]);
      else if (o.code === IF_TSOFFSET && o.length >= 8) tsOffset = i64(b, o.offset, le);
      else if (o.code === IF_FCSLEN && o.length >= 1) fcsLen = b[o.offset];
      else if (o.code === IF_NAME) name = optionString(b, o.offset, o.length);
      else if (o.code === IF_DESCRIPTION) description = optionString(b, o.offset, o.length);
    }
    const nsPerUnit = unitsPerSec <= 1e9 && 1e9 % unitsPerSec === 0 && Number.isInteger(unitsPerSec)
      ? 1e9 / unitsPerSec
      : 0;
    this.#ifaces.push({ linkType, snaplen, unitsPerSec, nsPerUnit, tsOffset, fcsLen });
    const info: CaptureInterface = {
      id: this.#ifaces.length - 1,
      linkType,
      snaplen,
      tsUnitsPerSec: unitsPerSec,
      tsOffsetSec: tsOffset,
      fcsLen,
      section: this.#section,
    };
    if (name !== undefined) info.name = name;
    if (description !== undefined) info.description = description;
    st.info?.interfaces.push(info);
    return true;
  }

  #sectionHeader(b: Uint8Array, pos: number, len: number, base: number): boolean {
    const st = this.st;
    const le = this.#le;
    if (len < 28) {
      st.fail(base + pos, `section header block at byte ${base + pos} is ${len} bytes long, less than 28`);
      return false;
    }
    const major = u16(b, pos + 12, le);
    const minor = u16(b, pos + 14, le);
    if (major !== 1) {
      st.fail(
        base + pos,
        `section header block at byte ${base + pos} has pcapng version ${major}.${minor}, expected 1.x`,
      );
      return false;
    }
    this.#section++;
    this.#ifaces = [];
    if (st.info !== undefined) return true;
    // The first section describes the file.
    st.info = { format: "pcapng", byteOrder: le ? "le" : "be", interfaces: [] };
    const opts = listOptions(b, pos + 24, pos + len - 4, le) ?? [];
    for (const o of opts) {
      const v = optionString(b, o.offset, o.length);
      if (o.code === OPT_COMMENT && st.info.sectionComment === undefined) st.info.sectionComment = v;
      else if (o.code === SHB_USERAPPL) st.info.application = v;
      else if (o.code === SHB_OS) st.info.os = v;
    }
    return true;
  }
}
