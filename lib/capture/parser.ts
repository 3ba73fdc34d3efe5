/**
 * Push parser for classic pcap and pcapng. Bytes arrive in chunks of any size; every complete frame
 * goes synchronously to the sink as one reused CaptureRecord whose `data` views the chunk (or the
 * parser's buffer). Only the tail of an incomplete record is copied between chunks, and sources that
 * can read into memory they are given use `writable()` + `commit()` to avoid even that.
 *
 * Memory is bounded: the internal buffer has a fixed capacity of chunkSize + the largest record, and
 * blocks too large to buffer that need not be read (custom blocks, NRBs) are skipped unseen.
 *
 * A sink that throws aborts the read: the exception leaves push()/commit(), a fatal issue records it
 * and later input is ignored.
 */
import { MppError } from "../errors.ts";
import type { CaptureFileInfo, CaptureIssue, RecordSink } from "./record.ts";
import { DEFAULT_MAX_CAPLEN, ParseState, type Walker } from "./parse_state.ts";
import { describeMagic, isPcapMagic, PcapWalker } from "./pcap_walker.ts";
import { PcapngWalker } from "./pcapng_walker.ts";

export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;

export interface CaptureParserOptions {
  /** Largest captured length accepted (tshark's rule: 262144); larger is a fatal issue. */
  maxCaplen?: number;
  /** Size of the region `writable()` offers; the buffer holds this plus the largest record. */
  chunkSize?: number;
}

const HINT_NOT_CAPTURE =
  "give a pcap or pcapng file (gzip-compressed is fine); check the path and the file type";

export class CaptureParser {
  readonly #st: ParseState;
  #walker: Walker | undefined = undefined;
  readonly #buf: Uint8Array;
  #start = 0;
  #end = 0;
  /** Input offset of #buf[0]. */
  #bufBase = 0;
  /** Input bytes accepted so far. */
  #consumed = 0;
  /** Input bytes still to be dropped unseen (a block too large to buffer). */
  #skip = 0;
  #ended = false;
  readonly #chunkSize: number;

  constructor(sink: RecordSink, opts: CaptureParserOptions = {}) {
    const maxCaplen = opts.maxCaplen ?? DEFAULT_MAX_CAPLEN;
    if (!Number.isInteger(maxCaplen) || maxCaplen < 1 || maxCaplen > 0x7fffffff) {
      throw new MppError("bad_usage", `maxCaplen ${maxCaplen} is not a positive integer`, "use e.g. 262144");
    }
    const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!Number.isInteger(chunkSize) || chunkSize < 1) {
      throw new MppError("bad_usage", `chunkSize ${chunkSize} is not a positive integer`, "use e.g. 4194304");
    }
    this.#chunkSize = chunkSize;
    this.#st = new ParseState(sink, maxCaplen);
    // Room for a full chunk after the largest possible leftover record (pcapng block incl. options).
    const maxUnit = new PcapngWalker(this.#st).maxUnit;
    this.#buf = new Uint8Array(chunkSize + maxUnit);
  }

  /** The file header's facts, once read. */
  get info(): CaptureFileInfo | undefined {
    return this.#st.info;
  }
  get issues(): CaptureIssue[] {
    return this.#st.issues;
  }
  /** Frames delivered to the sink. */
  get records(): number {
    return this.#st.records;
  }
  /** Input bytes accepted so far (decompressed). */
  get bytesConsumed(): number {
    return this.#consumed;
  }
  /** True once a fatal issue stopped the read; later input is ignored. */
  get stopped(): boolean {
    return this.#st.fatal;
  }
  /** Non-fatal issues that were only counted (beyond the first 100). */
  get droppedIssues(): number {
    return this.#st.droppedIssues;
  }
  /** Fixed size of the internal buffer: it never grows. */
  get bufferCapacity(): number {
    return this.#buf.length;
  }

