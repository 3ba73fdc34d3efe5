/**
 * What the format walkers share with the CaptureParser: the one reused record, the sink, counters
 * and the issue list. Kept in one small object so both walkers stay monomorphic on it.
 */
import { CaptureRecord } from "./record.ts";
import type { CaptureFileInfo, CaptureIssue, RecordSink } from "./record.ts";

/** Largest record the parser accepts by default: tshark's (and libpcap's) maximum snapshot length. */
export const DEFAULT_MAX_CAPLEN = 262144;
/** Room a pcapng packet block may take beyond its packet data (header, options, trailer). */
export const MAX_BLOCK_OVERHEAD = 65536;
/** Non-fatal issues kept in full; later ones are only counted, so memory stays bounded. */
export const MAX_KEPT_ISSUES = 100;

export class ParseState {
  readonly rec: CaptureRecord = new CaptureRecord();
  readonly issues: CaptureIssue[] = [];
  records = 0;
  fatal = false;
  /** Non-fatal issues beyond MAX_KEPT_ISSUES that were counted but not kept. */
  droppedIssues = 0;
  info: CaptureFileInfo | undefined = undefined;
  /** Where a block that is being skipped without buffering started, and its length (for end-of-input). */
  skipOffset = 0;
  skipLength = 0;

  constructor(readonly sink: RecordSink, readonly maxCaplen: number) {}

  /** Records a problem that stops the read; everything before it was already delivered. */
  fail(offset: number, message: string): void {
    this.fatal = true;
    this.issues.push({ offset, message, fatal: true });
  }

  /** Records a problem the read survives (the record or block in question is dropped). */
  warn(offset: number, message: string): void {
    if (this.issues.length >= MAX_KEPT_ISSUES) {
      this.droppedIssues++;
      return;
    }
    this.issues.push({ offset, message, fatal: false });
  }
}

/**
 * A format's record walker. `walk` delivers every complete record in `b[pos, end)` and returns where
 * it stopped: at the first incomplete record, or beyond `end` when the bytes up to that point are to
 * be skipped unseen (a block too large to buffer). `base` is the input offset of `b[0]`.
 */
export interface Walker {
  walk(b: Uint8Array, pos: number, end: number, base: number): number;
  /** End of input with `b[pos, end)` left over: report what was cut short. */
  finish(b: Uint8Array, pos: number, end: number, base: number): void;
  /** Largest record or block the walker must be able to see whole. */
  readonly maxUnit: number;
}

export function hex32(v: number): string {
  return "0x" + (v >>> 0).toString(16).padStart(8, "0");
}
