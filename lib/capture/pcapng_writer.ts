/**
 * pcapng writer (little-endian, one section): SHB with shb_userappl, one IDB per interface with
 * if_name and if_tsresol (6 for µs, 9 for ns), EPBs with an optional opt_comment. libpcap cannot
 * write pcapng, so mpp does it itself.
 */
import { MppError } from "../errors.ts";
import { type BufferedOutput, type ByteSink, MemorySink, utf8Encoder } from "./buffered_output.ts";
import { CaptureWriter } from "./capture_writer.ts";
import { openForWrite, type WritableRecord } from "./pcap_writer.ts";
import { BT_EPB, BT_IDB, BT_SHB, BYTE_ORDER_MAGIC } from "./pcapng_walker.ts";
import {
  IF_DESCRIPTION,
  IF_FCSLEN,
  IF_NAME,
  IF_TSRESOL,
  OPT_COMMENT,
  SHB_OS,
  SHB_USERAPPL,
} from "./pcapng_options.ts";
import { type SecNsec, secNsecToUnits } from "./timestamp.ts";

export interface PcapngInterfaceSpec {
  linkType: number;
  name?: string;
  description?: string;
  /** 0 means no limit (the pcapng convention); longer data is cut otherwise. Default 262144. */
  snaplen?: number;
  /** Timestamp resolution (default "ns"). */
  precision?: "us" | "ns";
  fcsLen?: number;
}

export interface PcapngWriterOptions {
  /** shb_userappl (default "mpp"). */
  application?: string;
  os?: string;
  /** shb_comment. */
  comment?: string;
  /** Interfaces declared right after the section header; more can follow with addInterface. */
  interfaces?: PcapngInterfaceSpec[];
  bufferSize?: number;
  keepOpen?: boolean;
}

interface Iface {
  snaplen: number;
  unitsPerSec: number;
}

export class PcapngWriter extends CaptureWriter {
  readonly #ifaces: Iface[] = [];
  readonly #ts: SecNsec = { sec: 0, nsec: 0 };

  constructor(sink: ByteSink, opts: PcapngWriterOptions = {}) {
    super(sink, opts.bufferSize, opts.keepOpen);
    const options: [number, Uint8Array][] = [];
    if (opts.comment !== undefined) options.push([OPT_COMMENT, utf8Encoder.encode(opts.comment)]);
    if (opts.os !== undefined) options.push([SHB_OS, utf8Encoder.encode(opts.os)]);
    options.push([SHB_USERAPPL, utf8Encoder.encode(opts.application ?? "mpp")]);
    const o = this.out;
    const len = 28 + optionsLength(options);
    o.reserve(len);
    o.u32(BT_SHB);
    o.u32(len);
    o.u32(BYTE_ORDER_MAGIC);
    o.u16(1);
    o.u16(0);
    o.u32(0xffffffff); // section length -1: not known while streaming
    o.u32(0xffffffff);
    writeOptions(o, options);
    o.u32(len);
    o.total += len;
    for (const spec of opts.interfaces ?? []) this.addInterface(spec);
  }

  static async create(path: string, opts: PcapngWriterOptions = {}): Promise<PcapngWriter> {
    return new PcapngWriter(await openForWrite(path), opts);
  }

