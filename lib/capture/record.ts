/**
 * One captured frame as a reader hands it out. Readers reuse a single CaptureRecord and overwrite
 * it for every frame, so a consumer must copy whatever it keeps past its callback: `data` is a
 * subarray view into the reader's buffer and is only valid until the callback returns.
 */
export class CaptureRecord {
  /** Captured bytes (caplen of them): a view into the reader's buffer. */
  data: Uint8Array = new Uint8Array(0);
  /** Length on the wire (>= data.length). */
  origLen = 0;
  /** Timestamp as integer seconds and integer nanoseconds: keeps the file's full precision. */
  tsSec = 0;
  tsNsec = 0;
  /** LINKTYPE_* value (pcap header or the pcapng interface the frame came in on). */
  linkType = 0;
  /** pcapng interface id (0 for classic pcap). */
  interfaceId = 0;
  /** 0-based index of the frame in the input. */
  index = 0;
  /** Byte offset of the record (or block) header in the (decompressed) input. */
  fileOffset = 0;
  /** False for pcapng Simple Packet Blocks, which carry no timestamp. */
  hasTimestamp = true;
  /** Number of FCS bytes at the end of the frame (pcap link-type word or pcapng if_fcslen), 0 if none. */
  fcsLen = 0;
  /** opt_comment of a pcapng packet block, when present (rare path: allocated only then). */
  comment: string | undefined = undefined;
  /** 0-based pcapng section the frame belongs to (interface ids restart in every section); 0 for pcap. */
  section = 0;
}

/** What every reader calls for each frame; synchronous so the hot loop stays monomorphic. */
export type RecordSink = (record: CaptureRecord) => void;

/** Interface description, as read from a pcap header or a pcapng IDB. */
export interface CaptureInterface {
  id: number;
  linkType: number;
  snaplen: number;
  name?: string;
  description?: string;
  /** Units per second of this interface's timestamps (1e6 for µs, 1e9 for ns, 2^n for binary). */
  tsUnitsPerSec: number;
  /** if_tsoffset in seconds. */
  tsOffsetSec: number;
  fcsLen: number;
  /** 0-based pcapng section that declared the interface (ids restart per section); 0 for pcap. */
  section?: number;
}

/** A problem found in the input that did not stop the whole read (or the one that did). */
export interface CaptureIssue {
  /** Byte offset in the (decompressed) input where the problem starts. */
  offset: number;
  /** One line: what is wrong, e.g. "record 6 claims 16777215 captured bytes, more than the 262144 maximum". */
  message: string;
  /** True when reading stopped here (everything before it was delivered). */
  fatal: boolean;
}

export interface CaptureFileInfo {
  format: "pcap" | "pcapng";
  /** For pcap: "le"/"be"; for pcapng: the byte order of the first section. */
  byteOrder: "le" | "be";
  /** For pcap: "us" or "ns". For pcapng: per interface, see interfaces. */
  tsPrecision?: "us" | "ns";
  interfaces: CaptureInterface[];
  /** shb_comment / shb_userappl / shb_os of the first section, when present. */
  sectionComment?: string;
  application?: string;
  os?: string;
}
