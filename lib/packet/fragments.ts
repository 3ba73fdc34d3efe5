/**
 * IPv4 and IPv6 fragment reassembly. Datagrams are keyed on numbers (hash chains, no string keys),
 * kept in arrival order for timeout and cap eviction, and assembled as sorted, merged byte ranges
 * over one growing buffer. Overlaps follow "first data wins": bytes already held are never
 * overwritten (counted in stats.overlaps), which is what Linux and tshark's defaults amount to for
 * the common duplicate case and closes the classic overlap-rewrite tricks.
 *
 * This is the rare path: it may allocate (buffers, the completed frame).
 */

import { MppError } from "../errors.ts";

export interface FragmentOptions {
  /** Datagrams whose first fragment is older than this (packet time) are dropped. Default 60 s. */
  fragmentTimeoutSec?: number;
  /** Global cap on buffered bytes; the oldest datagrams are evicted beyond it. Default 64 MiB. */
  maxFragmentBytes?: number;
  /** Cap on datagrams in progress; the oldest are evicted beyond it. Default 8192. */
  maxFragmentDatagrams?: number;
}

export interface FragmentStats {
  /** Fragments handed to the reassembler. */
  fragments: number;
  /** Datagrams completed. */
  reassembled: number;
  /** Fragments that carried bytes already held (duplicates included); the old bytes were kept. */
  overlaps: number;
  /** Datagrams dropped because their first fragment was older than the timeout. */
  timedOut: number;
  /** Datagrams dropped to stay under the byte or datagram cap. */
  evicted: number;
  /** Fragments rejected: reassembled size beyond 65535, data past the final fragment's end. */
  invalid: number;
  /** Datagrams in progress and the bytes they hold. */
  pending: number;
  pendingBytes: number;
}

function checkOption(name: string, v: number | undefined, dflt: number, integer: boolean): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || (integer && !Number.isInteger(v))) {
    throw new MppError(
      "bad_usage",
      `fragment reassembly option ${name} must be a ${
        integer ? "non-negative integer" : "non-negative number"
      }, got ${v}`,
      `pass ${name} >= 0 (default ${dflt})`,
    );
  }
  return v;
}

/** Key words: [version, id, proto, flow, src0..3, dst0..3]. */
export const KEY_WORDS = 12;
const MAX_DATAGRAM = 65535;

class Datagram {
  readonly key: Uint32Array = new Uint32Array(KEY_WORDS);
  hash = 0;
  chain: Datagram | null = null;
  older: Datagram | null = null;
  newer: Datagram | null = null;
  firstTs = 0;
  buf: Uint8Array = new Uint8Array(0);
  /** Sorted, merged, half-open byte ranges [s0, e0, s1, e1, ...] of held payload. */
  ranges: number[] = [];
  /** Payload length, known once the final fragment (MF = 0) arrived; -1 before. */
  total = -1;
  /** Frame bytes before the fragmentable part, from the offset-0 fragment. */
  header: Uint8Array | null = null;
  version = 4;
  l3Off = 0;
  /** IPv6: offset in `header` of the next-header byte that named the fragment header, and its successor. */
  nhOff = 0;
  innerProto = 0;
  bytes = 0;
}

export class FragmentReassembler {
  readonly stats: FragmentStats = {
    fragments: 0,
    reassembled: 0,
    overlaps: 0,
    timedOut: 0,
    evicted: 0,
    invalid: 0,
    pending: 0,
    pendingBytes: 0,
  };
  /** Scratch key the caller fills before `add` (see KEY_WORDS). */
  readonly key: Uint32Array = new Uint32Array(KEY_WORDS);
  private readonly timeout: number;
  private readonly maxBytes: number;
  private readonly maxDatagrams: number;
  private readonly buckets = new Map<number, Datagram>();
  private oldest: Datagram | null = null;
  private newest: Datagram | null = null;

  constructor(opts: FragmentOptions = {}) {
    this.timeout = checkOption("fragmentTimeoutSec", opts.fragmentTimeoutSec, 60, false);
    this.maxBytes = checkOption("maxFragmentBytes", opts.maxFragmentBytes, 64 * 1024 * 1024, true);
    this.maxDatagrams = checkOption("maxFragmentDatagrams", opts.maxFragmentDatagrams, 8192, true);
  }

