/**
 * Intervals kept at most: a million rows is already ~60 MB of text; one bad timestamp years later
 * must not make a table of ten million rows (a text table that size exceeds V8's longest string).
 */
export const IO_MAX_BUCKETS = 1_000_000;

/**
 * Frames and bytes per fixed time interval from the first frame, like `tshark -z io,stat,SECS`
 * (intervals start at the first frame's own time, as tshark's frame.time_relative does). Times are
 * integer nanoseconds from the first frame, so a frame on an interval boundary lands where tshark
 * puts it. Buckets live in typed arrays that double as the capture gets longer; the number of
 * buckets is capped so a tiny interval over a long capture cannot exhaust memory.
 */
export class IoStat {
  readonly interval: number;
  private readonly intervalNs: number;
  private frames = new Float64Array(64);
  private bytes = new Float64Array(64);
  count = 0;
  /** Frames before the first frame or past the bucket cap: not counted. */
  overflow = 0;
  private originSec = -1;
  private originNsec = 0;
  constructor(intervalSec: number, readonly maxBuckets: number = IO_MAX_BUCKETS) {
    this.interval = intervalSec;
    this.intervalNs = Math.max(1, Math.round(intervalSec * 1e9));
  }

  /** Counts a frame of `bytes` at absolute time sec + nsec; the first call fixes the origin. */
  add(sec: number, nsec: number, bytes: number): void {
    if (this.originSec < 0) {
      this.originSec = sec;
      this.originNsec = nsec;
    }
    // Exact in a double for 104 days of capture; past that a nanosecond may round, not a bucket.
    const rel = (sec - this.originSec) * 1e9 + (nsec - this.originNsec);
    const i = Math.floor(rel / this.intervalNs);
    if (i < 0 || i >= this.maxBuckets) {
      this.overflow++;
      return;
    }
    if (i >= this.frames.length) this.grow(i + 1);
    this.frames[i]++;
    this.bytes[i] += bytes;
    if (i + 1 > this.count) this.count = i + 1;
  }

  rows(): { start: number; end: number; frames: number; bytes: number }[] {
    const out = [];
    for (let i = 0; i < this.count; i++) {
      out.push({
        start: i * this.interval,
        end: (i + 1) * this.interval,
        frames: this.frames[i],
        bytes: this.bytes[i],
      });
    }
    return out;
  }

  private grow(n: number): void {
    let cap = this.frames.length;
    while (cap < n) cap *= 2;
    const f = new Float64Array(cap), b = new Float64Array(cap);
    f.set(this.frames);
    b.set(this.bytes);
    this.frames = f;
    this.bytes = b;
  }
}
