/**
 * `mpp analyze --streams DIR`: one file per connection direction, named like tcpflow's
 * (`srcip.sport-dstip.dport`, octets and ports zero-padded, `cNNNN` when a 4-tuple repeats), plus
 * DIR/index.json. Writes are batched: bytes are copied into per-direction buffers and appended to
 * the files when a connection ends or when all buffers together pass `maxBuffered`, so memory stays
 * bounded however many connections are open.
 */
import { z } from "zod";
import { join } from "node:path";
import { MppError } from "../errors.ts";
import type { StreamListener } from "./reassembly.ts";
import type { TcpStream } from "./stream.ts";

/** Gaps listed per direction in index.json (more are only counted). */
const MAX_LISTED_GAPS = 100;

export const StreamFileEntry = z.object({
  file: z.string().nullable().describe("file name in DIR, null when the direction carried no data"),
  src: z.string(),
  dst: z.string(),
  bytes: z.number().int(),
  segments: z.number().int(),
  retransmitted: z.number().int(),
  outOfOrder: z.number().int(),
  overlapBytes: z.number().int(),
  missedBytes: z.number().int(),
  gaps: z.array(z.object({ offset: z.number().int(), length: z.number().int() })),
  zeroWindow: z.number().int(),
});

export const StreamIndex = z.object({
  schema: z.literal("mpp.streams/1"),
  totals: z.record(z.string(), z.number()).optional().describe("lib/tcp counters summed over all streams"),
  streams: z.array(z.object({
    index: z.number().int().describe("tshark's tcp.stream"),
    reuse: z.number().int(),
    state: z.string(),
    start: z.number().describe("seconds since the capture's first packet"),
    end: z.number(),
    duration: z.number(),
    orig: StreamFileEntry,
    resp: StreamFileEntry,
  })),
});
export type StreamIndex = z.infer<typeof StreamIndex>;

class DirOut {
  /** Bytes waiting for the file: one growing buffer (no object per segment). */
  buf: Uint8Array | null = null;
  size = 0;
  written = 0;
  readonly gaps: { offset: number; length: number }[] = [];
  constructor(readonly file: string) {}
}

/** tcpflow's zero-padded endpoint: 010.000.000.001.00080 (IPv6 keeps its text form). */
export function endpointName(addr: string, port: number): string {
  const p = String(port).padStart(5, "0");
  const v4 = addr.split(".");
  if (v4.length === 4) return `${v4.map((o) => o.padStart(3, "0")).join(".")}.${p}`;
  return `${addr}.${p}`;
}

export function streamFileName(s: TcpStream, dir: number): string {
  const base = `${endpointName(s.addr[dir], s.port[dir])}-${endpointName(s.addr[dir ^ 1], s.port[dir ^ 1])}`;
  return s.reuse > 0 ? `${base}c${s.reuse}` : base;
}

/** Bytes handed to the writer thread and not yet written, before the analysis waits. */
const MAX_QUEUED = 64 << 20;

export class StreamWriter implements StreamListener {
  private buffered = 0;
  private worker: Worker | null = null;
  private readonly queued = new Int32Array(new SharedArrayBuffer(4));
  private readonly open_ = new Set<TcpStream>();
  private readonly streams: TcpStream[] = [];

  constructor(readonly dir: string, readonly maxBuffered = 32 << 20) {}

  /** Creates DIR (and parents); fails with an MppError when that is impossible. */
  static create(dir: string, maxBuffered?: number): StreamWriter {
    try {
      Deno.mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new MppError(
        "io",
        `cannot create stream directory ${dir}: ${(e as Error).message}`,
        "give --streams a directory you can write to",
      );
    }
    return new StreamWriter(dir, maxBuffered);
  }

  open(s: TcpStream): void {
    s.user = [new DirOut(streamFileName(s, 0)), new DirOut(streamFileName(s, 1))];
    this.streams.push(s);
  }

  private pair(s: TcpStream): [DirOut, DirOut] | undefined {
    const u = s.user;
    return Array.isArray(u) && u[0] instanceof DirOut ? u as [DirOut, DirOut] : undefined;
  }

