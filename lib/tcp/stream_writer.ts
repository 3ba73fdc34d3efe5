/**
 * `mpp analyze --streams DIR`: one file per connection direction as tcpflow writes it (named
 * `srcip.sport-dstip.dport`, octets and ports zero-padded, `--VLAN` on 802.1Q frames, `cN` when a
 * 4-tuple repeats; gaps followed by data as zeros), plus DIR/index.json. Reassembled bytes are
 * copied into a shared ring as they arrive and written by a file thread (write_ring.ts,
 * file_writer_worker.ts), so the analysis thread makes no system call and memory stays at the
 * ring's size however many connections are open.
 */
import { z } from "zod";
import { join } from "node:path";
import { OP_CLOSE, OP_DATA, OP_FINISH, OP_OPEN, RingWriter } from "./write_ring.ts";
import { FileSink } from "./file_sink.ts";
import { raiseOpenFileLimit } from "../../ffi/libc.ts";
import { workerUrl } from "../worker_module.ts";
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
  fileBytes: z.number().int().describe(
    "size of the file: the bytes, plus each gap before the last byte as zeros (tcpflow's holes)",
  ),
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

/** Zeros written for gaps, a slice at a time. */
const ZEROS = new Uint8Array(64 << 10);
/**
 * Longest gap written as zeros: tcpflow's max_seek (16 MiB), past which tcpflow does not seek
 * either. A sequence jump of gigabytes (a damaged or forged segment) must not write gigabytes.
 */
export const MAX_ZERO_FILL = 16 << 20;

class DirOut {
  /** Ring file id, or -1 until the direction's first byte opens its file. */
  id = -1;
  /** File size: the stream bytes written plus the zero-filled gaps (zeros only ever precede data). */
  fileBytes = 0;
  /** Missing bytes not yet in the file: written as zeros only when data follows, as tcpflow does. */
  hole = 0;
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

/** tcpflow's default name (its template `%A.%a-%B.%b%V%v%C%c`): endpoints, `--VLAN` tag, `cN` reuse. */
export function streamFileName(s: TcpStream, dir: number): string {
  const base = `${endpointName(s.addr[dir], s.port[dir])}-${endpointName(s.addr[dir ^ 1], s.port[dir ^ 1])}`;
  const vlan = s.vlanTag >= 0 ? `--${s.vlanTag}` : "";
  return s.reuse > 0 ? `${base}${vlan}c${s.reuse}` : base + vlan;
}

/**
 * Files the writer keeps open at once: the open-file limit (raised to its hard limit) less a margin,
 * so the files of every live connection stay open; with fewer, a busy capture spends its time
 * closing and reopening (4,096 for 24,000 live directions cost 1.9 s of open calls per 1M packets).
 */
function maxOpenFiles(): number {
  return Math.max(64, Math.min(raiseOpenFileLimit() - 256, 1 << 16));
}

export class StreamWriter implements StreamListener {
  private ring: RingWriter | null = null;
  private worker: Worker | null = null;
  /** In-thread files when the file thread's module is missing (a bundled mpp.js). */
  private direct: FileSink | null = null;
  private nextId = 0;
  private readonly enc = new TextEncoder();

  constructor(readonly dir: string, readonly ringSize = 32 << 20, readonly maxOpen = maxOpenFiles()) {}

  /** Creates DIR (and parents); fails with an MppError when that is impossible. */
  static create(dir: string, ringSize?: number, maxOpen?: number): StreamWriter {
    try {
      Deno.mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new MppError(
        "io",
        `cannot create stream directory ${dir}: ${(e as Error).message}`,
        "give --streams a directory you can write to",
      );
    }
    return new StreamWriter(dir, ringSize, maxOpen);
  }

  open(s: TcpStream): void {
    s.user = [new DirOut(streamFileName(s, 0)), new DirOut(streamFileName(s, 1))];
  }

  private pair(s: TcpStream): [DirOut, DirOut] | undefined {
    const u = s.user;
    return Array.isArray(u) && u[0] instanceof DirOut ? u as [DirOut, DirOut] : undefined;
  }

