/**
 * Reassembly of one TCP direction into an in-order byte stream.
 *
 * Policies (docs/tcp.md):
 * - In-order data is handed to the sink as a view of the packet: no copy.
 * - Out-of-order data is copied into a ByteRing until the hole before it fills.
 * - Overlaps: first data wins. Bytes already delivered or buffered are kept; the newer copy's
 *   overlapping bytes are dropped and counted (overlapBytes).
 * - A hole is skipped (reported as missed bytes, Zeek's `g`) when the peer acknowledges data past
 *   it (the capture lost it, as tshark's follow decides), when the buffered data reaches
 *   `gapWindow` bytes past the hole, when it has been open `gapTimeout` seconds, when the ring cap
 *   or global budget is hit, and at the end of the stream.
 */
import { ByteRing, MAX_RANGES, type RingBudget } from "./ring.ts";

/** Receives one direction's stream. Views are only valid during the call. */
export interface StreamSink {
  onData(dir: number, b: Uint8Array, off: number, len: number, t: number): void;
  /** `len` bytes were never seen; the stream continues after them. */
  onGap(dir: number, len: number, t: number): void;
}

export interface ReassemblyLimits {
  /** Most bytes one direction buffers out of order (the ring's cap, a power of two). */
  perDirection: number;
  /** A hole is skipped once buffered data reaches this far past it. */
  gapWindow: number;
  /** A hole is skipped once it has been open this long (seconds). */
  gapTimeout: number;
}

/** Segments of a direction that may still fill a hole after the peer acknowledged past it. */
export const ACK_SKIP_SEGMENTS = 4;

/** Signed distance a - b in 32-bit sequence space. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** `marks` bits: the counter changed during the current segment. */
export const MARK_RETRANSMITTED = 1, MARK_GAP = 2;

/** Where a buffered segment that wraps round the ring end is made contiguous (one at a time). */
let wrapScratch = new Uint8Array(0);

export class DirReassembler {
  // Fields in the order a segment touches them: V8 lays them out in declaration order, so the
  // per-segment ones share the object's first cache lines. (The constructor's parameter properties
  // come last; declaring them as fields assigned in the constructor cost 95 B more per instance.)
  /** Whether the stream's starting sequence is known (from a SYN or the first data). */
  started = false;
  /** Stream offset of the next expected byte (0 is the byte after the ISN). */
  next = 0;
  // The ISN as two 16-bit halves: small integers live in the object, a uint32 would be a boxed
  // double elsewhere in memory.
  private isnHi = 0;
  private isnLo = 0;
  segments = 0;
  dataSegments = 0;
  /** Bytes delivered in order (excluding skipped holes). */
  bytes = 0;
  private lastRel = -1;
  private lastLen = -1;
  /** Highest stream offset the peer acknowledged. */
  ackedRel = -1;
  /** Segment count when an acknowledged hole was noticed (-1: none pending). */
  private ackSkipAt = -1;
  ring: ByteRing | null = null;
  /** MARK_* bits set when a counter changes; the owner clears them per segment. */
  marks = 0;
  /** A SYN fixed the initial sequence number. */
  synSeen = false;
  finSeen = false;
  rstSeen = false;
  finSeq = 0;
  retransmitted = 0;
  retransmittedBytes = 0;
  duplicates = 0;
  outOfOrder = 0;
  overlapSegments = 0;
  overlapBytes = 0;
  gaps = 0;
  missedBytes = 0;
  /** Holes skipped because a cap (per direction or global) was hit. */
  capSkips = 0;
  zeroWindow = 0;
  /** Highest stream offset the peer acknowledged. */
  private holeSince = -1;

  constructor(
    readonly dir: number,
    private readonly limits: ReassemblyLimits,
    private readonly budget: RingBudget,
    private readonly sink: StreamSink,
  ) {}

  /** Initial sequence number (uint32). */
  get isn(): number {
    return this.isnHi * 65536 + this.isnLo;
  }
  set isn(v: number) {
    this.isnHi = v >>> 16;
    this.isnLo = v & 0xffff;
  }

  /** The initial sequence number from a SYN (data starts at isn + 1). */
  syn(seq: number): void {
    if (this.started && this.synSeen) return;
    this.isn = seq;
    this.synSeen = true;
    this.started = true;
    this.next = 0;
  }

  /**
   * Next expected sequence number (uint32). Derived rather than stored: a uint32 field is a boxed
   * double that every in-order segment would rewrite.
   */
  get nextSeq(): number {
    return (this.isnHi * 65536 + this.isnLo + 1 + this.next) >>> 0;
  }

