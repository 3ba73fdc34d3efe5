/**
 * The byte buffer behind the capture writers: records are appended to one large buffer and handed to
 * the sink only when it fills (or on flush), so writing a packet never costs a system call.
 *
 * Sinks: anything with `writeSync` (Deno.FsFile, an in-memory collector) is written synchronously;
 * anything with only `write` returning a promise (WritableStreamDefaultWriter) receives whole buffers,
 * and the writer switches to a fresh buffer so the handed-over one is never touched again.
 */
import { MppError } from "../errors.ts";

export interface SyncByteSink {
  /** Writes some of `p` and returns how many bytes were written (Deno.FsFile semantics). */
  writeSync(p: Uint8Array): number;
  close?(): void;
}
export interface AsyncByteSink {
  write(p: Uint8Array): Promise<unknown>;
  close?(): Promise<unknown> | void;
}
export type ByteSink = SyncByteSink | AsyncByteSink;

export const DEFAULT_WRITE_BUFFER = 1024 * 1024;

function isSync(s: ByteSink): s is SyncByteSink {
  return typeof (s as SyncByteSink).writeSync === "function";
}

export class BufferedOutput {
  buf: Uint8Array;
  len = 0;
  /** Bytes accepted so far, including those still buffered. */
  total = 0;
  #pending: Promise<unknown> = Promise.resolve();
  #error: unknown = undefined;
  #closed = false;
  readonly #sink: ByteSink;
  readonly #sync: boolean;
  readonly #keepOpen: boolean;

  constructor(sink: ByteSink, capacity = DEFAULT_WRITE_BUFFER, keepOpen = false) {
    this.#sink = sink;
    this.#sync = isSync(sink);
    this.#keepOpen = keepOpen;
    this.buf = new Uint8Array(capacity);
  }

  get isSync(): boolean {
    return this.#sync;
  }

  /** Makes room for `n` more bytes at `buf[len]`, handing the buffered bytes to the sink if needed. */
  reserve(n: number): void {
    if (this.#closed) {
      throw new MppError("bad_usage", "write to a closed capture writer", "open a new writer");
    }
    if (this.len + n <= this.buf.length) return;
    this.drain();
    if (n > this.buf.length) this.buf = new Uint8Array(n);
  }

  /** Hands the buffered bytes to the sink now (synchronously for sync sinks). */
  drain(): void {
    if (this.#error !== undefined) throw this.#error;
    if (this.len === 0) return;
    if (this.#sync) {
      writeAllSync(this.#sink as SyncByteSink, this.buf.subarray(0, this.len));
    } else {
      const chunk = this.buf.subarray(0, this.len);
      this.buf = new Uint8Array(this.buf.length);
      // Handle the rejection at once so it never counts as unhandled; flush() rethrows it.
      const p = Promise.resolve((this.#sink as AsyncByteSink).write(chunk)).then(undefined, (e) => {
        this.#error ??= e;
      });
      this.#pending = this.#pending.then(() => p);
    }
    this.len = 0;
  }

  async flush(): Promise<void> {
    this.drain();
    await this.#pending;
    if (this.#error !== undefined) throw this.#error;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.flush();
    } finally {
      this.#closed = true;
      if (!this.#keepOpen) await this.#sink.close?.();
    }
  }

  closeSync(): void {
    if (this.#closed) return;
    if (!this.#sync) {
      throw new MppError("bad_usage", "closeSync on a writer with an asynchronous sink", "use await close()");
    }
    try {
      this.drain();
    } finally {
      this.#closed = true;
      if (!this.#keepOpen) (this.#sink as SyncByteSink).close?.();
    }
  }

  u8(v: number): void {
    this.buf[this.len++] = v;
  }
  u16(v: number): void {
    const b = this.buf;
    const i = this.len;
    b[i] = v & 0xff;
    b[i + 1] = (v >>> 8) & 0xff;
    this.len = i + 2;
  }
  u32(v: number): void {
    const b = this.buf;
    const i = this.len;
    b[i] = v & 0xff;
    b[i + 1] = (v >>> 8) & 0xff;
    b[i + 2] = (v >>> 16) & 0xff;
    b[i + 3] = (v >>> 24) & 0xff;
    this.len = i + 4;
  }
  bytes(d: Uint8Array): void {
    this.buf.set(d, this.len);
    this.len += d.length;
  }
  zeros(n: number): void {
    const b = this.buf;
    for (let i = 0; i < n; i++) b[this.len + i] = 0;
    this.len += n;
  }
}

function writeAllSync(sink: SyncByteSink, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) {
    const n = sink.writeSync(off === 0 ? data : data.subarray(off));
    if (n <= 0) throw new MppError("io", "capture writer: the output accepted no bytes", "check the output");
    off += n;
  }
}

/** A sync sink that keeps everything written, for building captures in memory. */
export class MemorySink implements SyncByteSink {
  #chunks: Uint8Array[] = [];
  #size = 0;
  writeSync(p: Uint8Array): number {
    this.#chunks.push(p.slice());
    this.#size += p.length;
    return p.length;
  }
  /** Everything written so far, as one array. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.#size);
    let o = 0;
    for (const c of this.#chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

/** Encodes a string option value as UTF-8 (rare path: headers and comments). */
export const utf8Encoder: TextEncoder = new TextEncoder();
