/**
 * Classic pcap (libpcap savefile): 24-byte file header, then 16-byte record headers each followed
 * by caplen bytes. Both byte orders, µs and ns magic, FCS length in the link-type word.
 */
import type { CaptureInterface } from "./record.ts";
import { hex32, type ParseState, type Walker } from "./parse_state.ts";

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
/** Alexey Kuznetsov's patched libpcap: µs, and 8 more bytes per record header (ifindex, protocol, type). */
export const PCAP_MAGIC_KUZNETSOV = 0xa1b2cd34;
const FILE_HEADER = 24;
const RECORD_HEADER = 16;

/** True when the 4 bytes at `b[0..3]` are a classic pcap magic in either byte order. */
export function isPcapMagic(b: Uint8Array): boolean {
  const be = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  const le = ((b[3] << 24) | (b[2] << 16) | (b[1] << 8) | b[0]) >>> 0;
  return isMagic(be) || isMagic(le);
}

function isMagic(v: number): boolean {
  return v === PCAP_MAGIC_US || v === PCAP_MAGIC_NS || v === PCAP_MAGIC_KUZNETSOV;
}

export class PcapWalker implements Walker {
  #headerDone = false;
  #le = true;
  /** Multiplier from the fraction field to nanoseconds: 1000 for µs files, 1 for ns. */
  #fracMul = 1000;
  /** Record header length: 16, or 24 in Kuznetsov's variant. */
  #hdr = RECORD_HEADER;
  readonly maxUnit: number;

  constructor(private readonly st: ParseState) {
    this.maxUnit = RECORD_HEADER + 8 + st.maxCaplen;
  }

  walk(b: Uint8Array, pos: number, end: number, base: number): number {
    if (!this.#headerDone) {
      if (end - pos < FILE_HEADER) return pos;
      this.#readHeader(b, pos);
      pos += FILE_HEADER;
    }
    const st = this.st;
    const rec = st.rec;
    const sink = st.sink;
    const max = st.maxCaplen;
    const mul = this.#fracMul;
    const le = this.#le;
    const hdr = this.#hdr;
    while (end - pos >= hdr) {
      let sec: number, frac: number, caplen: number, orig: number;
      if (le) {
        sec = (b[pos] | (b[pos + 1] << 8) | (b[pos + 2] << 16) | (b[pos + 3] << 24)) >>> 0;
        frac = (b[pos + 4] | (b[pos + 5] << 8) | (b[pos + 6] << 16) | (b[pos + 7] << 24)) >>> 0;
        caplen = (b[pos + 8] | (b[pos + 9] << 8) | (b[pos + 10] << 16) | (b[pos + 11] << 24)) >>> 0;
        orig = (b[pos + 12] | (b[pos + 13] << 8) | (b[pos + 14] << 16) | (b[pos + 15] << 24)) >>> 0;
      } else {
        sec = ((b[pos] << 24) | (b[pos + 1] << 16) | (b[pos + 2] << 8) | b[pos + 3]) >>> 0;
        frac = ((b[pos + 4] << 24) | (b[pos + 5] << 16) | (b[pos + 6] << 8) | b[pos + 7]) >>> 0;
        caplen = ((b[pos + 8] << 24) | (b[pos + 9] << 16) | (b[pos + 10] << 8) | b[pos + 11]) >>> 0;
        orig = ((b[pos + 12] << 24) | (b[pos + 13] << 16) | (b[pos + 14] << 8) | b[pos + 15]) >>> 0;
      }
      if (caplen > max) {
        // The offset names the bad captured-length field itself (8 bytes into the record header).
        st.fail(
          base + pos + 8,
          `record ${st.records + 1} at byte ${
            base + pos + 8
          } claims ${caplen} captured bytes, more than the ${max} maximum`,
        );
        return pos;
      }
      const dataStart = pos + hdr;
      if (end - dataStart < caplen) break;
      rec.data = b.subarray(dataStart, dataStart + caplen);
      rec.origLen = orig;
      rec.tsSec = sec;
      rec.tsNsec = frac * mul;
      rec.index = st.records;
      rec.fileOffset = base + pos;
      st.records++;
      sink(rec);
      pos = dataStart + caplen;
    }
    return pos;
  }

  finish(b: Uint8Array, pos: number, end: number, base: number): void {
    const st = this.st;
    const left = end - pos;
    if (!this.#headerDone) {
      st.fail(
        base + pos,
        `truncated pcap file header: ${FILE_HEADER} bytes needed, input ends after ${left}`,
      );
      return;
    }
    if (left === 0) return;
    const n = st.records + 1;
    if (left < this.#hdr) {
      st.fail(
        base + pos,
        `truncated record ${n} at byte ${
          base + pos
        }: record header is ${this.#hdr} bytes, file ends after ${left}`,
      );
      return;
    }
    const caplen = this.#le
      ? (b[pos + 8] | (b[pos + 9] << 8) | (b[pos + 10] << 16) | (b[pos + 11] << 24)) >>> 0
      : ((b[pos + 8] << 24) | (b[pos + 9] << 16) | (b[pos + 10] << 8) | b[pos + 11]) >>> 0;
    st.fail(
      base + pos,
      `truncated record ${n} at byte ${base + pos}: header says ${caplen} captured bytes, file ends after ${
        left - this.#hdr
      }`,
    );
  }

  #readHeader(b: Uint8Array, p: number): void {
    const be = ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
    this.#le = !isMagic(be);
    const magic = this.#le ? ((b[p + 3] << 24) | (b[p + 2] << 16) | (b[p + 1] << 8) | b[p]) >>> 0 : be;
    const ns = magic === PCAP_MAGIC_NS;
    if (magic === PCAP_MAGIC_KUZNETSOV) this.#hdr = RECORD_HEADER + 8;
    this.#fracMul = ns ? 1 : 1000;
    const u32 = (o: number): number =>
      this.#le
        ? (b[p + o] | (b[p + o + 1] << 8) | (b[p + o + 2] << 16) | (b[p + o + 3] << 24)) >>> 0
        : ((b[p + o] << 24) | (b[p + o + 1] << 16) | (b[p + o + 2] << 8) | b[p + o + 3]) >>> 0;
    const snaplen = u32(16);
    const ltWord = u32(20);
    const linkType = ltWord & 0xffff;
    // pcap-savefile: bit 26 says bits 28-31 hold the FCS length in 16-bit words.
    const fcsLen = (ltWord & 0x04000000) !== 0 ? ((ltWord >>> 28) & 0xf) * 2 : 0;
    const iface: CaptureInterface = {
      id: 0,
      linkType,
      snaplen,
      tsUnitsPerSec: ns ? 1e9 : 1e6,
      tsOffsetSec: 0,
      fcsLen,
      section: 0,
    };
    this.st.info = {
      format: "pcap",
      byteOrder: this.#le ? "le" : "be",
      tsPrecision: ns ? "ns" : "us",
      interfaces: [iface],
    };
    const rec = this.st.rec;
    rec.linkType = linkType;
    rec.fcsLen = fcsLen;
    rec.interfaceId = 0;
    rec.section = 0;
    rec.hasTimestamp = true;
    rec.comment = undefined;
    this.#headerDone = true;
  }
}

export function describeMagic(b: Uint8Array, pos: number): string {
  return hex32((b[pos] << 24) | (b[pos + 1] << 16) | (b[pos + 2] << 8) | b[pos + 3]);
}