  /** Declares an interface (writes its IDB) and returns its id for `write`. */
  addInterface(spec: PcapngInterfaceSpec): number {
    const { linkType } = spec;
    const snaplen = spec.snaplen ?? 262144;
    if (!Number.isInteger(linkType) || linkType < 0 || linkType > 0xffff) {
      throw new MppError(
        "bad_usage",
        `link type ${linkType} is not a 16-bit LINKTYPE value`,
        "use e.g. 1 (Ethernet)",
      );
    }
    if (!Number.isInteger(snaplen) || snaplen < 0 || snaplen > 0xffffffff) {
      throw new MppError(
        "bad_usage",
        `snaplen ${snaplen} is not a 32-bit unsigned integer`,
        "use e.g. 262144",
      );
    }
    const ns = (spec.precision ?? "ns") === "ns";
    const options: [number, Uint8Array][] = [];
    if (spec.name !== undefined) options.push([IF_NAME, utf8Encoder.encode(spec.name)]);
    if (spec.description !== undefined) options.push([IF_DESCRIPTION, utf8Encoder.encode(spec.description)]);
    options.push([IF_TSRESOL, Uint8Array.of(ns ? 9 : 6)]);
    if (spec.fcsLen !== undefined && spec.fcsLen > 0) {
      options.push([IF_FCSLEN, Uint8Array.of(spec.fcsLen & 0xff)]);
    }
    const len = 20 + optionsLength(options);
    const o = this.out;
    o.reserve(len);
    o.u32(BT_IDB);
    o.u32(len);
    o.u16(linkType);
    o.u16(0);
    o.u32(snaplen);
    writeOptions(o, options);
    o.u32(len);
    o.total += len;
    this.#ifaces.push({ snaplen: snaplen === 0 ? 0x7fffffff : snaplen, unitsPerSec: ns ? 1e9 : 1e6 });
    return this.#ifaces.length - 1;
  }

  /** Appends one Enhanced Packet Block. */
  write(
    data: Uint8Array,
    origLen: number,
    tsSec: number,
    tsNsec: number,
    interfaceId = 0,
    comment?: string,
  ): void {
    const iface = this.#ifaces[interfaceId];
    if (iface === undefined) {
      throw new MppError(
        "bad_usage",
        `pcapng writer: interface ${interfaceId} was not declared (${this.#ifaces.length} declared)`,
        "call addInterface first",
      );
    }
    const caplen = data.length < iface.snaplen ? data.length : iface.snaplen;
    const padded = (caplen + 3) & ~3;
    let commentBytes: Uint8Array | undefined;
    let optLen = 0;
    if (comment !== undefined) {
      commentBytes = utf8Encoder.encode(comment);
      optLen = 4 + ((commentBytes.length + 3) & ~3) + 4;
    }
    const len = 32 + padded + optLen;
    const ts = this.#ts;
    secNsecToUnits(tsSec, tsNsec, iface.unitsPerSec, ts);
    const o = this.out;
    o.reserve(len);
    o.u32(BT_EPB);
    o.u32(len);
    o.u32(interfaceId);
    o.u32(ts.sec);
    o.u32(ts.nsec);
    o.u32(caplen);
    o.u32(origLen > caplen ? origLen : caplen);
    if (caplen === data.length) o.bytes(data);
    else o.bytes(data.subarray(0, caplen));
    o.zeros(padded - caplen);
    if (commentBytes !== undefined) writeOptions(o, [[OPT_COMMENT, commentBytes]]);
    o.u32(len);
    o.total += len;
    this.recordCount++;
  }

  writeRecord(r: WritableRecord): void {
    this.write(r.data, r.origLen ?? r.data.length, r.tsSec, r.tsNsec, r.interfaceId ?? 0, r.comment);
  }

  get interfaces(): number {
    return this.#ifaces.length;
  }
}

/** Options area size including the closing opt_endofopt (none at all when there are no options). */
function optionsLength(options: [number, Uint8Array][]): number {
  if (options.length === 0) return 0;
  let n = 4;
  for (const [, v] of options) n += 4 + ((v.length + 3) & ~3);
  return n;
}

function writeOptions(o: BufferedOutput, options: [number, Uint8Array][]): void {
  if (options.length === 0) return;
  for (const [code, v] of options) {
    if (v.length > 0xffff) {
      throw new MppError("bad_usage", `pcapng option ${code} is longer than 65535 bytes`, "");
    }
    o.u16(code);
    o.u16(v.length);
    o.bytes(v);
    o.zeros(((v.length + 3) & ~3) - v.length);
  }
  o.u32(0); // opt_endofopt
}

/** Builds a whole pcapng file in memory; records name interfaces declared in `opts.interfaces`. */
export function encodePcapng(records: Iterable<WritableRecord>, opts: PcapngWriterOptions = {}): Uint8Array {
  const sink = new MemorySink();
  const w = new PcapngWriter(sink, opts);
  for (const r of records) w.writeRecord(r);
  w.closeSync();
  return sink.bytes();
}
