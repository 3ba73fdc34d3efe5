import { COMMON_RATES, PT_CLOCK_RATE } from "./rtp_payload_types.ts";

/** Recent sequence numbers remembered to tell a duplicate from a late packet. */
const WINDOW = 1024;
/** Arrival span (s) after which a dynamic payload type's clock rate is estimated from the stream. */
const ESTIMATE_AFTER_S = 1;

/**
 * Statistics of one RTP stream (one SSRC) per RFC 3550: extended sequence numbers (A.1, without
 * probation), expected and lost (A.3), interarrival jitter (A.8). Sequence numbers are kept as
 * plain extended integers (wraps add 65536), so a reordered packet never counts as loss and a
 * late one before the first packet moves the base back.
 */
export class RtpStream {
  readonly ssrc: number;
  readonly srcPort: number;
  readonly dstPort: number;
  payloadType = -1;
  payloadTypeChanges = 0;
  packets = 0;
  payloadBytes = 0;
  markers = 0;
  baseSeq = 0;
  maxSeq = 0;
  outOfOrder = 0;
  duplicates = 0;
  private readonly seen: Uint32Array = new Uint32Array(WINDOW / 32);
  /** Clock rate (Hz) used for jitter; 0 while unknown. */
  clockRate = 0;
  clockRateEstimated = false;
  /** Interarrival jitter in timestamp units (A.8, floating-point variant). */
  jitter = 0;
  maxJitter = 0;
  private haveTransit = false;
  private lastArrival = 0;
  private lastTs = 0;
  /** Timestamp advance since the first packet (signed 32-bit steps summed), for rate estimation. */
  private tsSpan = 0;
  private firstArrival = 0;
  maxDeltaS = 0;

  /** `addr:port` of the stream's sender and receiver. */
  readonly src: string;
  readonly dst: string;

  constructor(ssrc: number, srcPort: number, dstPort: number, src = "", dst = "") {
    this.ssrc = ssrc;
    this.srcPort = srcPort;
    this.dstPort = dstPort;
    this.src = src;
    this.dst = dst;
  }

  /** RFC 3550 A.3: extended max − base + 1. */
  get expected(): number {
    return this.packets === 0 ? 0 : this.maxSeq - this.baseSeq + 1;
  }
  /** expected − received; negative when duplicates outnumber losses. */
  get lost(): number {
    return this.expected - this.packets;
  }

  /** Account one packet; `arrival` in seconds from any fixed origin. */
  add(pt: number, seq: number, ts: number, arrival: number, marker: boolean, payloadBytes: number): void {
    if (pt !== this.payloadType) {
      if (this.payloadType >= 0) this.payloadTypeChanges++;
      this.payloadType = pt;
      if (this.clockRate === 0 && PT_CLOCK_RATE[pt] !== 0) this.clockRate = PT_CLOCK_RATE[pt];
    }
    this.payloadBytes += payloadBytes;
    if (marker) this.markers++;
    if (this.packets++ === 0) {
      this.baseSeq = this.maxSeq = seq;
      this.mark(seq);
      this.firstArrival = this.lastArrival = arrival;
      this.lastTs = ts;
      return;
    }
    const d = (seq - (this.maxSeq & 0xffff)) & 0xffff;
    let duplicate = false;
    if (d === 0) duplicate = true;
    else if (d < 0x8000) {
      this.advance(this.maxSeq + d);
      this.mark(this.maxSeq);
    } else {
      const ext = this.maxSeq - (0x10000 - d);
      if (this.maxSeq - ext < WINDOW && this.isMarked(ext)) duplicate = true;
      else {
        this.outOfOrder++;
        if (ext < this.baseSeq) this.baseSeq = ext;
        if (this.maxSeq - ext < WINDOW) this.mark(ext);
      }
    }
    if (duplicate) {
      this.duplicates++;
      return;
    }
    const dArr = arrival - this.lastArrival;
    if (dArr > this.maxDeltaS) this.maxDeltaS = dArr;
    const dTs = (ts - this.lastTs) | 0;
    this.tsSpan += dTs;
    this.lastArrival = arrival;
    this.lastTs = ts;
    if (this.clockRate === 0) this.estimateRate(arrival);
    if (this.clockRate === 0) return;
    // A.8: D = (R_i − R_{i−1}) − (S_i − S_{i−1}) in timestamp units; J += (|D| − J) / 16.
    if (this.haveTransit) {
      let dd = dArr * this.clockRate - dTs;
      if (dd < 0) dd = -dd;
      this.jitter += (dd - this.jitter) / 16;
      if (this.jitter > this.maxJitter) this.maxJitter = this.jitter;
    }
    this.haveTransit = true;
  }

  private advance(ext: number): void {
    const step = ext - this.maxSeq;
    if (step >= WINDOW) this.seen.fill(0);
    else for (let e = this.maxSeq + 1; e <= ext; e++) this.seen[(e & (WINDOW - 1)) >>> 5] &= ~(1 << (e & 31));
    this.maxSeq = ext;
  }

  private mark(ext: number): void {
    this.seen[(ext & (WINDOW - 1)) >>> 5] |= 1 << (ext & 31);
  }

  private isMarked(ext: number): boolean {
    return (this.seen[(ext & (WINDOW - 1)) >>> 5] & (1 << (ext & 31))) !== 0;
  }

  /** Dynamic payload type: snap timestamp rate over >= 1 s to a standard clock within 5%. */
  private estimateRate(arrival: number): void {
    const span = arrival - this.firstArrival;
    if (span < ESTIMATE_AFTER_S || this.tsSpan <= 0) return;
    const r = this.tsSpan / span;
    for (const c of COMMON_RATES) {
      if (Math.abs(r - c) <= c * 0.05) {
        this.clockRate = c;
        this.clockRateEstimated = true;
        return;
      }
    }
  }

  summary(): Record<string, unknown> {
    const known = this.clockRate !== 0 && !this.clockRateEstimated;
    return {
      ssrc: this.ssrc,
      ssrcHex: "0x" + this.ssrc.toString(16).toUpperCase().padStart(8, "0"),
      src: this.src,
      dst: this.dst,
      srcPort: this.srcPort,
      dstPort: this.dstPort,
      payloadType: this.payloadType,
      payloadTypeChanges: this.payloadTypeChanges,
      packets: this.packets,
      payloadBytes: this.payloadBytes,
      expected: this.expected,
      lost: this.lost,
      outOfOrder: this.outOfOrder,
      duplicates: this.duplicates,
      markers: this.markers,
      clockRate: this.clockRate === 0 ? null : this.clockRate,
      clockRateEstimated: this.clockRateEstimated,
      jitter: this.clockRate === 0 ? null : round3(this.jitter),
      maxJitter: this.clockRate === 0 ? null : round3(this.maxJitter),
      jitterMs: known ? round3(this.jitter / this.clockRate * 1000) : null,
      maxJitterMs: known ? round3(this.maxJitter / this.clockRate * 1000) : null,
      maxDeltaMs: round3(this.maxDeltaS * 1000),
    };
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