  /**
   * Adds one fragment (key in `this.key`). `data[payOff, payOff + payLen)` is its fragmentable
   * payload at byte `fragOff` of the datagram; `more` is the MF flag. For the offset-0 fragment,
   * `data[0, hdrEnd)` is kept as the head of the rebuilt frame (`l3Off` the IP header inside it;
   * IPv6: `nhOff` the next-header byte to rewrite to `innerProto` once the fragment header is
   * dropped). Returns the rebuilt frame when this fragment completed the datagram, else null.
   * Returns null and counts `invalid` for impossible fragments.
   */
  add(
    ts: number,
    data: Uint8Array,
    payOff: number,
    payLen: number,
    fragOff: number,
    more: boolean,
    hdrEnd: number,
    l3Off: number,
    nhOff: number,
    innerProto: number,
  ): Uint8Array | null {
    const st = this.stats;
    st.fragments++;
    this.expire(ts);
    const end = fragOff + payLen;
    const headLen = fragOff === 0 ? hdrEnd - l3Off : 0;
    if (end + headLen > MAX_DATAGRAM + (this.key[0] === 6 ? 40 : 0)) {
      st.invalid++;
      return null;
    }
    let d = this.find();
    if (d === null) d = this.create(ts);
    if (d.total >= 0 && (end > d.total || (!more && end !== d.total))) {
      st.invalid++;
      return null;
    }
    if (!more) {
      const held = d.ranges.length === 0 ? 0 : d.ranges[d.ranges.length - 1];
      if (held > end) {
        st.invalid++;
        return null;
      }
      d.total = end;
    }
    if (fragOff === 0 && d.header === null) {
      d.header = data.slice(0, hdrEnd);
      d.version = this.key[0];
      d.l3Off = l3Off;
      d.nhOff = nhOff;
      d.innerProto = innerProto;
      this.account(d, hdrEnd);
      if (d.bytes < 0) return null;
    }
    if (end > d.buf.length) {
      const cap = Math.min(MAX_DATAGRAM + 40, Math.max(end, d.buf.length * 2, 2048));
      const grown = new Uint8Array(cap);
      grown.set(d.buf);
      const add = cap - d.buf.length;
      d.buf = grown;
      this.account(d, add);
      if (d.bytes < 0) return null;
    }
    if (this.merge(d, data, payOff, fragOff, end)) st.overlaps++;
    if (
      d.total >= 0 && d.header !== null && d.ranges.length === 2 && d.ranges[0] === 0 &&
      d.ranges[1] === d.total
    ) {
      this.remove(d);
      st.reassembled++;
      return build(d);
    }
    return null;
  }

  /** Drops datagrams whose first fragment is older than the timeout at packet time `ts` (seconds). */
  expire(ts: number): void {
    while (this.oldest !== null && ts - this.oldest.firstTs > this.timeout) {
      this.remove(this.oldest);
      this.stats.timedOut++;
    }
  }

  /** Drops everything in progress (end of input), counting it as timed out. */
  flush(): void {
    while (this.oldest !== null) {
      this.remove(this.oldest);
      this.stats.timedOut++;
    }
  }

  private hashKey(): number {
    const k = this.key;
    let h = 0x811c9dc5;
    for (let i = 0; i < KEY_WORDS; i++) h = Math.imul(h ^ k[i], 0x01000193);
    return h >>> 0;
  }

  private find(): Datagram | null {
    const h = this.hashKey();
    let d = this.buckets.get(h) ?? null;
    while (d !== null) {
      let same = true;
      for (let i = 0; i < KEY_WORDS; i++) {
        if (d.key[i] !== this.key[i]) {
          same = false;
          break;
        }
      }
      if (same) return d;
      d = d.chain;
    }
    return null;
  }

