/**
 * Out-of-order storage of one stream direction: a power-of-two byte ring addressed by stream
 * offset (byte `o` lives at `o & mask`), plus the sorted list of filled ranges. The ring only ever
 * holds offsets in [next, next + capacity), and `next` only grows, so two live offsets never share a
 * slot. It grows by doubling up to its cap; the shared budget bounds all rings together.
 */

/** Bytes of ring memory in use across all connections, against one global limit. */
export class RingBudget {
  used = 0;
  peak = 0;
  constructor(readonly limit: number) {}
  /** Reserves `n` bytes; false when that would pass the limit. */
  take(n: number): boolean {
    if (this.used + n > this.limit) return false;
    this.used += n;
    if (this.used > this.peak) this.peak = this.used;
    return true;
  }
  give(n: number): void {
    this.used -= n;
  }
}

/** Most disjoint ranges a direction keeps; more holes than this count as pressure (skip the oldest). */
export const MAX_RANGES = 64;
/**
 * Most segment boundaries remembered inside ranges. Touching segments merge into one range (so a
 * loss in a large window holds one range, not hundreds), but tshark's Follow TCP Stream shows each
 * buffered segment as its own chunk: the boundaries are kept beside the ranges, as many as fit.
 */
export const MAX_CUTS = 256;
const FIRST_SIZE = 4096;

export class ByteRing {
  buf: Uint8Array = new Uint8Array(0);
  mask = -1;
  /** Filled ranges [start, end) in stream offsets, sorted and disjoint. */
  readonly starts: Float64Array = new Float64Array(MAX_RANGES);
  readonly ends: Float64Array = new Float64Array(MAX_RANGES);
  count = 0;
  /** Stream offsets where a stored segment began or ended, ascending (see MAX_CUTS). */
  private readonly cuts: Float64Array = new Float64Array(MAX_CUTS);
  private cutCount = 0;

  constructor(readonly cap: number, private readonly budget: RingBudget) {}

  get capacity(): number {
    return this.buf.length;
  }

  /** Bytes held (sum of ranges). */
  held(): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) n += this.ends[i] - this.starts[i];
    return n;
  }

  /**
   * Makes room for offsets up to `end` (exclusive) given the window starts at `next`. False when the
   * per-ring cap or the global budget does not allow it.
   */
  ensure(next: number, end: number): boolean {
    const need = end - next;
    let size = this.buf.length;
    if (need <= size) return true;
    if (need > this.cap) return false;
    if (size === 0) size = FIRST_SIZE;
    while (size < need) size *= 2;
    if (size > this.cap) size = this.cap;
    if (!this.budget.take(size - this.buf.length)) return false;
    const nb = new Uint8Array(size);
    const nmask = size - 1;
    for (let i = 0; i < this.count; i++) {
      for (let o = this.starts[i]; o < this.ends[i]; o++) nb[o & nmask] = this.buf[o & this.mask];
    }
    this.buf = nb;
    this.mask = nmask;
    return true;
  }

  /** Returns the memory to the budget (the direction ended or was flushed empty). */
  release(): void {
    if (this.buf.length === 0) return;
    this.budget.give(this.buf.length);
    this.buf = new Uint8Array(0);
    this.mask = -1;
    this.count = 0;
    this.cutCount = 0;
  }

  /** The first segment boundary in (from, to), or `to`. */
  nextCut(from: number, to: number): number {
    const c = this.cuts;
    for (let i = 0; i < this.cutCount; i++) {
      if (c[i] > from) return c[i] < to ? c[i] : to;
    }
    return to;
  }

  /** Forgets the boundaries at or before `upTo` (delivered or skipped). */
  dropCuts(upTo: number): void {
    const c = this.cuts;
    let k = 0;
    while (k < this.cutCount && c[k] <= upTo) k++;
    if (k === 0) return;
    c.copyWithin(0, k, this.cutCount);
    this.cutCount -= k;
  }

  private addCut(x: number): void {
    const c = this.cuts;
    let i = this.cutCount;
    while (i > 0 && c[i - 1] > x) i--;
    if ((i > 0 && c[i - 1] === x) || this.cutCount === MAX_CUTS) return;
    c.copyWithin(i + 1, i, this.cutCount);
    c[i] = x;
    this.cutCount++;
  }

  /**
   * Stores src[off + (o - rel)] for every offset o in [rel, rel+len) that no range covers yet (first
   * data wins), then merges ranges. Returns the overlapping byte count (already covered offsets).
   * The caller has called `ensure`.
   */
  store(rel: number, src: Uint8Array, off: number, len: number): number {
    const end = rel + len;
    let overlap = 0;
    let pos = rel;
    const buf = this.buf, mask = this.mask;
    for (let i = 0; i < this.count && pos < end; i++) {
      const s = this.starts[i], e = this.ends[i];
      if (e <= pos) continue;
      if (s >= end) break;
      for (let o = pos; o < s && o < end; o++) buf[o & mask] = src[off + (o - rel)];
      const ovEnd = e < end ? e : end;
      const ovStart = s > pos ? s : pos;
      if (ovEnd > ovStart) overlap += ovEnd - ovStart;
      pos = e;
    }
    for (let o = pos; o < end; o++) buf[o & mask] = src[off + (o - rel)];
    this.addRange(rel, end);
    this.addCut(rel);
    this.addCut(end);
    return overlap;
  }

  /** Byte at stream offset `o` (must be inside a range). */
  at(o: number): number {
    return this.buf[o & this.mask];
  }

  private addRange(s: number, e: number): void {
    const starts = this.starts, ends = this.ends;
    let i = 0;
    while (i < this.count && ends[i] < s) i++;
    // i: first range that touches or follows [s, e).
    let j = i;
    while (j < this.count && starts[j] <= e) {
      if (starts[j] < s) s = starts[j];
      if (ends[j] > e) e = ends[j];
      j++;
    }
    const removed = j - i;
    if (removed === 0) {
      // Insert at i; the caller keeps count < MAX_RANGES.
      for (let k = this.count; k > i; k--) {
        starts[k] = starts[k - 1];
        ends[k] = ends[k - 1];
      }
      this.count++;
    } else if (removed > 1) {
      for (let k = j; k < this.count; k++) {
        starts[k - removed + 1] = starts[k];
        ends[k - removed + 1] = ends[k];
      }
      this.count -= removed - 1;
    }
    starts[i] = s;
    ends[i] = e;
  }

  /** Would storing [s, e) need a new range slot that does not exist? */
  full(s: number, e: number): boolean {
    if (this.count < MAX_RANGES) return false;
    for (let i = 0; i < this.count; i++) if (this.starts[i] <= e && this.ends[i] >= s) return false;
    return true;
  }

  /** Drops the first range (after its bytes were delivered). */
  shift(): void {
    const starts = this.starts, ends = this.ends;
    for (let k = 1; k < this.count; k++) {
      starts[k - 1] = starts[k];
      ends[k - 1] = ends[k];
    }
    this.count--;
  }
}
