/**
 * DNS wire-format walking (RFC 1035 §4) over a Uint8Array without allocating: results of the last
 * walk are left in the exported `walk` scratch object. Every walk is bounded (name length <= 255,
 * at most MAX_HOPS compression pointers, counts bounded by the message length), so hostile input
 * (pointer loops, huge counts) costs at most O(message length).
 */

export const MAX_NAME = 255;
export const MAX_HOPS = 64;
export const HEADER_LEN = 12;

/** Outcome of a message walk. */
export const Walk = {
  /** Every section parsed and ended exactly at the message end. */
  EXACT: 0,
  /** Every section parsed; bytes remain after the last record. */
  TRAILING: 1,
  /** The captured bytes ended inside a record, but the message may be longer on the wire. */
  SHORT: 2,
  /** Not a DNS message: bad name, pointer out of bounds or loop, counts impossible. */
  BAD: 3,
} as const;

export const walk = {
  /** After walkName: offset just past the name where it started (not following pointers). */
  nameEnd: 0,
  /** FNV-1a hash of the lower-cased name with dots, after walkName(…, true). */
  nameHash: 0,
  /** Dotted name length. */
  nameLen: 0,
  /** After walkMessage: offset just past the last parsed byte. */
  end: 0,
  /** Why a walk failed (for probe details and errors). */
  why: "",
};

/**
 * Walk the name at `pos` of the message starting at `base` with captured end `end`. Returns true
 * when the name is well formed; sets walk.nameEnd/nameHash/nameLen. Compression pointers must
 * point inside the message header-to-end and not at themselves; loops end at MAX_HOPS or MAX_NAME.
 */
export function walkName(b: Uint8Array, base: number, end: number, pos: number, hash: boolean): boolean {
  let hops = 0;
  let len = 0;
  let h = 0x811c9dc5;
  let after = -1;
  let i = pos;
  for (;;) {
    if (i >= end) {
      walk.why = "name runs past the end";
      return false;
    }
    const l = b[i];
    if (l === 0) {
      if (after < 0) after = i + 1;
      break;
    }
    const kind = l & 0xc0;
    if (kind === 0xc0) {
      if (i + 1 >= end) {
        walk.why = "compression pointer cut";
        return false;
      }
      const target = base + (((l & 0x3f) << 8) | b[i + 1]);
      if (after < 0) after = i + 2;
      if (target < base + HEADER_LEN || target >= end || target === i) {
        walk.why = `compression pointer to ${target - base} out of bounds`;
        return false;
      }
      if (++hops > MAX_HOPS) {
        walk.why = "compression pointer loop";
        return false;
      }
      i = target;
      continue;
    }
    if (kind !== 0) {
      walk.why = `label type 0x${kind.toString(16)} unsupported`;
      return false;
    }
    if (i + 1 + l > end) {
      walk.why = "label runs past the end";
      return false;
    }
    len += (len === 0 ? 0 : 1) + l;
    if (len > MAX_NAME) {
      walk.why = hops > 0 ? "compression pointer loop" : "name longer than 255";
      return false;
    }
    if (hash) {
      if (len !== l) h = Math.imul(h ^ 0x2e, 0x01000193);
      for (let k = i + 1; k <= i + l; k++) {
        let c = b[k];
        if (c >= 0x41 && c <= 0x5a) c |= 0x20;
        h = Math.imul(h ^ c, 0x01000193);
      }
    }
    i += 1 + l;
  }
  walk.nameEnd = after;
  walk.nameHash = h >>> 0;
  walk.nameLen = len;
  return true;
}

/** The dotted name at `pos` (allocates: only for names the caller keeps). Call after walkName succeeded. */
/** Scratch for nameToString: a name is built here and decoded once into one flat string. */
const nameBuf = new Uint8Array(4 * (MAX_NAME + 64) + 8);
const latin1 = new TextDecoder("latin1");

export function nameToString(b: Uint8Array, base: number, end: number, pos: number): string {
  // Building the text byte by byte into a buffer (not `s += char`) keeps the kept names flat
  // strings: appended one character at a time they were chains of string pieces, tens of MB over
  // the DNS flows of a large capture.
  let n = 0;
  let i = pos;
  let hops = 0;
  while (i < end && hops <= MAX_HOPS && n <= MAX_NAME) {
    const l = b[i];
    if (l === 0) break;
    if ((l & 0xc0) === 0xc0) {
      if (i + 1 >= end) break;
      i = base + (((l & 0x3f) << 8) | b[i + 1]);
      hops++;
      continue;
    }
    if (n > 0) nameBuf[n++] = 0x2e;
    for (let k = i + 1; k <= i + l && k < end; k++) {
      const c = b[k];
      if (c > 0x20 && c < 0x7f && c !== 0x2e) nameBuf[n++] = c;
      else {
        // \DDD, as tshark and dig print bytes that are not plain characters.
        nameBuf[n++] = 0x5c;
        nameBuf[n++] = 0x30 + Math.floor(c / 100);
        nameBuf[n++] = 0x30 + (Math.floor(c / 10) % 10);
        nameBuf[n++] = 0x30 + (c % 10);
      }
    }
    i += 1 + l;
  }
  return n === 0 ? "<Root>" : latin1.decode(nameBuf.subarray(0, n));
}

export function u16(b: Uint8Array, i: number): number {
  return (b[i] << 8) | b[i + 1];
}

/**
 * Walk a whole message at [base, base + len) whose captured bytes end at `capEnd` (<= base + len).
 * Returns a Walk code; walk.end is where parsing stopped.
 */
export function walkMessage(b: Uint8Array, base: number, len: number, capEnd: number): number {
  const end = Math.min(base + len, capEnd);
  if (end - base < HEADER_LEN) {
    walk.why = "shorter than the 12-byte header";
    return capEnd < base + len && len >= HEADER_LEN ? Walk.SHORT : Walk.BAD;
  }
  const qd = u16(b, base + 4), an = u16(b, base + 6), ns = u16(b, base + 8), ar = u16(b, base + 10);
  const rr = an + ns + ar;
  if (qd + rr === 0) {
    walk.why = "no questions and no records";
    return Walk.BAD;
  }
  // A question needs >= 5 bytes and a record >= 11: counts beyond that cannot fit the message.
  if (HEADER_LEN + qd * 5 + rr * 11 > len) {
    walk.why = `counts qd ${qd} an ${an} ns ${ns} ar ${ar} do not fit ${len} bytes`;
    return Walk.BAD;
  }
  let i = base + HEADER_LEN;
  for (let q = 0; q < qd; q++) {
    if (!walkName(b, base, end, i, false)) return shortOrBad(end, base + len);
    i = walk.nameEnd + 4;
    if (i > end) return shortOrBad(end, base + len, "question cut");
  }
  for (let r = 0; r < rr; r++) {
    if (!walkName(b, base, end, i, false)) return shortOrBad(end, base + len);
    i = walk.nameEnd;
    if (i + 10 > end) return shortOrBad(end, base + len, "record header cut");
    i += 10 + u16(b, i + 8);
    if (i > end) return shortOrBad(end, base + len, "record data runs past the end");
  }
  walk.end = i;
  return i === base + len ? Walk.EXACT : Walk.TRAILING;
}

function shortOrBad(end: number, wireEnd: number, why?: string): number {
  if (why !== undefined) walk.why = why;
  walk.end = end;
  // Only when the capture cut the message can a parse running off the end still be DNS.
  return end < wireEnd ? Walk.SHORT : Walk.BAD;
}
