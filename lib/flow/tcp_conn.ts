import { TcpFlag } from "../packet/packet.ts";

/**
 * Zeek's view of a TCP connection: per-endpoint states, `conn_state` and `history` letters, so
 * analysts read mpp's flows in the vocabulary they already know (conn.log). The rules follow
 * scripts/base/protocols/conn/main.zeek (conn_state) and the TCP analyzer's endpoint states.
 * Gap (g) and retransmission (t) letters need sequence tracking and come from lib/tcp.
 */
export const EndpointState = {
  INACTIVE: 0,
  SYN_SENT: 1,
  SYN_ACK_SENT: 2,
  PARTIAL: 3,
  ESTABLISHED: 4,
  CLOSED: 5,
  RESET: 6,
} as const;

const S = EndpointState;

// Connection boundaries (see `update`'s return): lib/tcp's TcpState values and per-direction bits,
// shifted left by the direction.
const C_NEW = 0,
  C_SYN_SENT = 1,
  C_SYN_RECEIVED = 2,
  C_ESTABLISHED = 3,
  C_MIDSTREAM = 4,
  C_CLOSING = 5,
  C_CLOSED = 6,
  C_RESET = 7;
const C_SYN_SEEN = 1, C_STARTED = 4, C_DATA = 16, C_FIN_SEEN = 64;

// History letter bits per direction, recorded once (a, d, i, q) or on sequence change (s, h, f, r).
export const MAX_HISTORY = 64;
const H_S = 1, H_H = 2, H_A = 4, H_D = 8, H_F = 16, H_R = 32, H_Q = 64, H_I = 128;

export class TcpConn {
  origState: number = S.INACTIVE;
  respState: number = S.INACTIVE;
  /**
   * History letters as ASCII codes: one string per packet-level letter (`+=` and toUpperCase)
   * left chains of string pieces of up to MAX_HISTORY links per flow, tens of MB on large captures.
   */
  private readonly hist: Uint8Array;
  /** Where this connection's MAX_HISTORY bytes start in `hist` (a chunk shared with other flows). */
  private readonly histOff: number;
  private histLen = 0;
  /** Payload bytes per side (from segment lengths; lib/tcp refines this with sequence numbers). */
  origPayload = 0;
  respPayload = 0;
  // Flat fields, not arrays: one TcpConn per connection is touched per segment, and every extra
  // object is another cache miss when thousands of connections interleave.
  private seen0 = 0;
  private seen1 = 0;
  private sS0 = -1;
  private sH0 = -1;
  private sF0 = -1;
  private sR0 = -1;
  private sS1 = -1;
  private sH1 = -1;
  private sF1 = -1;
  private sR1 = -1;
  private zeroWin0 = 0;
  private zeroWin1 = 0;

  /** Whether `update` tracks where a reused 4-tuple's next connection begins. */
  private readonly split: boolean;
  private cState = C_NEW;
  private cBits = 0;
  private cIsn0 = 0;
  private cIsn1 = 0;

  /**
   * `history`: MAX_HISTORY zeroed bytes at an offset of a shared chunk (see FlowStore). `split`:
   * report connection boundaries from `update` (runs without lib/tcp, which splits them itself).
   */
  constructor(history: [Uint8Array, number] = [new Uint8Array(MAX_HISTORY), 0], split = false) {
    this.hist = history[0];
    this.histOff = history[1];
    this.split = split;
  }

