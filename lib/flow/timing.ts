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
/** Word offsets of one timing record inside a Float64Array (see FlowStore and TimingStats). */
export const T_PACKETS = 0,
  T_BYTES = 1,
  T_FIRST = 2,
  T_LAST = 3,
  T_MIN = 4,
  T_MAX = 5,
  T_MEAN = 6,
  T_M2 = 7,
  T_JITTER = 8,
  T_PREV = 9;
export const TIMING_WORDS = 10;

/** Prepares a timing record at `o` (min = +∞, no previous inter-arrival). */
export function timingInit(st: Float64Array, o: number): void {
  st.fill(0, o, o + TIMING_WORDS);
  st[o + T_MIN] = Infinity;
  st[o + T_PREV] = -1;
}

/**
 * Adds one packet at relative time `t` to the timing record at `st[o..o+10)`. Flow-level records
 * live in the FlowStore's one big array, so a packet's counters share cache lines instead of
 * being scattered over objects and boxed doubles (that cost 4x with 18k interleaved flows).
 */
export function timingAdd(st: Float64Array, o: number, t: number, bytes: number): void {
  const n = ++st[o + T_PACKETS];
  st[o + T_BYTES] += bytes;
  if (n === 1) {
    st[o + T_FIRST] = t;
    st[o + T_LAST] = t;
    return;
  }
  // Captures are not always in time order (merged files): clamp so a step back reads as 0.
  let iat = t - st[o + T_LAST];
  if (iat < 0) iat = 0;
  else st[o + T_LAST] = t;
  if (iat < st[o + T_MIN]) st[o + T_MIN] = iat;
  if (iat > st[o + T_MAX]) st[o + T_MAX] = iat;
  const mean = st[o + T_MEAN];
  const d = iat - mean;
  const m = mean + d / (n - 1);
  st[o + T_MEAN] = m;
  st[o + T_M2] += d * (iat - m);
  const prev = st[o + T_PREV];
  if (prev >= 0) {
    const diff = iat > prev ? iat - prev : prev - iat;
    st[o + T_JITTER] += (diff - st[o + T_JITTER]) / 16;
  }
  st[o + T_PREV] = iat;
}

/**
 * Counts, bytes and timing of a stream of packets: the statistics every level of the hierarchy
 * (flow, transport, encoding, packet type) carries. A view over a timing record: its own small
 * array for packet types, or a slice of the FlowStore for flow and encoding levels.
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
  readonly st: Float64Array;
  readonly o: number;
  constructor(st?: Float64Array, o = 0) {
    if (st === undefined) {
      st = new Float64Array(TIMING_WORDS);
      timingInit(st, 0);
    }
    this.st = st;
    this.o = o;
  }
  add(t: number, bytes: number): void {
    timingAdd(this.st, this.o, t, bytes);
  }
  get packets(): number {
    return this.st[this.o + T_PACKETS];
  }
  get bytes(): number {
    return this.st[this.o + T_BYTES];
  }
  /** Relative seconds of the first and last packet. */
  get first(): number {
    return this.st[this.o + T_FIRST];
  }
  get last(): number {
    return this.st[this.o + T_LAST];
  }
  get iatMin(): number {
    return this.st[this.o + T_MIN];
  }
  get iatMax(): number {
    return this.st[this.o + T_MAX];
  }
  get iatMean(): number {
    return this.st[this.o + T_MEAN];
  }
  get jitter(): number {
    return this.st[this.o + T_JITTER];
  }
  get duration(): number {
    return this.packets > 0 ? this.last - this.first : 0;
  }
  /** Population standard deviation of inter-arrival times (0 with fewer than 3 packets). */
  get iatStddev(): number {
    const k = this.packets - 1;
    return k > 1 ? Math.sqrt(this.st[this.o + T_M2] / k) : 0;
  }
}

/**
 * Converts record timestamps (integer s + ns) to seconds relative to the first frame, as tshark's
 * frame.time_relative (conversation start times, HTTP and stream times are read against it), and
 * back to exact absolute strings for reports.
 */
export class Clock {
  baseSec = -1;
  baseNsec = 0;
  rel(sec: number, nsec: number): number {
    if (this.baseSec < 0) {
      this.baseSec = sec;
      this.baseNsec = nsec;
    }
    // Division (not * 1e-9) is correctly rounded, so 123456789 ns reads back as 0.123456789.
    return (sec - this.baseSec) + (nsec - this.baseNsec) / 1e9;
  }
}

/**
 * Seconds rounded to the nanosecond, the resolution of the timestamps they come from: a duration
 * reads 8.995462701, not the 8.995462701000001 of double subtraction, and the report's many timing
 * figures stay short (about a fifth of `--json`'s bytes were float noise).
 */
export function ns(seconds: number): number {
  return Math.round(seconds * 1e9) / 1e9;
}

/** `1700000000.123456789`: an exact epoch string from integer seconds and nanoseconds. */
export function epochString(sec: number, nsec: number): string {
  return `${sec}.${String(nsec).padStart(9, "0")}`;
}
