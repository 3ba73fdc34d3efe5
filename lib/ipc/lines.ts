/**
 * Newline framing over a byte stream with a hard size limit. One growing buffer per connection is
 * reused for every message, so a busy connection does not allocate per read beyond the decoded
 * string itself.
 */
import { MppError } from "../errors.ts";

export interface Readable {
  read(p: Uint8Array): Promise<number | null>;
}
export interface Writable {
  write(p: Uint8Array): Promise<number>;
}

const NL = 10;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

export class LineTooLong extends MppError {
  constructor(max: number) {
    super("bad_input", `IPC message longer than ${max} bytes`, "split the request or raise the limit");
  }
}

export class LineReader {
  #r: Readable;
  #max: number;
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  #scan = 0;

  constructor(r: Readable, maxBytes: number, initial = 16 * 1024) {
    this.#r = r;
    this.#max = maxBytes;
    this.#buf = new Uint8Array(Math.min(initial, maxBytes + 1));
  }

  /** The next line without its newline, or null at end of stream (a partial last line is dropped). */
  async next(): Promise<string | null> {
    for (;;) {
      const b = this.#buf;
      for (let i = this.#scan; i < this.#end; i++) {
        if (b[i] === NL) {
          const line = decoder.decode(b.subarray(this.#start, i));
          this.#start = i + 1;
          this.#scan = this.#start;
          if (this.#start === this.#end) this.#start = this.#end = this.#scan = 0;
          return line;
        }
      }
      this.#scan = this.#end;
      if (this.#end - this.#start > this.#max) throw new LineTooLong(this.#max);
      if (this.#end === b.length) this.#makeRoom();
      const n = await this.#r.read(this.#buf.subarray(this.#end));
      if (n === null) return null;
      this.#end += n;
    }
  }

  #makeRoom(): void {
    const used = this.#end - this.#start;
    if (this.#start > 0) {
      this.#buf.copyWithin(0, this.#start, this.#end);
    } else {
      const size = Math.min(this.#buf.length * 2, this.#max + 2);
      if (size <= this.#buf.length) throw new LineTooLong(this.#max);
      const nb = new Uint8Array(size);
      nb.set(this.#buf.subarray(0, used));
      this.#buf = nb;
    }
    this.#scan -= this.#start;
    this.#start = 0;
    this.#end = used;
  }
}

export async function writeAll(w: Writable, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await w.write(off === 0 ? data : data.subarray(off));
}

/** Serialises writes on one connection so concurrent responses never interleave. */
export class LineWriter {
  #w: Writable;
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;

  constructor(w: Writable) {
    this.#w = w;
  }

  send(msg: unknown): Promise<void> {
    return this.sendRaw(encoder.encode(JSON.stringify(msg) + "\n"));
  }

  /** Writes queued and not yet finished; a peer that stops reading makes this grow. */
  get pending(): number {
    return this.#pending;
  }

  sendRaw(data: Uint8Array): Promise<void> {
    const p = this.#pending === 0 ? writeAll(this.#w, data) : this.#tail.then(() => writeAll(this.#w, data));
    this.#pending++;
    const done = p.finally(() => {
      this.#pending--;
    });
    this.#tail = done.catch(() => {});
    return done;
  }
}
