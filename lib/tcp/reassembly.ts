/**
 * TCP stream reassembly for a whole capture: one TcpStream per connection (a new one when a 4-tuple
 * is reused after close), shared memory caps, idle flushing, and fan-out of the reassembled bytes
 * to listeners (stream writer, follow) and to the flow's stream decoder (HTTP).
 * `hook` plugs into lib/flow's Analyzer as its tcpHook.
 */
import type { Packet } from "../packet/packet.ts";
import { TcpFlag } from "../packet/packet.ts";
import type { Decoder } from "../../decoders/decoder.ts";
import { RingBudget } from "./ring.ts";
import { MARK_GAP, MARK_RETRANSMITTED, type ReassemblyLimits } from "./reassembler.ts";
import { type StreamEvents, TcpState, TcpStream } from "./stream.ts";

export interface TcpOptions {
  /** Out-of-order bytes one direction may buffer (rounded up to a power of two). Default 1 MiB. */
  perDirection?: number;
  /** Out-of-order bytes all connections together may buffer. Default 256 MiB. */
  globalLimit?: number;
  /** Skip a hole once this many bytes wait past it. Default: perDirection. */
  gapWindow?: number;
  /** Skip a hole once it has been open this long, seconds. Default 10. */
  gapTimeout?: number;
  /** Flush (end) a connection idle this long, seconds of capture time. Default 300 (Zeek's TCP inactivity). */
  idleTimeout?: number;
  /**
   * Keep every connection for listing (--streams index, --follow, --http stream numbers). Default
   * true. With false, a connection replaced by the next one on its 4-tuple is folded into its
   * flow's counters and let go, so memory follows the flows, not the connections.
   */
  keepStreams?: boolean;
}

export const TCP_DEFAULTS = {
  perDirection: 1 << 20,
  globalLimit: 256 << 20,
  gapTimeout: 10,
  idleTimeout: 300,
} as const;

/** What lib/tcp needs of a flow (lib/flow's Flow has it). */
export interface TcpFlowSlot {
  tcpStreams: unknown;
  tcp: { letter(dir: number, l: string): void } | null;
  decoder: Decoder | null;
  decoderState: unknown;
}

/** Receives reassembled streams; all methods optional. Views are only valid during the call. */
export interface StreamListener {
  open?(s: TcpStream, t: number): void;
  data?(s: TcpStream, dir: number, b: Uint8Array, off: number, len: number, t: number): void;
  gap?(s: TcpStream, dir: number, len: number, t: number): void;
  /** The connection ended; it may be revived by late segments (then data follows again). */
  end?(s: TcpStream, t: number): void;
}

/**
 * One connection's conversation row as CONN_WORDS numbers (an object each was twice the memory,
 * and captures hold hundreds of thousands of connections): the direction of its first segment
 * (0 = the flow's originator), frames and wire bytes per direction, first and last time.
 */
export const C_FIRST_DIR = 0,
  C_FRAMES0 = 1,
  C_WIRE0 = 2,
  C_FRAMES1 = 3,
  C_WIRE1 = 4,
  C_FIRST_T = 5,
  C_LAST_T = 6;
export const CONN_WORDS = 7;

function pushRow(out: number[], s: TcpStream): void {
  out.push(s.firstDir, s.frames0, s.wire0, s.frames1, s.wire1, s.firstT, s.lastT);
}

/** Counters summed over connections. */
export interface TcpCounters {
  streams: number;
  segments: number;
  dataSegments: number;
  bytes: number;
  retransmitted: number;
  retransmittedBytes: number;
  duplicates: number;
  outOfOrder: number;
  overlapSegments: number;
  overlapBytes: number;
  gaps: number;
  missedBytes: number;
  capSkips: number;
  zeroWindow: number;
}

export function emptyCounters(): TcpCounters {
  return {
    streams: 0,
    segments: 0,
    dataSegments: 0,
    bytes: 0,
    retransmitted: 0,
    retransmittedBytes: 0,
    duplicates: 0,
    outOfOrder: 0,
    overlapSegments: 0,
    overlapBytes: 0,
    gaps: 0,
    missedBytes: 0,
    capSkips: 0,
    zeroWindow: 0,
  };
}