  private create(ts: number): Datagram {
    while (this.stats.pending >= this.maxDatagrams && this.oldest !== null) {
      this.remove(this.oldest);
      this.stats.evicted++;
    }
    const d = new Datagram();
    d.key.set(this.key);
    d.hash = this.hashKey();
    d.firstTs = ts;
    d.chain = this.buckets.get(d.hash) ?? null;
    this.buckets.set(d.hash, d);
    d.older = this.newest;
    if (this.newest !== null) this.newest.newer = d;
    else this.oldest = d;
    this.newest = d;
    this.stats.pending++;
    return d;
  }

  /** Charges `n` bytes to `d`, evicting older datagrams for room; sets d.bytes = -1 if `d` itself was dropped. */
  private account(d: Datagram, n: number): void {
    const st = this.stats;
    while (st.pendingBytes + n > this.maxBytes && this.oldest !== null && this.oldest !== d) {
      this.remove(this.oldest);
      st.evicted++;
    }
    if (st.pendingBytes + n > this.maxBytes) {
      this.remove(d);
      st.evicted++;
      d.bytes = -1;
      return;
    }
    d.bytes += n;
    st.pendingBytes += n;
  }

  private remove(d: Datagram): void {
    let p = this.buckets.get(d.hash) ?? null;
    if (p === d) {
      if (d.chain === null) this.buckets.delete(d.hash);
      else this.buckets.set(d.hash, d.chain);
    } else {
      while (p !== null && p.chain !== d) p = p.chain;
      if (p !== null) p.chain = d.chain;
    }
    if (d.older !== null) d.older.newer = d.newer;
    else this.oldest = d.newer;
    if (d.newer !== null) d.newer.older = d.older;
    else this.newest = d.older;
    d.older = d.newer = d.chain = null;
    this.stats.pending--;
    this.stats.pendingBytes -= d.bytes;
    d.bytes = 0;
  }

  /** Copies the parts of [s, e) not yet held; returns true when some part was already held. */
  private merge(d: Datagram, data: Uint8Array, payOff: number, s: number, e: number): boolean {
    const r = d.ranges;
    let overlap = false;
    let pos = s;
    let i = 0;
    while (pos < e) {
      while (i < r.length && r[i + 1] <= pos) i += 2;
      if (i < r.length && r[i] <= pos) {
        overlap = true;
        pos = r[i + 1];
        continue;
      }
      const gapEnd = i < r.length ? Math.min(e, r[i]) : e;
      d.buf.set(data.subarray(payOff + pos - s, payOff + gapEnd - s), pos);
      r.splice(i, 0, pos, gapEnd);
      pos = gapEnd;
    }
    // Merge touching ranges so completion is a single [0, total) pair.
    let w = 0;
    for (let k = 0; k < r.length; k += 2) {
      if (w > 0 && r[w - 1] >= r[k]) {
        if (r[k + 1] > r[w - 1]) r[w - 1] = r[k + 1];
      } else {
        r[w++] = r[k];
        r[w++] = r[k + 1];
      }
    }
    r.length = w;
    return overlap;
  }
}

/** The completed frame: head of the first fragment, patched to describe an unfragmented datagram. */
function build(d: Datagram): Uint8Array {
  const head = d.header as Uint8Array;
  const out = new Uint8Array(head.length + d.total);
  out.set(head);
  out.set(d.buf.subarray(0, d.total), head.length);
  const o = d.l3Off;
  if (d.version === 4) {
    const ihl = (out[o] & 0x0f) * 4;
    const len = ihl + d.total;
    out[o + 2] = len >>> 8;
    out[o + 3] = len & 0xff;
    out[o + 6] &= 0x40; // keep DF, clear MF and the offset
    out[o + 7] = 0;
    out[o + 10] = 0;
    out[o + 11] = 0;
    let sum = 0;
    for (let i = o; i < o + ihl; i += 2) sum += (out[i] << 8) | out[i + 1];
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    sum = ~sum & 0xffff;
    out[o + 10] = sum >>> 8;
    out[o + 11] = sum & 0xff;
  } else {
    const plen = head.length - o - 40 + d.total;
    out[o + 4] = plen >>> 8;
    out[o + 5] = plen & 0xff;
    out[d.nhOff] = d.innerProto;
  }
  return out;
}
