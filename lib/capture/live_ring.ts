/**
 * The single-producer single-consumer ring between the capture Worker and the main thread, in
 * SharedArrayBuffers. The worker has libpcap write whole batches of classic pcap records straight
 * into the ring (pcap_dispatch + pcap_dump over fmemopen: no JavaScript per packet), then publishes
 * a 16-byte batch header; the main thread walks the records in place with index arithmetic.
 *
 * Layout of `data`: a sequence of 8-byte-aligned entries. Entry header (little-endian int32 words):
 * [kind (1 batch, 2 wrap to offset 0), total bytes incl. header, interface index, record count].
 * Records inside a batch: [ts_sec, ts_usec|ts_nsec, caplen, len] (host order) + caplen bytes.
 * `ctrl` holds the positions, the stop flag, the worker state and per-interface pcap_stats.
 */

export const Ctrl = {
  /** Byte offset where the next entry will be written (published after the entry is complete). */
  WPOS: 0,
  /** Byte offset of the next entry the reader has not consumed. */
  RPOS: 1,
  /** Set to 1 by the main thread: finish (after draining the kernel) and exit. */
  STOP: 2,
  /** Worker state, see WorkerState. */
  STATE: 3,
  /** Incremented on every publish; the reader waits on it. */
  SEQ: 4,
  /** Incremented on every consume; a writer waiting for room waits on it. */
  RSEQ: 5,
  /** Times the worker had to wait for the reader (the ring was full). */
  FULL: 6,
  /** Stats of interface i: STATS + 4*i + (0 received, 1 dropped, 2 ifdropped, 3 captured by us). */
  STATS: 16,
} as const;

export const WorkerState = { STARTING: 0, RUNNING: 1, DRAINING: 2, DONE: 3, FAILED: 4 } as const;

export const MAX_INTERFACES = 32;
export const CTRL_WORDS: number = Ctrl.STATS + 4 * MAX_INTERFACES;
export const ENTRY_HEADER = 16;
export const RECORD_HEADER = 16;
const KIND_BATCH = 1;
const KIND_WRAP = 2;

/** Allocates the two shared buffers; `ringBytes` is rounded down to a multiple of 8. */
export function createRing(ringBytes: number): { ctrl: SharedArrayBuffer; data: SharedArrayBuffer } {
  return {
    ctrl: new SharedArrayBuffer(CTRL_WORDS * 4),
    data: new SharedArrayBuffer(Math.floor(ringBytes / 8) * 8),
  };
}

/** Producer side (the worker). */
export class RingWriter {
  readonly ctrl: Int32Array;
  readonly data: Uint8Array;
  readonly #words: Int32Array;
  readonly #size: number;

  constructor(ctrl: SharedArrayBuffer, data: SharedArrayBuffer) {
    this.ctrl = new Int32Array(ctrl);
    this.data = new Uint8Array(data);
    this.#words = new Int32Array(data);
    this.#size = data.byteLength;
  }

  /**
   * Finds room for an entry of up to `maxBytes` (header included): returns the offset of the entry
   * header, or -1 when the reader must consume first. May publish a wrap marker to get contiguous room.
   */
  reserve(maxBytes: number): number {
    const need = ENTRY_HEADER + ((maxBytes + 7) & ~7);
    let w = Atomics.load(this.ctrl, Ctrl.WPOS);
    const r = Atomics.load(this.ctrl, Ctrl.RPOS);
    if (w >= r) {
      // Keep 8 bytes free when the reader is at 0, or a full ring would look empty.
      const end = r === 0 ? this.#size - 8 : this.#size;
      if (end - w >= need) return w;
      if (r === 0) return -1;
      // Not enough room before the end: wrap (the reader skips to 0 at the marker).
      this.#words[w >> 2] = KIND_WRAP;
      this.#words[(w >> 2) + 1] = this.#size - w;
      w = 0;
      this.#publish(0);
    }
    return r - w - 8 >= need ? w : -1;
  }

  /** Largest record count that surely fits in `room` bytes when every record may be `snaplen` long. */
  static fitCount(room: number, snaplen: number): number {
    return Math.floor((room - ENTRY_HEADER) / (RECORD_HEADER + snaplen));
  }

