/**
 * Counts, bytes and timing of a stream of packets: the statistics every level of the hierarchy
 * (flow, transport, encoding, packet type) carries. One instance per node, updated in place.
 *
 * Times are seconds relative to the analysis' base second (see `Clock`), as doubles: relative
 * values keep nanosecond resolution for captures of up to months, where absolute epoch doubles
 * would round to ~0.2 µs.
 *
 * Jitter is the RFC 3550 smoothed estimator applied to inter-arrival times:
 * J += (|IAT_i − IAT_{i−1}| − J) / 16, i.e. how much the spacing between packets varies, which is
 * what a flight-test or media engineer watches on periodic streams.
 */
export class TimingStats {
  packets = 0;
  bytes = 0;
  /** Relative seconds of the first and last packet. */
  first = 0;
  last = 0;
  iatMin = Infinity;
  iatMax = 0;
  /** Welford running mean and sum of squared deviations of inter-arrival times. */
  iatMean = 0;
  iatM2 = 0;
  jitter = 0;
  private prevIat = -1;

  add(t: number, bytes: number): void {
    const n = ++this.packets;
    this.bytes += bytes;
    if (n === 1) {
      this.first = t;
      this.last = t;
      return;
    }
    // Captures are not always in time order (merged files): clamp so a step back reads as 0.
    let iat = t - this.last;
    if (iat < 0) iat = 0;
    else this.last = t;
    if (iat < this.iatMin) this.iatMin = iat;
    if (iat > this.iatMax) this.iatMax = iat;
    const k = n - 1;
    const d = iat - this.iatMean;
    this.iatMean += d / k;
    this.iatM2 += d * (iat - this.iatMean);
    if (this.prevIat >= 0) {
      const diff = iat > this.prevIat ? iat - this.prevIat : this.prevIat - iat;
      this.jitter += (diff - this.jitter) / 16;
    }
    this.prevIat = iat;
  }

  get duration(): number {
    return this.packets > 0 ? this.last - this.first : 0;
  }

  /** Population standard deviation of inter-arrival times (0 with fewer than 3 packets). */
  get iatStddev(): number {
    const k = this.packets - 1;
    return k > 1 ? Math.sqrt(this.iatM2 / k) : 0;
  }

  merge(o: TimingStats): void {
    // Used only for report-time roll-ups (conversations across VLANs): counts and span are exact,
    // inter-arrival moments are combined with Chan's parallel formula, jitter takes the max.
    if (o.packets === 0) return;
    if (this.packets === 0) {
      Object.assign(this, o);
      return;
    }
    const na = this.packets - 1, nb = o.packets - 1;
    if (na + nb > 0) {
      const d = o.iatMean - this.iatMean;
      const n = na + nb;
      this.iatMean = (na * this.iatMean + nb * o.iatMean) / n;
      this.iatM2 = this.iatM2 + o.iatM2 + d * d * na * nb / n;
    }
    this.packets += o.packets;
    this.bytes += o.bytes;
    this.first = Math.min(this.first, o.first);
    this.last = Math.max(this.last, o.last);
    this.iatMin = Math.min(this.iatMin, o.iatMin);
    this.iatMax = Math.max(this.iatMax, o.iatMax);
    this.jitter = Math.max(this.jitter, o.jitter);
  }
}

/**
 * Converts record timestamps (integer s + ns) to relative seconds against a base second fixed
 * at the first packet, and back to exact absolute strings for reports.
 */
export class Clock {
  baseSec = -1;
  rel(sec: number, nsec: number): number {
    if (this.baseSec < 0) this.baseSec = sec;
    // Division (not * 1e-9) is correctly rounded, so 123456789 ns reads back as 0.123456789.
    return (sec - this.baseSec) + nsec / 1e9;
  }
}

/** `1700000000.123456789`: an exact epoch string from integer seconds and nanoseconds. */
export function epochString(sec: number, nsec: number): string {
  return `${sec}.${String(nsec).padStart(9, "0")}`;
}
