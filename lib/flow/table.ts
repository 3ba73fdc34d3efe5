import { KEY_WORDS, type KeyBuilder } from "./key.ts";

const STRIDE = KEY_WORDS + 1;

/**
 * Open-addressing hash table from canonical flow keys (numbers, never strings: string keys cap
 * out near 1 Mpkt/s, see performance.md) to dense flow ids 0..n-1. Keys live in one growing
 * Uint32Array; the slot array holds id+1 (0 = empty) and doubles at 50% load.
 */
export class FlowIndex {
  private slots: Int32Array;
  private mask: number;
  /** Per id: the hash then the key words, adjacent so a probe touches one cache line. */
  private keys: Uint32Array;
  size = 0;
  private capacity: number;

  constructor(initialCapacity = 1 << 12) {
    let cap = 16;
    while (cap < initialCapacity * 2) cap <<= 1;
    this.slots = new Int32Array(cap);
    this.mask = cap - 1;
    this.keys = new Uint32Array(initialCapacity * STRIDE);
    this.capacity = initialCapacity;
  }

  /** The id of the key in `kb`, or -1. */
  find(kb: KeyBuilder): number {
    const w = kb.words, keys = this.keys, slots = this.slots, mask = this.mask;
    // Packets come in bursts of one flow (a TCP window, a media frame split in packets): the last
    // flow found is checked first, its key still in cache, before probing the table.
    const last = this.lastId;
    if (last >= 0 && keys[last * STRIDE] === kb.hash && this.same(last, w)) return last;
    let i = kb.hash & mask;
    for (;;) {
      const s = slots[i];
      if (s === 0) return -1;
      const id = s - 1;
      const h = id * STRIDE;
      if (keys[h] === kb.hash) {
        const o = h + 1;
        let eq = true;
        for (let j = 0; j < KEY_WORDS; j++) {
          if (keys[o + j] !== w[j]) {
            eq = false;
            break;
          }
        }
        if (eq) {
          this.lastId = id;
          return id;
        }
      }
      i = (i + 1) & mask;
    }
  }

  private lastId = -1;

  private same(id: number, w: Uint32Array): boolean {
    const keys = this.keys, o = id * STRIDE + 1;
    for (let j = 0; j < KEY_WORDS; j++) if (keys[o + j] !== w[j]) return false;
    return true;
  }

  /** Adds the key in `kb` (which must not be present) and returns its new id. */
  add(kb: KeyBuilder): number {
    const id = this.size++;
    if (id >= this.capacity) this.growStore();
    this.keys[id * STRIDE] = kb.hash;
    this.keys.set(kb.words, id * STRIDE + 1);
    if (this.size * 2 > this.slots.length) this.rehash();
    else this.place(id, kb.hash);
    return id;
  }

  /** The key words of flow `id` (a view; valid until the next add). */
  key(id: number): Uint32Array {
    return this.keys.subarray(id * STRIDE + 1, id * STRIDE + 1 + KEY_WORDS);
  }

  private place(id: number, hash: number): void {
    let i = hash & this.mask;
    while (this.slots[i] !== 0) i = (i + 1) & this.mask;
    this.slots[i] = id + 1;
  }

  private growStore(): void {
    this.capacity *= 2;
    const keys = new Uint32Array(this.capacity * STRIDE);
    keys.set(this.keys);
    this.keys = keys;
  }

  private rehash(): void {
    this.slots = new Int32Array(this.slots.length * 2);
    this.mask = this.slots.length - 1;
    for (let id = 0; id < this.size; id++) this.place(id, this.keys[id * STRIDE]);
  }
}