  data(s: TcpStream, dir: number, b: Uint8Array, off: number, len: number): void {
    const o = (s.user as [DirOut, DirOut])[dir];
    let buf = o.buf;
    if (buf === null || o.size + len > buf.length) {
      let n = buf === null ? 2048 : buf.length * 2;
      while (n < o.size + len) n *= 2;
      const nb = new Uint8Array(n);
      if (buf !== null) nb.set(buf.subarray(0, o.size));
      o.buf = buf = nb;
    }
    buf.set(b.subarray(off, off + len), o.size);
    o.size += len;
    this.buffered += len;
    this.open_.add(s);
    if (this.buffered > this.maxBuffered) this.flushAll();
  }

  gap(s: TcpStream, dir: number, len: number): void {
    const o = (s.user as [DirOut, DirOut])[dir];
    if (o.gaps.length < MAX_LISTED_GAPS) o.gaps.push({ offset: o.written + o.size, length: len });
  }

  end(s: TcpStream): void {
    this.flush(s);
  }

  /** Writes every buffer out (end of input). */
  flushAll(): void {
    for (const s of this.open_) this.flush(s);
  }

  private flush(s: TcpStream): void {
    const pair = this.pair(s);
    if (pair === undefined) return;
    for (const o of pair) {
      if (o.size === 0) continue;
      const path = join(this.dir, o.file);
      this.write(path, o.buf!, o.size, o.written > 0);
      this.buffered -= o.size;
      o.written += o.size;
      o.size = 0;
      o.buf = null;
    }
    this.open_.delete(s);
  }

  /** Appends (or first creates) one file, on the writer thread, waiting while too much is queued. */
  private write(path: string, buf: Uint8Array, size: number, append: boolean): void {
    if (this.worker === null) {
      this.worker = new Worker(new URL("./file_writer_worker.ts", import.meta.url), { type: "module" });
      this.worker.postMessage({ init: this.queued.buffer });
    }
    for (let q = Atomics.load(this.queued, 0); q > MAX_QUEUED; q = Atomics.load(this.queued, 0)) {
      Atomics.wait(this.queued, 0, q, 100);
    }
    Atomics.add(this.queued, 0, size);
    // The buffer itself moves to the writer thread (transferred, not copied).
    this.worker.postMessage({ job: { path, data: buf, size, append } }, [buf.buffer as ArrayBuffer]);
  }

  /** Waits until the writer thread wrote everything; throws its first error. */
  private async drain(): Promise<void> {
    const w = this.worker;
    if (w === null) return;
    this.worker = null;
    const r = await new Promise<{ failure: string | null }>((resolve) => {
      w.onmessage = (e) => resolve(e.data);
      w.postMessage({ drain: true });
    });
    w.terminate();
    if (r.failure !== null) throw new MppError("io", r.failure, "check free space and permissions");
  }

  /** Flushes everything, waits for the files, and writes DIR/index.json for these streams. */
  async finish(streams: readonly TcpStream[], totals?: Record<string, number>): Promise<StreamIndex> {
    this.flushAll();
    await this.drain();
    const idx: StreamIndex = { schema: "mpp.streams/1", totals, streams: [] };
    for (const s of streams) {
      const pair = this.pair(s);
      if (pair === undefined) continue;
      const side = (dir: number) => {
        const d = s.dirs[dir], o = pair[dir];
        return {
          file: o.written > 0 ? o.file : null,
          src: `${s.addr[dir]}:${s.port[dir]}`,
          dst: `${s.addr[dir ^ 1]}:${s.port[dir ^ 1]}`,
          bytes: d.bytes,
          segments: d.segments,
          retransmitted: d.retransmitted,
          outOfOrder: d.outOfOrder,
          overlapBytes: d.overlapBytes,
          missedBytes: d.missedBytes,
          gaps: o.gaps,
          zeroWindow: d.zeroWindow,
        };
      };
      idx.streams.push({
        index: s.index,
        reuse: s.reuse,
        state: s.stateName,
        start: s.firstT,
        end: s.lastT,
        duration: s.lastT - s.firstT,
        orig: side(0),
        resp: side(1),
      });
    }
    const path = join(this.dir, "index.json");
    try {
      Deno.writeTextFileSync(path, JSON.stringify(idx, null, 1) + "\n");
    } catch (e) {
      throw new MppError(
        "io",
        `cannot write ${path}: ${(e as Error).message}`,
        "check free space and permissions",
      );
    }
    return idx;
  }
}