  /**
   * Feeds one segment; `fromOrig` tells the direction. With `split`, returns true when the segment
   * begins a new connection on the 4-tuple (conversation tables are per connection, as tshark's).
   */
  update(fromOrig: boolean, flags: number, seq: number, window: number, payloadLen: number): boolean {
    const dir = fromOrig ? 0 : 1;
    const syn = (flags & TcpFlag.SYN) !== 0, ack = (flags & TcpFlag.ACK) !== 0;
    const fin = (flags & TcpFlag.FIN) !== 0, rst = (flags & TcpFlag.RST) !== 0;
    const fresh = this.split && this.boundary(dir, syn, ack, fin, rst, seq, payloadLen);
    if (fromOrig) this.origPayload += payloadLen;
    else this.respPayload += payloadLen;

    // History letters.
    if (syn && (fin || rst)) this.once(dir, H_Q, "q");
    else if (fin && rst) this.once(dir, H_I, "i");
    if (syn && !ack) this.onSeq(dir, 0, seq, H_S, "s");
    if (syn && ack) this.onSeq(dir, 1, seq, H_H, "h");
    if (fin) this.onSeq(dir, 2, seq, H_F, "f");
    if (rst) this.onSeq(dir, 3, seq, H_R, "r");
    if (payloadLen > 0) this.once(dir, H_D, "d");
    else if (ack && !syn && !fin && !rst) this.once(dir, H_A, "a");
    if (window === 0 && !rst && !syn) {
      // Zeek logs 'w' logarithmically: the 1st, 10th, 100th ... zero-window segment.
      const n = dir === 0 ? ++this.zeroWin0 : ++this.zeroWin1;
      if (n === 1 || n === 10 || n === 100 || n === 1000 || n === 10000) this.letter(dir, "w");
    }

    // Endpoint states.
    const me = fromOrig ? this.origState : this.respState;
    const peer = fromOrig ? this.respState : this.origState;
    let next = me, nextPeer = peer;
    if (rst) next = S.RESET;
    else if (fin) next = S.CLOSED;
    else if (syn && !ack) {
      if (me === S.INACTIVE) next = S.SYN_SENT;
    } else if (syn && ack) {
      if (peer === S.SYN_SENT) next = nextPeer = S.ESTABLISHED;
      else if (me === S.INACTIVE) next = S.SYN_ACK_SENT;
    } else {
      if (me === S.INACTIVE) next = S.PARTIAL;
      else if (me === S.SYN_SENT && peer === S.SYN_ACK_SENT) next = nextPeer = S.ESTABLISHED;
      else if (me === S.SYN_ACK_SENT && peer === S.PARTIAL) next = S.ESTABLISHED;
    }
    if (fromOrig) {
      this.origState = next;
      this.respState = nextPeer;
    } else {
      this.respState = next;
      this.origState = nextPeer;
    }
    return fresh;
  }

  /**
   * lib/tcp's rule for a new connection on a reused 4-tuple (TcpStream.isNewConnection) and its
   * state machine, on flags, sequence numbers and whether payload was seen (lib/tcp looks at bytes
   * delivered in order, which differs only when no byte of a connection ever was).
   */
  private boundary(
    dir: number,
    syn: boolean,
    ack: boolean,
    fin: boolean,
    rst: boolean,
    seq: number,
    payloadLen: number,
  ): boolean {
    let fresh = false;
    if (syn && !ack && this.newConnection(dir, seq)) {
      this.cState = C_NEW;
      this.cBits = 0;
      fresh = true;
    }
    if (syn) {
      const both = (C_SYN_SEEN | C_STARTED) << dir;
      if ((this.cBits & both) !== both) {
        if (dir === 0) this.cIsn0 = seq;
        else this.cIsn1 = seq;
        this.cBits |= both;
      }
      if (ack) {
        if (this.cState < C_SYN_RECEIVED) this.cState = C_SYN_RECEIVED;
      } else if (this.cState === C_NEW) this.cState = C_SYN_SENT;
    } else if (ack && this.cState === C_SYN_RECEIVED) this.cState = C_ESTABLISHED;
    if (payloadLen > 0) {
      this.cBits |= (C_STARTED | C_DATA) << dir;
      if (this.cState === C_NEW) this.cState = C_MIDSTREAM;
      else if (this.cState === C_SYN_SENT) this.cState = C_ESTABLISHED;
    }
    if (fin && (this.cBits & (C_FIN_SEEN << dir)) === 0) {
      this.cBits |= C_FIN_SEEN << dir;
      if (this.cState !== C_RESET) {
        this.cState = (this.cBits & (C_FIN_SEEN << (dir ^ 1))) !== 0 ? C_CLOSED : C_CLOSING;
      }
    }
    if (rst) this.cState = C_RESET;
    return fresh;
  }