  /** Stream offset of a sequence number (valid within 2^31 of nextSeq). */
  rel(seq: number): number {
    return this.next + seqDiff(seq, this.nextSeq);
  }

  /**
   * The peer acknowledged up to `ack`: a hole before acknowledged data was lost by the capture. The
   * skip waits for this direction's next segment, because a capture may record the receiver's ACK a
   * moment before the segment that filled the hole (seen on veth captures).
   */
  acked(ack: number, _t: number): void {
    if (this.started) this.ackedAt(this.rel(ack));
  }

  /** `acked` with the acknowledgement already turned into a stream offset (the direction started). */
  ackedAt(r: number): void {
    if (r <= this.ackedRel) return;
    this.ackedRel = r;
    const ring = this.ring;
    if (ring !== null && ring.count > 0 && ring.starts[0] <= r && this.ackSkipAt < 0) {
      this.ackSkipAt = this.segments;
    }
  }

  /**
   * Skips a hole the peer acknowledged, once ACK_SKIP_SEGMENTS more segments of this direction came
   * without filling it (a busy capture can record the ACK a few frames before the filler).
   */
  private ackSkip(t: number): void {
    const ring = this.ring;
    if (ring !== null && ring.count > 0 && ring.starts[0] <= this.ackedRel) {
      if (this.segments - this.ackSkipAt >= ACK_SKIP_SEGMENTS) {
        this.ackSkipAt = -1;
        this.skipHole(t, false);
      }
    } else this.ackSkipAt = -1;
  }

  /** One segment's payload b[off, off+len) at sequence `seq` (after any SYN). */
  segment(seq: number, b: Uint8Array, off: number, len: number, t: number): void {
    this.segments++;
    if (len > 0 && !this.started) this.startAt(seq);
    this.placeAt(this.started ? this.rel(seq) : 0, b, off, len, t);
  }

  /** Mid-stream pick-up: the first data seen starts the stream at `seq`. */
  startAt(seq: number): void {
    this.started = true;
    this.isn = (seq - 1) >>> 0;
    this.next = 0;
  }

  /**
   * The rest of `segment` once the sequence number is a stream offset (`rel`, ignored without
   * payload). The caller counted the segment and started the direction if it carries data.
   */
  placeAt(rel: number, b: Uint8Array, off: number, len: number, t: number): void {
    this.place(rel, b, off, len, t);
    if (this.ackSkipAt >= 0) this.ackSkip(t);
  }

  private place(rel: number, b: Uint8Array, off: number, len: number, t: number): void {
    if (len <= 0) return;
    this.dataSegments++;
    const end = rel + len;
    if (rel === this.lastRel && len === this.lastLen) this.duplicates++;
    this.lastRel = rel;
    this.lastLen = len;
    const next = this.next;
    if (end <= next) {
      this.retransmitted++;
      this.marks |= MARK_RETRANSMITTED;
      this.retransmittedBytes += len;
      return;
    }
    if (rel < next) {
      // Partly old: the delivered bytes win.
      const old = next - rel;
      this.overlapSegments++;
      this.overlapBytes += old;
      off += old;
      len -= old;
      rel = next;
    }
    const ring = this.ring;
    if (rel === next) {
      if (ring === null || ring.count === 0) {
        this.deliver(b, off, len, t);
        return;
      }
      this.fill(b, off, rel, len, t, ring);
      return;
    }
    this.outOfOrder++;
    this.buffer(b, off, rel, len, t);
  }

  /** In-order segment while data waits in the ring: interleave it with the buffered ranges. */
  private fill(b: Uint8Array, off: number, rel: number, len: number, t: number, ring: ByteRing): void {
    const end = rel + len;
    let anyOverlap = false;
    while (this.next < end) {
      const s = ring.count > 0 ? ring.starts[0] : Infinity;
      if (s > this.next) {
        const stop = s < end ? s : end;
        this.deliver(b, off + (this.next - rel), stop - this.next, t);
        continue;
      }
      // The ring holds the bytes at `next`: they were first, so they win.
      const e = ring.ends[0];
      const ovEnd = e < end ? e : end;
      if (ovEnd > this.next) {
        this.overlapBytes += ovEnd - this.next;
        anyOverlap = true;
      }
      this.deliverRing(ring, this.next, e, t);
      ring.shift();
    }
    if (anyOverlap) this.overlapSegments++;
    this.drain(ring, t);
  }