  push(chunk: Uint8Array): void {
    if (this.#ended) throw new MppError("internal", "CaptureParser.push after end()", "");
    const len = chunk.length;
    let off = 0;
    while (off < len && !this.#st.fatal) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, len - off);
        this.#skip -= n;
        off += n;
        this.#consumed += n;
        if (this.#skip === 0) this.#st.skipLength = 0;
        continue;
      }
      if (this.#start === this.#end) {
        // Nothing buffered: walk the caller's chunk in place and keep only its tail.
        const base = this.#consumed - off;
        const pos = this.#run(chunk, off, len, base);
        if (this.#st.fatal) {
          this.#consumed = base + len;
          return;
        }
        if (pos >= len) {
          this.#skip = pos - len;
          this.#consumed = base + len;
          if (this.#skip === 0) this.#st.skipLength = 0;
          return;
        }
        const n = Math.min(len - pos, this.#buf.length);
        this.#buf.set(chunk.subarray(pos, pos + n), 0);
        this.#start = 0;
        this.#end = n;
        this.#bufBase = base + pos;
        off = pos + n;
        this.#consumed = base + off;
        continue;
      }
      this.#compact();
      const n = Math.min(this.#buf.length - this.#end, len - off);
      this.#buf.set(chunk.subarray(off, off + n), this.#end);
      this.#end += n;
      off += n;
      this.#consumed += n;
      this.#walkBuffered();
    }
    if (off < len) this.#consumed += len - off;
  }

  /** Stops the read with a fatal issue found by the source (e.g. a damaged gzip stream). */
  fail(offset: number, message: string): void {
    if (!this.#st.fatal) this.#st.fail(offset, message);
  }

  /**
   * A region of the internal buffer a source may read into directly; call `commit(n)` with the
   * number of bytes written. The region is chunkSize bytes long.
   */
  writable(): Uint8Array {
    this.#compact();
    // After compaction the leftover is smaller than the largest record, so chunkSize bytes fit.
    return this.#buf.subarray(this.#end, Math.min(this.#buf.length, this.#end + this.#chunkSize));
  }

  commit(n: number): void {
    if (this.#ended) throw new MppError("internal", "CaptureParser.commit after end()", "");
    if (n <= 0) return;
    if (this.#st.fatal) {
      this.#consumed += n;
      return;
    }
    this.#end += n;
    this.#consumed += n;
    if (this.#skip > 0) {
      const d = Math.min(this.#skip, this.#end - this.#start);
      this.#skip -= d;
      this.#start += d;
      if (this.#skip === 0) this.#st.skipLength = 0;
      if (this.#start === this.#end) {
        this.#start = this.#end = 0;
        this.#bufBase = this.#consumed;
        return;
      }
    }
    this.#walkBuffered();
  }

  /**
   * End of input: reports a record or block cut short. Throws MppError("bad_capture") when nothing
   * at all could be read (empty input, garbage or truncated file header).
   */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    const st = this.#st;
    if (!st.fatal) {
      if (this.#walker === undefined) {
        if (this.#consumed === 0) st.fail(0, "empty file (0 bytes)");
        else {
          st.fail(0, `not a capture file: ${this.#consumed} bytes, too short for a pcap or pcapng header`);
        }
      } else {
        this.#walker.finish(this.#buf, this.#start, this.#end, this.#bufBase);
      }
    }
    this.#throwIfNothingRead();
  }

  #throwIfNothingRead(): void {
    const st = this.#st;
    if (st.fatal && st.info === undefined && st.records === 0) {
      const last = st.issues[st.issues.length - 1];
      throw new MppError("bad_capture", last.message, HINT_NOT_CAPTURE);
    }
  }

  #compact(): void {
    if (this.#start === 0) return;
    if (this.#start < this.#end) this.#buf.copyWithin(0, this.#start, this.#end);
    this.#bufBase += this.#start;
    this.#end -= this.#start;
    this.#start = 0;
  }

  #walkBuffered(): void {
    const pos = this.#run(this.#buf, this.#start, this.#end, this.#bufBase);
    if (this.#st.fatal) return;
    if (pos >= this.#end) {
      this.#skip = pos - this.#end;
      if (this.#skip === 0) this.#st.skipLength = 0;
      this.#bufBase += this.#end;
      this.#start = this.#end = 0;
      return;
    }
    this.#start = pos;
    if (this.#start === 0 && this.#end === this.#buf.length) {
      // Cannot happen while every record the walkers wait for fits the buffer; guard anyway.
      this.#st.fail(this.#bufBase, `record at byte ${this.#bufBase} does not fit the reader's buffer`);
    }
  }

  #run(b: Uint8Array, pos: number, end: number, base: number): number {
    if (this.#walker === undefined) {
      if (end - pos < 4) return pos;
      this.#walker = this.#detect(b, pos, base);
      if (this.#walker === undefined) return pos;
    }
    let p: number;
    try {
      p = this.#walker.walk(b, pos, end, base);
    } catch (e) {
      // The sink threw: stop here so no record is delivered twice, and say so in the issues.
      if (!this.#st.fatal) {
        const st = this.#st;
        const msg = e instanceof Error ? e.message : String(e);
        st.fail(
          st.rec.fileOffset,
          `read stopped: the record consumer failed at record ${st.records}: ${msg}`,
        );
      }
      throw e;
    }
    if (this.#st.fatal) this.#throwIfNothingRead();
    return p;
  }

  #detect(b: Uint8Array, pos: number, base: number): Walker | undefined {
    if (isPcapMagic(b.subarray(pos, pos + 4))) return new PcapWalker(this.#st);
    if (b[pos] === 0x0a && b[pos + 1] === 0x0d && b[pos + 2] === 0x0d && b[pos + 3] === 0x0a) {
      return new PcapngWalker(this.#st);
    }
    const st = this.#st;
    if (b[pos] === 0x1f && b[pos + 1] === 0x8b) {
      st.fail(base + pos, "gzip-compressed input given to the capture parser: decompress it first");
    } else {
      st.fail(
        base + pos,
        `not a capture file: unknown magic ${describeMagic(b, pos)} at byte ${
          base + pos
        } (expected pcap or pcapng)`,
      );
    }
    this.#throwIfNothingRead();
    return undefined;
  }
}
