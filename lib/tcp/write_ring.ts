/**
 * The --streams writer's hand-off to its file thread: one SharedArrayBuffer ring of records
 * (open a file, append bytes, close it, finish), so the analysis thread pays a copy and two atomic
 * stores per segment, and never a postMessage, an allocation or a system call. The file thread
 * (file_writer_worker.ts) turns records into open/write/close calls.
 *
 * Record: int32 op, int32 file id, int32 payload length, int32 spare, then the payload padded to
 * 16 bytes. A record never wraps: a WRAP record (or the end of the ring) sends the reader to 0.
 */

import { MppError } from "../errors.ts";

export const OP_WRAP = 0, OP_OPEN = 1, OP_DATA = 2, OP_CLOSE = 3, OP_FINISH = 4;
/** Control words (Int32Array): positions in the ring, the reader's "file failed" flag. */
export const C_HEAD = 0, C_TAIL = 1, C_FAILED = 2;
export const CONTROL_WORDS = 4;
const HEADER = 16;
/** Bytes published before the reader is woken (fewer wake-ups than one per segment). */
const PUBLISH_EVERY = 256 << 10;
/** A reader that frees nothing for this long is taken for dead (a hung file system, a lost thread). */
const STALL_MS = 60_000;

export interface RingBuffers {
  control: SharedArrayBuffer;
  ring: SharedArrayBuffer;
}

function padded(n: number): number {
  return (n + 15) & ~15;
}

/** The analysis thread's end of the ring. */
export class RingWriter {
  readonly ctl: Int32Array;
  private readonly buf: Uint8Array;
  private readonly hdr: Int32Array;
  private readonly size: number;
  /** Largest payload of one record: bigger writes are split. */
  readonly maxPayload: number;
  private head = 0;
  private published = 0;

  constructor(readonly buffers: RingBuffers, private readonly stallMs = STALL_MS) {
    this.ctl = new Int32Array(buffers.control);
    this.buf = new Uint8Array(buffers.ring);
    this.hdr = new Int32Array(buffers.ring);
    this.size = this.buf.length;
    this.maxPayload = Math.min(1 << 20, this.size / 4);
  }

  static create(size = 32 << 20, stallMs = STALL_MS): RingWriter {
    return new RingWriter({
      control: new SharedArrayBuffer(CONTROL_WORDS * 4),
      ring: new SharedArrayBuffer(size),
    }, stallMs);
  }

  /** True once the file thread reported a failure (it then drops everything). */
  get failed(): boolean {
    return Atomics.load(this.ctl, C_FAILED) !== 0;
  }

  /** Appends one record; `b[off, off+len)` is its payload. Waits while the ring is full. */
  put(op: number, id: number, b: Uint8Array | null, off: number, len: number): void {
    const need = HEADER + padded(len);
    if (this.head + need > this.size) {
      this.reserve(this.size - this.head + need);
      if (this.size - this.head >= HEADER) this.header(OP_WRAP, 0, 0);
      this.head = 0;
    } else this.reserve(need);
    this.header(op, id, len);
    if (len > 0) this.buf.set(b!.subarray(off, off + len), this.head + HEADER);
    this.head += need;
    if (this.head === this.size) this.head = 0;
    if (op === OP_FINISH || this.pending() >= PUBLISH_EVERY) this.publish();
  }

  /** Makes the written records visible to the reader and wakes it. */
  publish(): void {
    Atomics.store(this.ctl, C_HEAD, this.head);
    Atomics.notify(this.ctl, C_HEAD);
    this.published = this.head;
  }

  private pending(): number {
    return (this.head - this.published + this.size) % this.size;
  }

  private header(op: number, id: number, len: number): void {
    const i = this.head >> 2;
    this.hdr[i] = op;
    this.hdr[i + 1] = id;
    this.hdr[i + 2] = len;
  }

  /** Waits until `n` bytes from head are free (one byte always stays free: full ≠ empty). */
  private reserve(n: number): void {
    let since = 0, seen = -1;
    for (;;) {
      const tail = Atomics.load(this.ctl, C_TAIL);
      const used = (this.head - tail + this.size) % this.size;
      if (this.size - used - 16 >= n) return;
      this.publish();
      if (tail !== seen) {
        seen = tail;
        since = performance.now();
      } else if (performance.now() - since > this.stallMs) {
        throw new MppError(
          "io",
          `the TCP stream file writer made no progress for ${this.stallMs / 1000} s`,
          "check the output directory's file system (full, hung or very slow)",
        );
      }
      Atomics.wait(this.ctl, C_TAIL, tail, 50);
    }
  }
}

/** The file thread's end: calls `on` for every record, forever (until OP_FINISH). */
export function readRing(
  buffers: RingBuffers,
  on: (op: number, id: number, payload: Uint8Array) => boolean,
): void {
  const ctl = new Int32Array(buffers.control);
  const buf = new Uint8Array(buffers.ring);
  const hdr = new Int32Array(buffers.ring);
  const size = buf.length;
  let tail = Atomics.load(ctl, C_TAIL);
  for (;;) {
    let head = Atomics.load(ctl, C_HEAD);
    while (head === tail) {
      Atomics.wait(ctl, C_HEAD, head);
      head = Atomics.load(ctl, C_HEAD);
    }
    while (tail !== head) {
      if (size - tail < HEADER || hdr[tail >> 2] === OP_WRAP) {
        tail = 0;
        continue;
      }
      const i = tail >> 2;
      const op = hdr[i], id = hdr[i + 1], len = hdr[i + 2];
      const more = on(op, id, buf.subarray(tail + HEADER, tail + HEADER + len));
      tail += HEADER + padded(len);
      if (tail === size) tail = 0;
      if (!more) {
        Atomics.store(ctl, C_TAIL, tail);
        Atomics.notify(ctl, C_TAIL);
        return;
      }
    }
    Atomics.store(ctl, C_TAIL, tail);
    Atomics.notify(ctl, C_TAIL);
  }
}
