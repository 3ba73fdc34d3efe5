/**
 * Counters for address pairs that are not flows: Ethernet conversations (MAC pairs) and the outer
 * IP pairs of tunnelled packets. Keys are numbers (a MAC is 48 bits, exact in a double), looked up
 * through a Map of numbers, which stays fast because the number of pairs is small next to packets.
 */
export class PairStats {
  /** Endpoint labels as given by the caller; A is the source of the first packet. */
  readonly a: string;
  readonly b: string;
  aToBPackets = 0;
  aToBBytes = 0;
  bToAPackets = 0;
  bToABytes = 0;
  /** Relative seconds of the first and last packet. */
  first = 0;
  last = 0;
  /** The numeric key of endpoint A. */
  readonly aKey: number;
  /** Frame number of the first packet (orders pairs across shards). */
  readonly firstFrame: number;
  constructor(a: string, b: string, t: number, aKey: number, firstFrame: number) {
    this.aKey = aKey;
    this.firstFrame = firstFrame;
    this.a = a;
    this.b = b;
    this.first = t;
    this.last = t;
  }
}

export class PairTable {
  private readonly map = new Map<number, Map<number, PairStats>>();
  readonly pairs: PairStats[] = [];
  constructor(private readonly label: (hi: number) => string, private readonly maxPairs = 1_000_000) {}
  /** Pairs refused because maxPairs was reached (memory stays bounded on hostile input). */
  dropped = 0;

  /** Counts one frame; returns its pair (null when the table is full). */
  add(src: number, dst: number, bytes: number, t: number, frame = 0): PairStats | null {
    const lo = src < dst ? src : dst, hi = src < dst ? dst : src;
    let inner = this.map.get(lo);
    if (inner === undefined) this.map.set(lo, inner = new Map());
    let s = inner.get(hi);
    if (s === undefined) {
      if (this.pairs.length >= this.maxPairs) {
        this.dropped++;
        return null;
      }
      s = new PairStats(this.label(src), this.label(dst), t, src, frame);
      inner.set(hi, s);
      this.pairs.push(s);
    }
    if (src === s.aKey) {
      s.aToBPackets++;
      s.aToBBytes += bytes;
    } else {
      s.bToAPackets++;
      s.bToABytes += bytes;
    }
    if (t > s.last) s.last = t;
    return s;
  }
}

/** A MAC address at offset `o` as a 48-bit number. */
export function macNumber(b: Uint8Array, o: number): number {
  return ((b[o] << 8) | b[o + 1]) * 4294967296 +
    (((b[o + 2] << 24) | (b[o + 3] << 16) | (b[o + 4] << 8) | b[o + 5]) >>> 0);
}

export function macLabel(n: number): string {
  const hex = n.toString(16).padStart(12, "0");
  return hex.replace(/(..)(?=.)/g, "$1:");
}