  private buffer(b: Uint8Array, off: number, rel: number, len: number, t: number): void {
    let ring = this.ring;
    if (ring === null) ring = this.ring = new ByteRing(this.limits.perDirection, this.budget);
    let end = rel + len;
    // Too far ahead for the ring, or too many holes: give up on the oldest hole(s) first.
    while (!ring.ensure(this.next, end) || ring.full(rel, end)) {
      if (ring.count === 0) {
        // Nothing buffered and still no room: skip straight to this segment.
        this.capSkips++;
        this.gap(rel - this.next, t);
        this.deliver(b, off, len, t);
        return;
      }
      this.capSkips++;
      this.skipHole(t, true);
      if (rel < this.next) {
        if (end <= this.next) {
          this.retransmitted++;
          this.marks |= MARK_RETRANSMITTED;
          this.retransmittedBytes += len;
          return;
        }
        const old = this.next - rel;
        this.overlapBytes += old;
        off += old;
        len -= old;
        rel = this.next;
      }
      if (rel === this.next) {
        this.fill(b, off, rel, len, t, ring);
        return;
      }
      end = rel + len;
    }
    const ov = ring.store(rel, b, off, len);
    if (ov > 0) {
      this.overlapSegments++;
      this.overlapBytes += ov;
    }
    if (this.holeSince < 0) this.holeSince = t;
    if (this.ackedRel >= ring.starts[0]) {
      if (this.ackSkipAt < 0) this.ackSkipAt = this.segments;
    } else if (ring.ends[ring.count - 1] - this.next >= this.limits.gapWindow) this.skipHole(t, true);
    else if (t - this.holeSince >= this.limits.gapTimeout) this.skipHole(t, false);
  }

  /** Skips the hole before the first buffered range and delivers what follows it. */
  skipHole(t: number, _pressure: boolean): void {
    const ring = this.ring;
    if (ring === null || ring.count === 0) return;
    const s = ring.starts[0];
    if (s > this.next) this.gap(s - this.next, t);
    this.drain(ring, t);
  }

  /** Delivers the ranges that start at or before `next`. */
  private drain(ring: ByteRing, t: number): void {
    while (ring.count > 0 && ring.starts[0] <= this.next) {
      const e = ring.ends[0];
      if (e > this.next) this.deliverRing(ring, this.next, e, t);
      ring.shift();
    }
    if (ring.count === 0) {
      this.holeSince = -1;
      ring.release();
    } else this.holeSince = t;
  }

  private gap(n: number, t: number): void {
    if (n <= 0) return;
    this.gaps++;
    this.marks |= MARK_GAP;
    this.missedBytes += n;
    this.advance(n);
    this.sink.onGap(this.dir, n, t);
  }

  private deliver(b: Uint8Array, off: number, len: number, t: number): void {
    this.advance(len);
    this.bytes += len;
    this.sink.onData(this.dir, b, off, len, t);
  }

  /**
   * Buffered bytes [from, to) to the sink, one call per segment they came in (as tshark's Follow
   * TCP Stream shows them), each in one piece even where the ring wraps.
   */
  private deliverRing(ring: ByteRing, from: number, to: number, t: number): void {
    const mask = ring.mask, buf = ring.buf;
    for (let a = from; a < to;) {
      const b = ring.nextCut(a, to);
      const n = b - a, p = a & mask;
      this.advance(n);
      this.bytes += n;
      if (p + n <= buf.length) this.sink.onData(this.dir, buf, p, n, t);
      else {
        const first = buf.length - p;
        if (wrapScratch.length < n) wrapScratch = new Uint8Array(Math.max(n, wrapScratch.length * 2));
        wrapScratch.set(buf.subarray(p), 0);
        wrapScratch.set(buf.subarray(0, n - first), first);
        this.sink.onData(this.dir, wrapScratch, 0, n, t);
      }
      a = b;
    }
    ring.dropCuts(to);
  }

  private advance(n: number): void {
    this.next += n;
  }

  /** Bytes waiting in the ring. */
  buffered(): number {
    return this.ring === null ? 0 : this.ring.held();
  }

  /** End of stream (close, idle timeout or end of input): skip every hole, deliver everything. */
  flush(t: number): void {
    const ring = this.ring;
    if (ring === null) return;
    while (ring.count > 0) this.skipHole(t, false);
    ring.release();
    this.ring = null;
  }

  /** Ranges kept per direction (exported for tests and docs). */
  static readonly maxRanges: number = MAX_RANGES;
}
