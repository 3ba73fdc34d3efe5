/**
 * Compact JSON written in pieces: the report's big arrays (flows, conversations, endpoints, RTP
 * streams, HTTP transactions) are stringified element by element and encoded into one reused
 * buffer, so a million-packet report never exists as one 40 MB string plus its 40 MB encoding.
 * The bytes equal `JSON.stringify(value)` for plain data (objects, arrays, strings, numbers,
 * booleans, null; undefined members left out, as JSON.stringify does).
 */

/** Containers this deep are written member by member; deeper values in one stringify call. */
const SPLIT_DEPTH = 2;
const BUF_SIZE = 1 << 20;

export class JsonWriter {
  private readonly buf = new Uint8Array(BUF_SIZE);
  private used = 0;
  private readonly enc = new TextEncoder();

  constructor(private readonly sink: (chunk: Uint8Array) => void) {}

  /** Writes `value` as compact JSON followed by a newline. */
  write(value: unknown): void {
    this.value(value, 0);
    this.text("\n");
    this.flush();
  }

  private value(v: unknown, depth: number): void {
    if (depth >= SPLIT_DEPTH || v === null || typeof v !== "object") {
      this.text(JSON.stringify(v) ?? "null");
      return;
    }
    if (Array.isArray(v)) {
      this.text("[");
      for (let i = 0; i < v.length; i++) {
        if (i > 0) this.text(",");
        const x = v[i];
        // JSON.stringify writes undefined and functions inside arrays as null.
        this.value(x === undefined || typeof x === "function" ? null : x, depth + 1);
      }
      this.text("]");
      return;
    }
    if (typeof (v as { toJSON?: unknown }).toJSON === "function") {
      this.text(JSON.stringify(v));
      return;
    }
    this.text("{");
    let first = true;
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined || typeof x === "function" || typeof x === "symbol") continue;
      this.text(first ? JSON.stringify(k) + ":" : "," + JSON.stringify(k) + ":");
      first = false;
      this.value(x, depth + 1);
    }
    this.text("}");
  }

  private text(s: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    if (this.used + s.length * 3 > BUF_SIZE) {
      this.flush();
      if (s.length * 3 > BUF_SIZE) {
        this.sink(this.enc.encode(s));
        return;
      }
    }
    this.used += this.enc.encodeInto(s, this.buf.subarray(this.used)).written;
  }

  private flush(): void {
    if (this.used === 0) return;
    this.sink(this.buf.subarray(0, this.used));
    this.used = 0;
  }
}