/** Adds one connection's counters (both directions) into `c`. */
export function addCounters(c: TcpCounters, s: TcpStream): TcpCounters {
  c.streams++;
  for (let i = 0; i < 2; i++) {
    const d = i === 0 ? s.d0 : s.d1;
    c.segments += d.segments;
    c.dataSegments += d.dataSegments;
    c.bytes += d.bytes;
    c.retransmitted += d.retransmitted;
    c.retransmittedBytes += d.retransmittedBytes;
    c.duplicates += d.duplicates;
    c.outOfOrder += d.outOfOrder;
    c.overlapSegments += d.overlapSegments;
    c.overlapBytes += d.overlapBytes;
    c.gaps += d.gaps;
    c.missedBytes += d.missedBytes;
    c.capSkips += d.capSkips;
    c.zeroWindow += d.zeroWindow;
  }
  return c;
}

function pow2AtLeast(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

const IDLE_SCAN_EVERY = 5;

export class TcpReassembly implements StreamEvents {
  readonly limits: ReassemblyLimits;
  readonly budget: RingBudget;
  readonly idleTimeout: number;
  readonly keepStreams: boolean;
  /** Every connection (keepStreams), in stream-index order. */
  private readonly all: TcpStream[] = [];
  /** Without keepStreams: each flow's latest connection, in stream-index order. */
  private readonly latest = new Set<TcpStream>();
  /** Without keepStreams: counters of let-go connections, per flow and in total. */
  readonly folded: Map<unknown, TcpCounters> = new Map();
  /** Without keepStreams: the conversation rows of let-go connections, per flow (one per connection). */
  private readonly foldedRows: Map<unknown, number[]> = new Map();
  private readonly foldedTotals = emptyCounters();
  private count = 0;
  private readonly listeners: StreamListener[] = [];
  /** Connections not yet ended (scanned for idleness). */
  private active: TcpStream[] = [];
  private nextScan = 0;
  private now = 0;

  constructor(opts: TcpOptions = {}) {
    const perDirection = pow2AtLeast(Math.max(4096, opts.perDirection ?? TCP_DEFAULTS.perDirection));
    this.limits = {
      perDirection,
      gapWindow: opts.gapWindow ?? perDirection,
      gapTimeout: opts.gapTimeout ?? TCP_DEFAULTS.gapTimeout,
    };
    this.budget = new RingBudget(opts.globalLimit ?? TCP_DEFAULTS.globalLimit);
    this.idleTimeout = opts.idleTimeout ?? TCP_DEFAULTS.idleTimeout;
    this.keepStreams = opts.keepStreams ?? true;
  }

  /** The connections held: every one (keepStreams), or each flow's latest, in stream-index order. */
  get streams(): TcpStream[] {
    return this.keepStreams ? this.all : [...this.latest];
  }

  listen(l: StreamListener): void {
    this.listeners.push(l);
  }

  /** The Analyzer's tcpHook. */
  readonly hook = (flow: TcpFlowSlot, p: Packet, fromOrig: boolean, t: number): void =>
    this.segment(flow, p, fromOrig, t);

  segment(flow: TcpFlowSlot, p: Packet, fromOrig: boolean, t: number): void {
    if (p.l4Off < 0 || p.ipProto !== 6) return;
    this.now = t;
    const dir = fromOrig ? 0 : 1;
    const flags = p.tcpFlags;
    let s = flow.tcpStreams as TcpStream | null;
    if (s === null) s = this.open(flow, p, dir, 0, t);
    else if (
      (flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN && s.isNewConnection(dir, p.tcpSeq)
    ) {
      this.end(s, t);
      s = this.open(flow, p, dir, s.reuse + 1, t);
    }
    if (s.ended) {
      s.ended = false;
      this.active.push(s);
    }
    const d = dir === 0 ? s.d0 : s.d1, o = dir === 0 ? s.d1 : s.d0;
    // The counters' own fields sit in colder cache lines: changes are flagged in `marks`.
    d.marks = o.marks = 0;
    if (dir === 0) {
      s.frames0++;
      s.wire0 += p.origLen;
    } else {
      s.frames1++;
      s.wire1 += p.origLen;
    }
    const len = p.payloadOff >= 0 ? p.payloadLen : 0;
    s.segment(dir, p, len, t);
    const tc = flow.tcp;
    if (tc !== null && (d.marks | o.marks) !== 0) {
      if ((d.marks & MARK_RETRANSMITTED) !== 0 && isPow10(d.retransmitted)) tc.letter(dir, "t");
      if ((d.marks & MARK_GAP) !== 0 && isPow10(d.gaps)) tc.letter(dir, "g");
      if ((o.marks & MARK_GAP) !== 0 && isPow10(o.gaps)) tc.letter(dir ^ 1, "g");
    }
    if (
      (s.state === TcpState.RESET || (s.state === TcpState.CLOSED && s.buffered() === 0)) && !s.ended
    ) this.end(s, t);
    if (t >= this.nextScan) this.scanIdle(t);
  }

  data(s: TcpStream, dir: number, b: Uint8Array, off: number, len: number, t: number): void {
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) ls[i].data?.(s, dir, b, off, len, t);
    const f = s.flow as TcpFlowSlot;
    const st = f.decoder?.stream;
    if (st !== undefined) st.data(f.decoderState, dir === 0, b, off, len, t);
  }

  gap(s: TcpStream, dir: number, len: number, t: number): void {
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) ls[i].gap?.(s, dir, len, t);
    const f = s.flow as TcpFlowSlot;
    const st = f.decoder?.stream;
    if (st !== undefined) st.gap(f.decoderState, dir === 0, len, t);
  }

  /** End of input: flush and end every connection. */
  finish(): void {
    const a = this.active;
    for (let i = 0; i < a.length; i++) if (!a[i].ended) this.end(a[i], this.now);
    this.active = [];
  }

  /**
   * Each flow's connections as conversation rows (CONN_WORDS numbers each), oldest first; only
   * flows whose TCP segments reached the reassembly.
   */
  connectionsByFlow(): Map<unknown, number[]> {
    const m = new Map<unknown, number[]>();
    for (const [flow, rows] of this.foldedRows) m.set(flow, rows.slice());
    const ss = this.streams;
    for (let i = 0; i < ss.length; i++) {
      const s = ss[i];
      let l = m.get(s.flow);
      if (l === undefined) m.set(s.flow, l = []);
      pushRow(l, s);
    }
    return m;
  }

  /** Counters summed over all connections. */
  totals(): TcpCounters {
    const c = { ...this.foldedTotals }, ss = this.streams;
    for (let i = 0; i < ss.length; i++) addCounters(c, ss[i]);
    return c;
  }

  private open(flow: TcpFlowSlot, p: Packet, dir: number, reuse: number, t: number): TcpStream {
    const s = new TcpStream(this.count++, flow, reuse, this.limits, this.budget, this, t);
    s.firstDir = dir;
    s.setEndpoints(p, dir);
    if (this.keepStreams) this.all.push(s);
    else {
      // The flow's previous connection gets no more segments: fold its counters and let it go.
      const old = flow.tcpStreams as TcpStream | null;
      if (old !== null && this.latest.delete(old)) {
        let c = this.folded.get(flow);
        if (c === undefined) this.folded.set(flow, c = emptyCounters());
        addCounters(c, old);
        addCounters(this.foldedTotals, old);
        let rows = this.foldedRows.get(flow);
        if (rows === undefined) this.foldedRows.set(flow, rows = []);
        pushRow(rows, old);
      }
      this.latest.add(s);
    }
    this.active.push(s);
    flow.tcpStreams = s;
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) ls[i].open?.(s, t);
    return s;
  }

  private end(s: TcpStream, t: number): void {
    s.flush(t);
    s.ended = true;
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) ls[i].end?.(s, t);
    const f = s.flow as TcpFlowSlot;
    const st = f.decoder?.stream;
    if (st !== undefined && f.tcpStreams === s) st.end(f.decoderState, t, s.reuse + 1);
  }

  private scanIdle(t: number): void {
    this.nextScan = t + IDLE_SCAN_EVERY;
    const limit = t - this.idleTimeout;
    const keep: TcpStream[] = [], a = this.active;
    for (let i = 0; i < a.length; i++) {
      const s = a[i];
      if (s.ended) continue;
      if (s.lastT < limit) this.end(s, t);
      else keep.push(s);
    }
    this.active = keep;
  }
}

function isPow10(n: number): boolean {
  return n === 1 || n === 10 || n === 100 || n === 1000 || n === 10000 || n === 100000;
}