  /** Bytes available for an entry at `at` (up to the reader or the end of the ring). */
  room(at: number): number {
    const r = Atomics.load(this.ctrl, Ctrl.RPOS);
    if (at >= r) return (r === 0 ? this.#size - 8 : this.#size) - at;
    return r - at - 8;
  }

  /** Publishes the batch whose records occupy [at + 16, end). */
  commit(at: number, end: number, ifIndex: number, count: number): void {
    const total = ((end - at) + 7) & ~7;
    const i = at >> 2;
    this.#words[i] = KIND_BATCH;
    this.#words[i + 1] = total;
    this.#words[i + 2] = ifIndex;
    this.#words[i + 3] = count;
    const next = at + total;
    this.#publish(next >= this.#size ? 0 : next);
  }

  #publish(w: number): void {
    Atomics.store(this.ctrl, Ctrl.WPOS, w);
    Atomics.add(this.ctrl, Ctrl.SEQ, 1);
    Atomics.notify(this.ctrl, Ctrl.SEQ);
  }

  /** Blocks the worker (never the main thread) until the reader consumed something, or `ms` passed. */
  waitForRoom(ms: number): void {
    Atomics.add(this.ctrl, Ctrl.FULL, 1);
    Atomics.wait(this.ctrl, Ctrl.RSEQ, Atomics.load(this.ctrl, Ctrl.RSEQ), ms);
  }
}

/** Called for each record; `buf[off .. off + caplen)` is the frame, valid only during the call. */
export type RingRecordSink = (
  ifIndex: number,
  buf: Uint8Array,
  off: number,
  caplen: number,
  origLen: number,
  tsSec: number,
  tsFrac: number,
) => void;

/** Consumer side (the main thread). */
export class RingReader {
  readonly ctrl: Int32Array;
  readonly data: Uint8Array;
  readonly #words: Int32Array;
  readonly #size: number;

  constructor(ctrl: SharedArrayBuffer, data: SharedArrayBuffer) {
    this.ctrl = new Int32Array(ctrl);
    this.data = new Uint8Array(data);
    this.#words = new Int32Array(data);
    this.#size = data.byteLength;
  }

  /** True when nothing is waiting. */
  get empty(): boolean {
    return Atomics.load(this.ctrl, Ctrl.RPOS) === Atomics.load(this.ctrl, Ctrl.WPOS);
  }

  /**
   * Hands every published record to `sink` (the ring space is released after each batch) and
   * returns the number of records. `limit` caps the records delivered (the rest of the batch is
   * still consumed: used for -c).
   */
  drain(sink: RingRecordSink, limit = Infinity): number {
    const b = this.data;
    const words = this.#words;
    let r = Atomics.load(this.ctrl, Ctrl.RPOS);
    const w = Atomics.load(this.ctrl, Ctrl.WPOS);
    let delivered = 0;
    while (r !== w) {
      const kind = words[r >> 2];
      const total = words[(r >> 2) + 1];
      if (kind === KIND_BATCH) {
        const ifIndex = words[(r >> 2) + 2];
        const count = words[(r >> 2) + 3];
        let o = r + ENTRY_HEADER;
        for (let n = 0; n < count && delivered < limit; n++, delivered++) {
          // Host byte order (little-endian on every platform Deno FFI runs on here).
          const tsSec = (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
          const tsFrac = (b[o + 4] | (b[o + 5] << 8) | (b[o + 6] << 16) | (b[o + 7] << 24)) >>> 0;
          const caplen = (b[o + 8] | (b[o + 9] << 8) | (b[o + 10] << 16) | (b[o + 11] << 24)) >>> 0;
          const len = (b[o + 12] | (b[o + 13] << 8) | (b[o + 14] << 16) | (b[o + 15] << 24)) >>> 0;
          sink(ifIndex, b, o + RECORD_HEADER, caplen, len, tsSec, tsFrac);
          o += RECORD_HEADER + caplen;
        }
        r += total;
        if (r >= this.#size) r = 0;
      } else {
        r = 0; // wrap marker
      }
      Atomics.store(this.ctrl, Ctrl.RPOS, r);
      Atomics.add(this.ctrl, Ctrl.RSEQ, 1);
      Atomics.notify(this.ctrl, Ctrl.RSEQ);
    }
    return delivered;
  }
}
