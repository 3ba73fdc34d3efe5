/** Capture files: pcap and pcapng readers (push parser, file/stdin/gzip sources) and writers. */
export { CaptureRecord } from "./record.ts";
export type { CaptureFileInfo, CaptureInterface, CaptureIssue, RecordSink } from "./record.ts";
export { CaptureParser, type CaptureParserOptions, DEFAULT_CHUNK_SIZE } from "./parser.ts";
export { DEFAULT_MAX_CAPLEN } from "./parse_state.ts";
export { readCapture, type ReadOptions, type ReadResult } from "./reader.ts";
export { type AsyncByteSink, type ByteSink, MemorySink, type SyncByteSink } from "./buffered_output.ts";
export { encodePcap, PcapWriter, type PcapWriterOptions, type WritableRecord } from "./pcap_writer.ts";
export {
  encodePcapng,
  type PcapngInterfaceSpec,
  PcapngWriter,
  type PcapngWriterOptions,
} from "./pcapng_writer.ts";
export { type SecNsec, secNsecToUnits, unitsPerSecFromTsresol, unitsToSecNsec } from "./timestamp.ts";
// Live capture (libpcap in a Worker, records through a SharedArrayBuffer ring) and rotation.
export { LiveCapture, type LiveOptions, type LiveStats, type RunOptions } from "./live.ts";
export { runCaptureSession, type SessionOptions, type SessionResult } from "./live_session.ts";
