/**
 * One TCP connection (one incarnation of a 4-tuple): its state machine and a reassembler per
 * direction. Direction 0 is the flow's originator. Reassembled bytes go to the owner's listener.
 */
import { type Packet, TcpFlag } from "../packet/packet.ts";
import { formatIpv4, formatIpv6 } from "../packet/format.ts";
import { DirReassembler, type ReassemblyLimits, seqDiff, type StreamSink } from "./reassembler.ts";
import type { RingBudget } from "./ring.ts";

/** The fields of a decoded TCP segment a connection reads. */
export type TcpSegmentView = Pick<
  Packet,
  "tcpFlags" | "tcpSeq" | "tcpAck" | "tcpWindow" | "data" | "payloadOff"
>;

export const TcpState = {
  /** Nothing but pure ACKs seen yet. */
  NEW: 0,
  /** SYN seen, no SYN-ACK: half-open. */
  SYN_SENT: 1,
  /** SYN-ACK seen (with or without the SYN). */
  SYN_RECEIVED: 2,
  ESTABLISHED: 3,
  /** Data without a handshake: the capture started mid-stream. */
  MIDSTREAM: 4,
  /** One side sent FIN. */
  CLOSING: 5,
  /** Both sides sent FIN. */
  CLOSED: 6,
  RESET: 7,
} as const;

export const TCP_STATE_NAMES = [
  "new",
  "syn-sent",
  "syn-received",
  "established",
  "midstream",
  "closing",
  "closed",
  "reset",
] as const;

/** What a connection's owner hears: bytes and holes per direction, and the end. */
export interface StreamEvents {
  data(s: TcpStream, dir: number, b: Uint8Array, off: number, len: number, t: number): void;
  gap(s: TcpStream, dir: number, len: number, t: number): void;
}

export class TcpStream implements StreamSink {
  state: number = TcpState.NEW;
  readonly dirs: [DirReassembler, DirReassembler];
  /** dirs[0] and dirs[1] as fields: one object less to reach per segment. */
  readonly d0: DirReassembler;
  readonly d1: DirReassembler;
  /** Flushed and reported as ended (it may still receive late segments). */
  ended = false;
  firstT: number;
  lastT: number;
  /** Free slot for consumers (e.g. the --streams writer's per-stream record). */
  user: unknown = null;
  /** Direction of the connection's first segment (tshark's "Node 0"). */
  firstDir = 0;
  /**
   * Frames and their wire bytes per direction (0 = the flow's originator): the connection's row in
   * tshark's `-z conv,tcp`, which splits a 4-tuple reused after close into one row per tcp.stream.
   */
  frames0 = 0;
  frames1 = 0;
  wire0 = 0;
  wire1 = 0;
  // Endpoints as numbers; the text is made only when someone asks (--streams, --follow).
  private ip0 = 0;
  private ip1 = 0;
  private port0 = 0;
  private port1 = 0;
  /** IPv6: both addresses as 4 words each (null for IPv4). */
  private ip6: Uint32Array | null = null;
  private addrText: [string, string] | null = null;
  private portPair: [number, number] | null = null;
  /**
   * tcpflow's VLAN label: the whole tag control word (priority and DEI bits included) of an
   * Ethernet frame whose EtherType is 802.1Q (0x8100), else -1 (no tag, or an 802.1ad outer tag,
   * which tcpflow does not label). Read from the connection's first segment.
   */
  vlanTag = -1;

  constructor(
    /** tshark's tcp.stream: streams numbered from 0 in order of their first segment. */
    readonly index: number,
    /** The flow this connection belongs to (lib/flow's Flow; opaque here). */
    readonly flow: unknown,
    /** Earlier connections on the same 4-tuple (tcpflow's cNNNN counter). */
    readonly reuse: number,
    limits: ReassemblyLimits,
    budget: RingBudget,
    private readonly events: StreamEvents,
    t: number,
  ) {
    this.d0 = new DirReassembler(0, limits, budget, this);
    this.d1 = new DirReassembler(1, limits, budget, this);
    this.dirs = [this.d0, this.d1];
    this.firstT = this.lastT = t;
  }

  /** Records the endpoints from the connection's first segment, sent by `dir`. */
  setEndpoints(p: Packet, dir: number): void {
    const src = dir === 0 ? 0 : 4, dst = 4 - src;
    if (p.ipVersion === 6) {
      const w = this.ip6 = new Uint32Array(8);
      for (let i = 0; i < 4; i++) {
        w[src + i] = p.src[i];
        w[dst + i] = p.dst[i];
      }
    } else {
      this.ip0 = dir === 0 ? p.src[0] : p.dst[0];
      this.ip1 = dir === 0 ? p.dst[0] : p.src[0];
    }
    this.port0 = dir === 0 ? p.srcPort : p.dstPort;
    this.port1 = dir === 0 ? p.dstPort : p.srcPort;
    const b = p.data;
    if (p.linkType === 1 && b.length >= 16 && b[12] === 0x81 && b[13] === 0x00) {
      this.vlanTag = (b[14] << 8) | b[15];
    }
  }