  private start(): RingWriter | null {
    const url = workerUrl(new URL("./file_writer_worker.ts", import.meta.url));
    if (url === null) {
      this.direct = new FileSink(this.maxOpen);
      return null;
    }
    const ring = this.ring = RingWriter.create(this.ringSize);
    this.worker = new Worker(url, { type: "module" });
    this.worker.postMessage({ buffers: ring.buffers, maxOpen: this.maxOpen });
    return ring;
  }

  data(s: TcpStream, dir: number, b: Uint8Array, off: number, len: number): void {
    const o = (s.user as [DirOut, DirOut])[dir];
    const ring = this.ring ?? (this.direct === null ? this.start() : null);
    if (o.id < 0) {
      o.id = this.nextId++;
      const path = this.enc.encode(`${this.dir}/${o.file}\0`);
      if (ring !== null) ring.put(OP_OPEN, o.id, path, 0, path.length);
      else this.direct!.record(OP_OPEN, o.id, path);
    }
    // tcpflow writes each segment at its stream offset, so a gap followed by data reads as zeros.
    while (o.hole > 0) {
      const n = Math.min(o.hole, ZEROS.length);
      this.write(ring, o, ZEROS, 0, n);
      o.hole -= n;
    }
    this.write(ring, o, b, off, len);
  }

  private write(ring: RingWriter | null, o: DirOut, b: Uint8Array, off: number, len: number): void {
    if (ring !== null) {
      const max = ring.maxPayload;
      for (let k = 0; k < len; k += max) ring.put(OP_DATA, o.id, b, off + k, len - k < max ? len - k : max);
    } else this.direct!.record(OP_DATA, o.id, b.subarray(off, off + len));
    o.fileBytes += len;
  }

  gap(s: TcpStream, dir: number, len: number): void {
    const o = (s.user as [DirOut, DirOut])[dir];
    if (o.gaps.length < MAX_LISTED_GAPS) o.gaps.push({ offset: o.fileBytes + o.hole, length: len });
    // A longer gap is left out of the file: the data after it follows at once.
    if (len <= MAX_ZERO_FILL) o.hole += len;
  }

  /** The connection ended: its files are closed (a later segment reopens them to append). */
  end(s: TcpStream): void {
    const pair = this.pair(s);
    if (pair === undefined) return;
    for (const o of pair) {
      if (o.id < 0) continue;
      if (this.ring !== null) this.ring.put(OP_CLOSE, o.id, null, 0, 0);
      else this.direct?.record(OP_CLOSE, o.id, null);
    }
  }

  /** Waits until the writer thread wrote everything; throws its first error. */
  private async drain(): Promise<void> {
    const direct = this.direct;
    if (direct !== null) {
      this.direct = null;
      direct.closeAll();
      if (direct.failure !== null) {
        throw new MppError(
          "io",
          `cannot write TCP streams: ${direct.failure}`,
          "check free space and permissions",
        );
      }
      return;
    }
    const w = this.worker, ring = this.ring;
    if (w === null || ring === null) return;
    this.worker = null;
    this.ring = null;
    const r = await new Promise<{ failure: string | null }>((resolve) => {
      w.onmessage = (e) => resolve(e.data);
      ring.put(OP_FINISH, 0, null, 0, 0);
    });
    w.terminate();
    if (r.failure !== null) {
      throw new MppError("io", `cannot write TCP streams: ${r.failure}`, "check free space and permissions");
    }
  }

  /** Flushes everything, waits for the files, and writes DIR/index.json for these streams. */
  async finish(streams: readonly TcpStream[], totals?: Record<string, number>): Promise<StreamIndex> {
    await this.drain();
    const idx: StreamIndex = { schema: "mpp.streams/1", totals, streams: [] };
    for (const s of streams) {
      const pair = this.pair(s);
      if (pair === undefined) continue;
      const side = (dir: number) => {
        const d = s.dirs[dir], o = pair[dir];
        return {
          file: o.fileBytes > 0 ? o.file : null,
          src: `${s.addr[dir]}:${s.port[dir]}`,
          dst: `${s.addr[dir ^ 1]}:${s.port[dir ^ 1]}`,
          bytes: d.bytes,
          fileBytes: o.fileBytes,
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
