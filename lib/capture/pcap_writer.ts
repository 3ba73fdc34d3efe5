/**
 * Classic pcap writer (little-endian, µs or ns magic), streaming and buffered. Used by the live
 * capture for its output and rotation (bytesWritten, records, flush, close), and by tests through
 * encodePcap to build fixtures in memory.
 */
import { MppError } from "../errors.ts";
import { type ByteSink, MemorySink } from "./buffered_output.ts";
import { CaptureWriter } from "./capture_writer.ts";
import { PCAP_MAGIC_NS, PCAP_MAGIC_US } from "./pcap_walker.ts";

export interface PcapWriterOptions {
  /** LINKTYPE_* of every record (default 1, Ethernet). */
  linkType?: number;
  /** Longest captured length written; longer data is cut (default 262144). */
  snaplen?: number;
  /** Timestamp resolution in the file (default "us"). */
  precision?: "us" | "ns";
  /** FCS bytes at the end of each frame (even, 0-30), recorded in the link-type word. */
  fcsLen?: number;
  /** Bytes buffered before a write to the sink (default 1 MiB). */
  bufferSize?: number;
  /** Leave the sink open on close (default: close it). */
  keepOpen?: boolean;
}

/** The fields a writer needs from a record; CaptureRecord has them all. */
export interface WritableRecord {
  data: Uint8Array;
  origLen?: number;
  tsSec: number;
  tsNsec: number;
  interfaceId?: number;
  comment?: string;
}

export class PcapWriter extends CaptureWriter {
  readonly #snaplen: number;
  readonly #ns: boolean;

  constructor(sink: ByteSink, opts: PcapWriterOptions = {}) {
    super(sink, opts.bufferSize, opts.keepOpen);
    const linkType = opts.linkType ?? 1;
    const snaplen = opts.snaplen ?? 262144;
    const fcsLen = opts.fcsLen ?? 0;
    if (!Number.isInteger(linkType) || linkType < 0 || linkType > 0xffff) {
      throw new MppError(
        "bad_usage",
        `link type ${linkType} is not a 16-bit LINKTYPE value`,
        "use e.g. 1 (Ethernet)",
      );
    }
    if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > 0x7fffffff) {
      throw new MppError("bad_usage", `snaplen ${snaplen} is not a positive integer`, "use e.g. 262144");
    }
    if (!Number.isInteger(fcsLen) || fcsLen < 0 || fcsLen > 30 || fcsLen % 2 !== 0) {
      throw new MppError(
        "bad_usage",
        `FCS length ${fcsLen} cannot be stored in a pcap header`,
        "use 0, 2 or 4",
      );
    }
    this.#snaplen = snaplen;
    this.#ns = opts.precision === "ns";
    const o = this.out;
    o.reserve(24);
    o.u32(this.#ns ? PCAP_MAGIC_NS : PCAP_MAGIC_US);
    o.u16(2);
    o.u16(4);
    o.u32(0); // thiszone
    o.u32(0); // sigfigs
    o.u32(snaplen);
    o.u32(fcsLen === 0 ? linkType : (linkType | 0x04000000 | ((fcsLen / 2) << 28)) >>> 0);
    o.total += 24;
  }

  /** Opens (creates or truncates) `path` and writes the file header. */
  static async create(path: string, opts: PcapWriterOptions = {}): Promise<PcapWriter> {
    return new PcapWriter(await openForWrite(path), opts);
  }

  /** Appends one record; `interfaceId` and `comment` have no place in pcap and are ignored. */
  write(
    data: Uint8Array,
    origLen: number,
    tsSec: number,
    tsNsec: number,
    _interfaceId?: number,
    _comment?: string,
  ): void {
    const caplen = data.length < this.#snaplen ? data.length : this.#snaplen;
    const o = this.out;
    o.reserve(16 + caplen);
    o.u32(tsSec);
    o.u32(this.#ns ? tsNsec : Math.floor(tsNsec / 1000));
    o.u32(caplen);
    o.u32(origLen > caplen ? origLen : caplen);
    if (caplen === data.length) o.bytes(data);
    else o.bytes(data.subarray(0, caplen));
    o.total += 16 + caplen;
    this.recordCount++;
  }

  writeRecord(r: WritableRecord): void {
    this.write(r.data, r.origLen ?? r.data.length, r.tsSec, r.tsNsec);
  }
}

/** Builds a whole pcap file in memory (test fixtures, small exports). */
export function encodePcap(records: Iterable<WritableRecord>, opts: PcapWriterOptions = {}): Uint8Array {
  const sink = new MemorySink();
  const w = new PcapWriter(sink, opts);
  for (const r of records) w.writeRecord(r);
  w.closeSync();
  return sink.bytes();
}

export async function openForWrite(path: string): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, { write: true, create: true, truncate: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new MppError("not_found", `${path}: directory does not exist`, "create the directory first", {
        cause: e,
      });
    }
    if (e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotCapable) {
      throw new MppError("permission", `${path}: permission denied`, "write to a directory you own", {
        cause: e,
      });
    }
    if (e instanceof Deno.errors.IsADirectory) {
      throw new MppError("bad_input", `${path} is a directory`, "give a file name", { cause: e });
    }
    const msg = e instanceof Error ? e.message : String(e);
    throw new MppError("io", `${path}: cannot write: ${msg}`, "check the path and free space", { cause: e });
  }
}
