import { TIMING_WORDS, timingInit, TimingStats } from "./timing.ts";

/**
 * Every flow's per-packet counters in one Float64Array, a fixed stride per flow: both directions,
 * the flow-level timing, the encoding-level timing and the cached MAC pair words. One flow's hot
 * numbers then sit in a few adjacent cache lines; as objects they were scattered over a dozen
 * heap objects and boxed doubles (epoch seconds do not fit V8's small integers), and analysing
 * 18k interleaved flows ran 4x slower than 20 flows, all of it in cache misses.
 */
export const D_PACKETS = 0,
  D_BYTES = 1,
  D_PAYLOAD = 2,
  D_IP = 3,
  D_FIRST_SEC = 4,
  D_FIRST_NSEC = 5,
  D_LAST_SEC = 6,
  D_LAST_NSEC = 7;
export const DIR_WORDS = 8;

/** Offsets of the regions inside one flow's stride. */
export const F_A = 0;
export const F_B = F_A + DIR_WORDS;
export const F_TIMING = F_B + DIR_WORDS;
export const F_ENCODING = F_TIMING + TIMING_WORDS;
/** Six words: the MAC pair seen last per direction (3 int32 words each). */
export const F_ETH = F_ENCODING + TIMING_WORDS;
export const FLOW_STRIDE = 48;

/** Records per arena chunk (packet-type timing records, TCP history bytes). */
const ARENA_CHUNK = 4096;

export class FlowStore {
  st: Float64Array = new Float64Array(FLOW_STRIDE * 1024);
  /**
   * Packet-type timing records and TCP history letters are carved out of shared chunks: a small
   * typed array of its own costs three heap objects (view, ArrayBuffer, backing store) of about
   * 280 bytes, which on 45k flows was 35 MB of heap for 10 MB of numbers, all of it copied by
   * every scavenge that promoted it.
   */
  private typeChunk: Float64Array = new Float64Array(0);
  private typeUsed = 0;
  private histChunk: Uint8Array = new Uint8Array(0);
  private histUsed = 0;

  /** Makes room for flow `id` and initialises its slot; returns the slot's base offset. */
  init(id: number): number {
    const base = id * FLOW_STRIDE;
    if (base + FLOW_STRIDE > this.st.length) {
      const next = new Float64Array(this.st.length * 2);
      next.set(this.st);
      this.st = next;
    }
    const st = this.st;
    st.fill(0, base, base + FLOW_STRIDE);
    st[base + F_A + D_FIRST_SEC] = -1;
    st[base + F_B + D_FIRST_SEC] = -1;
    timingInit(st, base + F_TIMING);
    timingInit(st, base + F_ENCODING);
    return base;
  }

  /** A new, empty timing record for one packet type of one flow. */
  typeTiming(): TimingStats {
    if (this.typeUsed + TIMING_WORDS > this.typeChunk.length) {
      this.typeChunk = new Float64Array(TIMING_WORDS * ARENA_CHUNK);
      this.typeUsed = 0;
    }
    const o = this.typeUsed;
    this.typeUsed += TIMING_WORDS;
    timingInit(this.typeChunk, o);
    return new TimingStats(this.typeChunk, o);
  }

  /** `bytes` zeroed bytes for one TCP connection's history letters: [chunk, offset]. */
  historyBytes(bytes: number): [Uint8Array, number] {
    if (this.histUsed + bytes > this.histChunk.length) {
      this.histChunk = new Uint8Array(Math.max(bytes, 64 * ARENA_CHUNK));
      this.histUsed = 0;
    }
    const o = this.histUsed;
    this.histUsed += bytes;
    return [this.histChunk, o];
  }
}

/** Per-direction counters of one flow, read from the store (report time only). */
export class DirStats {
  constructor(private readonly st: Float64Array, private readonly o: number) {}
  get packets(): number {
    return this.st[this.o + D_PACKETS];
  }
  /** Frame bytes on the wire (origLen), as tshark's conversation tables count them. */
  get bytes(): number {
    return this.st[this.o + D_BYTES];
  }
  /** Transport payload bytes (Zeek's orig_bytes/resp_bytes before sequence-number refinement). */
  get payloadBytes(): number {
    return this.st[this.o + D_PAYLOAD];
  }
  /** IP total length sum (Zeek's orig_ip_bytes). */
  get ipBytes(): number {
    return this.st[this.o + D_IP];
  }
  get firstSec(): number {
    return this.st[this.o + D_FIRST_SEC];
  }
  get firstNsec(): number {
    return this.st[this.o + D_FIRST_NSEC];
  }
  get lastSec(): number {
    return this.st[this.o + D_LAST_SEC];
  }
  get lastNsec(): number {
    return this.st[this.o + D_LAST_NSEC];
  }
}