  private newConnection(dir: number, seq: number): boolean {
    if (this.cState === C_CLOSED || this.cState === C_RESET) return true;
    const b = this.cBits, data = (b & (C_DATA | (C_DATA << 1))) !== 0;
    if ((b & (C_SYN_SEEN << dir)) === 0) return (b & (C_STARTED << dir)) !== 0 && data;
    return seq !== (dir === 0 ? this.cIsn0 : this.cIsn1) && (data || this.cState === C_CLOSING);
  }

  /** Zeek's conn_state for this connection as seen so far. */
  connState(): string {
    const os = this.origState, rs = this.respState;
    const oInactive = os === S.INACTIVE || os === S.PARTIAL;
    const rInactive = rs === S.INACTIVE || rs === S.PARTIAL;
    if (rs === S.RESET) {
      if (
        os === S.SYN_SENT || os === S.SYN_ACK_SENT ||
        (os === S.RESET && this.origPayload === 0 && this.respPayload === 0)
      ) {
        return "REJ";
      }
      return oInactive ? "RSTRH" : "RSTR";
    }
    if (os === S.RESET) {
      if (rInactive) return /^\^?S[^HAFGIQ]*R/.test(this.history) ? "RSTOS0" : "OTH";
      return "RSTO";
    }
    if (rs === S.CLOSED && os === S.CLOSED) return "SF";
    if (os === S.CLOSED) return rInactive ? "SH" : "S2";
    if (rs === S.CLOSED) return oInactive ? "SHR" : "S3";
    if (os === S.SYN_SENT && rs === S.INACTIVE) return "S0";
    if (os === S.ESTABLISHED && rs === S.ESTABLISHED) return "S1";
    return "OTH";
  }

  /** Zeek's history letters (originator upper case, responder lower case). */
  get history(): string {
    // At most MAX_HISTORY ASCII codes: fromCharCode beats a TextDecoder call per flow.
    return this.histLen === 0 ? "" : String.fromCharCode.apply(
      null,
      this.hist.subarray(this.histOff, this.histOff + this.histLen) as unknown as number[],
    );
  }

  /** Appends a letter chosen by another component (lib/tcp: t, g, c); `l` is one lower-case letter. */
  letter(dir: number, l: string): void {
    // Bounded: a flood of RSTs with changing sequence numbers must not grow memory.
    if (this.histLen < MAX_HISTORY) {
      this.hist[this.histOff + this.histLen++] = l.charCodeAt(0) - (dir === 0 ? 32 : 0);
    }
  }

  private once(dir: number, bit: number, l: string): void {
    const seen = dir === 0 ? this.seen0 : this.seen1;
    if ((seen & bit) !== 0) return;
    if (dir === 0) this.seen0 = seen | bit;
    else this.seen1 = seen | bit;
    this.letter(dir, l);
  }

  /** s/h/f/r: recorded again only when the sequence number changes. */
  private onSeq(dir: number, slot: number, seq: number, bit: number, l: string): void {
    const seen = dir === 0 ? this.seen0 : this.seen1;
    const last = dir === 0
      ? (slot === 0 ? this.sS0 : slot === 1 ? this.sH0 : slot === 2 ? this.sF0 : this.sR0)
      : (slot === 0 ? this.sS1 : slot === 1 ? this.sH1 : slot === 2 ? this.sF1 : this.sR1);
    if ((seen & bit) !== 0 && last === seq) return;
    if (dir === 0) {
      this.seen0 = seen | bit;
      if (slot === 0) this.sS0 = seq;
      else if (slot === 1) this.sH0 = seq;
      else if (slot === 2) this.sF0 = seq;
      else this.sR0 = seq;
    } else {
      this.seen1 = seen | bit;
      if (slot === 0) this.sS1 = seq;
      else if (slot === 1) this.sH1 = seq;
      else if (slot === 2) this.sF1 = seq;
      else this.sR1 = seq;
    }
    this.letter(dir, l);
  }
}

/** Zeek's UDP conn_state: SF both sides sent, S0 originator only, SHR responder only. */
export function udpConnState(origPackets: number, respPackets: number): string {
  if (origPackets > 0) return respPackets > 0 ? "SF" : "S0";
  return respPackets > 0 ? "SHR" : "OTH";
}