  /** Endpoints: [0] the originator, [1] the responder, addresses as text. */
  get addr(): readonly [string, string] {
    let a = this.addrText;
    if (a === null) {
      const w = this.ip6;
      a = this.addrText = w === null
        ? [formatIpv4(this.ip0), formatIpv4(this.ip1)]
        : [formatIpv6(w.subarray(0, 4)), formatIpv6(w.subarray(4, 8))];
    }
    return a;
  }

  /** Ports: [0] the originator's, [1] the responder's. */
  get port(): readonly [number, number] {
    return this.portPair ??= [this.port0, this.port1];
  }

  onData(dir: number, b: Uint8Array, off: number, len: number, t: number): void {
    this.events.data(this, dir, b, off, len, t);
  }
  onGap(dir: number, len: number, t: number): void {
    this.events.gap(this, dir, len, t);
  }

  get stateName(): string {
    return TCP_STATE_NAMES[this.state];
  }

  /**
   * Whether a SYN (without ACK) from `dir` starts a new connection on this 4-tuple: the old one
   * is over (FIN both ways or RST), or the SYN carries another initial sequence number after data.
   */
  isNewConnection(dir: number, seq: number): boolean {
    if (this.state === TcpState.CLOSED || this.state === TcpState.RESET) return true;
    const d = this.dirs[dir];
    if (!d.synSeen) return d.started && (d.bytes > 0 || this.dirs[dir ^ 1].bytes > 0);
    return seq !== d.isn && (d.bytes > 0 || this.dirs[dir ^ 1].bytes > 0 || this.state === TcpState.CLOSING);
  }

  /**
   * One segment from `dir`; its payload is p.data[p.payloadOff, +len). Sequence numbers are read
   * from the packet and turned into stream offsets here: uint32 values passed to a call would be
   * boxed (a heap number each), small offsets are not.
   */
  segment(dir: number, p: TcpSegmentView, len: number, t: number): void {
    this.lastT = t;
    const me = dir === 0 ? this.d0 : this.d1, peer = dir === 0 ? this.d1 : this.d0;
    const flags = p.tcpFlags;
    let seq = p.tcpSeq;
    const syn = (flags & TcpFlag.SYN) !== 0, hasAck = (flags & TcpFlag.ACK) !== 0;
    const rst = (flags & TcpFlag.RST) !== 0;
    if (p.tcpWindow === 0 && !syn && !rst) me.zeroWindow++;
    if (syn) {
      me.syn(seq);
      if (hasAck) {
        if (this.state < TcpState.SYN_RECEIVED) this.state = TcpState.SYN_RECEIVED;
      } else if (this.state === TcpState.NEW) this.state = TcpState.SYN_SENT;
      seq = (seq + 1) >>> 0;
    } else if (hasAck && this.state === TcpState.SYN_RECEIVED) this.state = TcpState.ESTABLISHED;
    if (hasAck && peer.started) peer.ackedAt(peer.next + seqDiff(p.tcpAck, peer.nextSeq));
    if (len > 0 || !syn) {
      me.segments++;
      if (len > 0 && !me.started) me.startAt(seq);
      me.placeAt(me.started ? me.next + seqDiff(seq, me.nextSeq) : 0, p.data, p.payloadOff, len, t);
    }
    if (len > 0 && (this.state === TcpState.NEW || this.state === TcpState.SYN_SENT)) {
      this.state = this.state === TcpState.NEW ? TcpState.MIDSTREAM : TcpState.ESTABLISHED;
    }
    if ((flags & TcpFlag.FIN) !== 0 && !me.finSeen) {
      me.finSeen = true;
      me.finSeq = (seq + len) >>> 0;
      if (this.state !== TcpState.RESET) this.state = peer.finSeen ? TcpState.CLOSED : TcpState.CLOSING;
    }
    if (rst) {
      me.rstSeen = true;
      this.state = TcpState.RESET;
    }
  }

  /** Skips every hole and delivers all buffered data (end of the connection or of the input). */
  flush(t: number): void {
    this.d0.flush(t);
    this.d1.flush(t);
  }

  /** Bytes waiting out of order in both directions. */
  buffered(): number {
    return this.d0.buffered() + this.d1.buffered();
  }
}
