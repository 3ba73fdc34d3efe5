/**
 * Topic-based publish/subscribe used for event streams (IPC `subscribe` messages, later WebSocket).
 * Subscribers are kept in a Set per topic so unsubscribing is O(1); "*" receives every topic.
 */
export type EventHandler = (topic: string, data: unknown) => void;

export class EventBus {
  #topics = new Map<string, Set<EventHandler>>();

  subscribe(topic: string, fn: EventHandler): () => void {
    let set = this.#topics.get(topic);
    if (!set) this.#topics.set(topic, set = new Set());
    set.add(fn);
    return () => {
      const s = this.#topics.get(topic);
      if (!s) return;
      s.delete(fn);
      if (s.size === 0) this.#topics.delete(topic);
    };
  }

  publish(topic: string, data: unknown): void {
    this.#deliver(this.#topics.get(topic), topic, data);
    if (topic !== "*") this.#deliver(this.#topics.get("*"), topic, data);
  }

  subscriberCount(topic: string): number {
    return this.#topics.get(topic)?.size ?? 0;
  }

  #deliver(set: Set<EventHandler> | undefined, topic: string, data: unknown): void {
    if (!set) return;
    for (const fn of set) {
      try {
        fn(topic, data);
      } catch {
        // One broken subscriber must not stop delivery to the others.
      }
    }
  }
}
