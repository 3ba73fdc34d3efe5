/**
 * Request deadlines without one timer per request: a single interval sweeps the pending
 * deadlines. A setTimeout/clearTimeout pair per request costs more than the rest of a local round
 * trip, and shows up in the tail latency. The interval stops by itself once nothing is pending, and
 * never keeps the process alive (open connections do that).
 */
interface Item {
  at: number;
  fire: () => void;
}

export class Deadlines<K> {
  #items = new Map<K, Item>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #tick = 0;

  add(key: K, ms: number, fire: () => void): void {
    this.#items.set(key, { at: performance.now() + ms, fire });
    const tick = Math.max(1, Math.min(100, Math.floor(ms / 5)));
    if (this.#timer === undefined || tick < this.#tick) {
      if (this.#timer !== undefined) clearInterval(this.#timer);
      this.#tick = tick;
      this.#timer = setInterval(() => this.#sweep(), tick);
      Deno.unrefTimer(this.#timer as unknown as number);
    }
  }

  delete(key: K): void {
    this.#items.delete(key);
  }

  get size(): number {
    return this.#items.size;
  }

  clear(): void {
    this.#items.clear();
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #sweep(): void {
    if (this.#items.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    const now = performance.now();
    for (const [k, it] of this.#items) {
      if (it.at > now) continue;
      this.#items.delete(k);
      it.fire();
    }
  }
}
