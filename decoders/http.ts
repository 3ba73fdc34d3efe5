/**
 * HTTP/1.x over TCP, decoded from reassembled streams (lib/tcp feeds `stream`). Recognised by
 * content on any port: a request line with a known method or a status line in a direction's first
 * bytes. Requests and responses are paired in order (pipelining, keep-alive), 1xx interim
 * responses do not consume a request, HEAD/204/304 responses have no body. Each message is counted
 * as a packet type ("GET request", "200 response") on the segment that completes it, as tshark does.
 */
import type { Packet } from "../lib/packet/packet.ts";
import { type Decoder, NO_PDU, type Probe, type StreamInput } from "./decoder.ts";
import { HttpDirParser, type HttpEvents, type HttpHead } from "./http_parser.ts";

type Parser = HttpDirParser;

export interface HttpTransaction {
  /** Ordinal of the TCP connection within its flow (0 unless the 4-tuple was reused). */
  conn: number;
  method: string | null;
  host: string;
  uri: string;
  version: string;
  status: number | null;
  /** Status codes of 1xx interim responses before the final one. */
  interim: number[];
  reqHeaderBytes: number;
  reqBodyBytes: number;
  respHeaderBytes: number;
  respBodyBytes: number;
  contentType: string;
  contentEncoding: string;
  /** Times, seconds from the capture's first packet (null when not seen). */
  reqStart: number | null;
  reqEnd: number | null;
  respStart: number | null;
  respEnd: number | null;
  /** Both messages were seen whole (no gap, not cut by the end of the stream). */
  complete: boolean;
  /** The request / the response was seen whole. */
  reqComplete: boolean;
  respComplete: boolean;
}

/** Receives message bodies (for --extract-http); `begin` returns the handle of one body. */
export interface HttpBodySink {
  begin(state: HttpState, tx: HttpTransaction, response: boolean): unknown;
  data(handle: unknown, b: Uint8Array, off: number, len: number): void;
  end(handle: unknown, complete: boolean): void;
}

/** Transactions kept per flow; more are counted in `dropped`. */
export const MAX_TX_PER_FLOW = 10000;
const PDU_QUEUE = 16;
/** Idle connection parsers and spare transactions kept for reuse (more are left to the GC). */
const POOL_MAX = 4096;

/** One direction of a live connection: its parser and the message it is in. */
class HttpDir implements HttpEvents {
  readonly parser: Parser;
  /** The transaction the current message belongs to (null: none, e.g. a 1xx response). */
  cur: HttpTransaction | null = null;
  curType = -1;
  curIsResponse = false;
  sinkHandle: unknown = null;

  constructor(private readonly c: HttpConn, private readonly dir: number) {
    this.parser = new HttpDirParser(this);
  }
  head(h: HttpHead, t: number): boolean {
    return this.c.onHead(this.dir, h, t);
  }
  body(b: Uint8Array, off: number, len: number): void {
    const h = this.sinkHandle;
    if (h !== null) this.c.dec.bodySink!.data(h, b, off, len);
  }
  end(bodyBytes: number, t: number, complete: boolean): void {
    this.c.onEnd(this.dir, bodyBytes, t, complete);
  }
}

/**
 * What a connection needs while it carries data: both parsers (with their line buffers and
 * interned strings), the messages in progress and the requests waiting for their response. Taken
 * from the decoder's pool on a connection's first bytes and given back when it ends, so a finished
 * connection keeps only the counters of its HttpState.
 */
class HttpConn {
  state!: HttpState;
  readonly d0: HttpDir;
  readonly d1: HttpDir;
  /**
   * Someone reads the transactions (kept for the report, or handed to a body sink). Off, only the
   * counts matter: the strings and times are not filled in.
   */
  full = true;
  /** Requests waiting for their response, oldest first: waiting[waitHead, waitTail). */
  private readonly waiting: HttpTransaction[] = [];
  private waitHead = 0;
  private waitTail = 0;

  constructor(readonly dec: HttpDecoder) {
    this.d0 = new HttpDir(this, 0);
    this.d1 = new HttpDir(this, 1);
  }

  onHead(dir: number, h: HttpHead, _t: number): boolean {
    const st = this.state, dec = this.dec;
    const headerBytes = h.headerBytes;
    if (!h.isResponse) {
      st.requests++;
      const tx = dec.newTx(st.conn);
      tx.method = h.method;
      if (this.full) {
        tx.host = h.host;
        tx.uri = h.uri;
        tx.version = versionString(h.version);
        tx.reqHeaderBytes = headerBytes;
        tx.reqStart = h.startT;
      }
      this.begin(dir, tx, false, dec.requestType(h.method));
      if (h.version === 9) {
        // HTTP/0.9: the answer is the raw document up to the close, without a status line.
        const o = dir === 0 ? this.d1 : this.d0;
        o.cur = tx;
        o.curType = -1;
        o.curIsResponse = true;
        tx.respComplete = false;
        o.parser.rawBody();
      } else this.waiting[this.waitTail++] = tx;
      return false;
    }
    st.responses++;
    const type = dec.responseType(h.status);
    const d = dir === 0 ? this.d0 : this.d1;
    if (h.status >= 100 && h.status < 200 && h.status !== 101) {
      if (this.waitHead < this.waitTail && this.full) {
        const tx = this.waiting[this.waitHead];
        if (tx.interim === NO_INTERIM) tx.interim = [];
        tx.interim.push(h.status);
        tx.respStart ??= h.startT;
      }
      d.cur = null;
      d.curType = type;
      d.curIsResponse = true;
      return true;
    }
    let tx: HttpTransaction;
    if (this.waitHead < this.waitTail) {
      tx = this.waiting[this.waitHead];
      this.waiting[this.waitHead++] = NO_TX;
      if (this.waitHead === this.waitTail) this.waitHead = this.waitTail = 0;
    } else tx = dec.newTx(st.conn); // a response without its request (capture started mid-connection)
    if (this.full) {
      tx.status = h.status;
      tx.respHeaderBytes = headerBytes;
      tx.respStart ??= h.startT;
      tx.contentType = h.contentType;
      tx.contentEncoding = h.contentEncoding;
    }
    this.begin(dir, tx, true, type);
    return tx.method === "HEAD" || h.status === 204 || h.status === 304 || h.status === 101;
  }

  private begin(dir: number, tx: HttpTransaction, response: boolean, type: number): void {
    const d = dir === 0 ? this.d0 : this.d1;
    d.cur = tx;
    d.curType = type;
    d.curIsResponse = response;
    const sink = this.dec.bodySink;
    if (sink !== null) {
      const old = d.sinkHandle;
      if (old !== null) sink.end(old, false);
      d.sinkHandle = sink.begin(this.state, tx, response);
    }
  }

  onEnd(dir: number, bodyBytes: number, t: number, complete: boolean): void {
    const d = dir === 0 ? this.d0 : this.d1;
    const h = d.sinkHandle;
    if (h !== null) {
      d.sinkHandle = null;
      this.dec.bodySink!.end(h, complete);
    }
    const type = d.curType;
    if (complete && type >= 0) this.state.pushPdu(type);
    d.curType = -1;
    const tx = d.cur;
    d.cur = null;
    if (tx === null) return;
    if (!d.curIsResponse) {
      if (this.full) {
        tx.reqBodyBytes = bodyBytes;
        tx.reqEnd = t;
      }
      tx.reqComplete = complete;
      return;
    }
    if (this.full) {
      tx.respBodyBytes = bodyBytes;
      tx.respEnd = t;
    }
    tx.respComplete = complete;
    tx.complete = complete && tx.reqComplete;
    this.state.keep(tx);
  }

  /** The connection ended: close-delimited bodies end; unanswered requests are kept. */
  close(t: number): void {
    this.d0.parser.close(t);
    this.d1.parser.close(t);
    const w = this.waiting;
    for (let i = this.waitHead; i < this.waitTail; i++) {
      const tx = w[i];
      w[i] = NO_TX;
      this.state.keep(tx);
    }
    this.waitHead = this.waitTail = 0;
  }

  /** Nothing of the ended connection is left in flight: the parsers can serve another connection. */
  get idle(): boolean {
    return this.d0.parser.idle && this.d1.parser.idle;
  }
}

export class HttpState {
  // Per-segment and per-message fields first (V8 lays them out in declaration order).
  // The live connection's parsers, reached from here directly on every segment.
  private p0: Parser | null = null;
  private p1: Parser | null = null;
  /**
   * Packet types of messages completed since the last `decode`: nearly always one or two, kept in
   * fields; more go to an array made on first use.
   */
  private pduCount = 0;
  private pduRead = 0;
  private pdu0 = 0;
  private pdu1 = 0;
  requests = 0;
  responses = 0;
  /** Transactions ended (kept or not). */
  finished = 0;
  conn = 0;
  private pduMore: number[] | null = null;
  private txs: HttpTransaction[] = NO_TX_LIST;
  dropped = 0;
  /** Malformed lines of the connections already ended. */
  private malformedDone = 0;
  /** The connection carrying data now (null between connections). */
  live: HttpConn | null = null;

  constructor(readonly dec: HttpDecoder) {}

  /** Transactions kept (with `keepTransactions`), in the order they ended. */
  get transactions(): readonly HttpTransaction[] {
    return this.txs;
  }

  /** Lines that did not parse, both directions, every connection. */
  get malformed(): number {
    const c = this.live;
    return this.malformedDone + (c === null ? 0 : c.d0.parser.malformed + c.d1.parser.malformed);
  }

  /** The live connection's parser of one direction (taking a connection from the pool first). */
  parser(fromOrig: boolean): Parser {
    const p = fromOrig ? this.p0 : this.p1;
    if (p !== null) return p;
    const c = this.live = this.dec.takeConn(this);
    this.p0 = c.d0.parser;
    this.p1 = c.d1.parser;
    return fromOrig ? this.p0 : this.p1;
  }

  pushPdu(type: number): void {
    const n = this.pduCount;
    if (n >= PDU_QUEUE) return;
    if (n === 0) this.pdu0 = type;
    else if (n === 1) this.pdu1 = type;
    else (this.pduMore ??= []).push(type);
    this.pduCount = n + 1;
  }

  keep(tx: HttpTransaction): void {
    this.finished++;
    const dec = this.dec;
    if (!dec.keepTransactions) {
      if (dec.bodySink === null) dec.recycle(tx);
      return;
    }
    if (this.txs.length < MAX_TX_PER_FLOW) {
      if (this.txs === NO_TX_LIST) this.txs = [];
      this.txs.push(tx);
    } else this.dropped++;
  }

  /** Next completed message's packet type, or -1. */
  popPdu(): number {
    const r = this.pduRead;
    if (r >= this.pduCount) {
      this.pduRead = this.pduCount = 0;
      if (this.pduMore !== null) this.pduMore.length = 0;
      return -1;
    }
    this.pduRead = r + 1;
    return r === 0 ? this.pdu0 : r === 1 ? this.pdu1 : this.pduMore![r - 2];
  }

  /** The connection ended: close-delimited bodies end; unanswered requests are kept. */
  endConnection(t: number, next = this.conn + 1): void {
    const c = this.live;
    if (c !== null) {
      c.close(t);
      // A partial line left in a parser would continue if the connection came back: keep it then.
      if (c.idle) {
        this.malformedDone += c.d0.parser.malformed + c.d1.parser.malformed;
        this.live = this.p0 = this.p1 = null;
        this.dec.giveConn(c);
      }
    }
    // Set, not counted: a connection revived by a late ACK ends twice, and counting made later
    // transactions point past the flow's connection list (stream: null in the report).
    this.conn = next;
  }
}

/** Placeholder for a slot of the waiting queue already answered. */
const NO_TX = {} as HttpTransaction;
/** Shared empty list of a state that kept no transaction yet (replaced on the first one). */
const NO_TX_LIST: HttpTransaction[] = [];

/** Shared empty list: most transactions have no 1xx response (replaced on the first one). */
const NO_INTERIM: number[] = [];

function versionString(v: number): string {
  return v === 11
    ? "HTTP/1.1"
    : v === 10
    ? "HTTP/1.0"
    : v === 9
    ? "HTTP/0.9"
    : `HTTP/${Math.floor(v / 10)}.${v % 10}`;
}

const METHODS = [
  "GET",
  "POST",
  "HEAD",
  "PUT",
  "DELETE",
  "OPTIONS",
  "CONNECT",
  "TRACE",
  "PATCH",
  "PROPFIND",
  "PROPPATCH",
  "MKCOL",
  "COPY",
  "MOVE",
  "LOCK",
  "UNLOCK",
  "SEARCH",
  "REPORT",
].map((m) => Uint8Array.from(m + " ", (c) => c.charCodeAt(0)));

const streamInput: StreamInput<HttpState> = {
  data(s, fromOrig, b, off, len, t) {
    s.parser(fromOrig).data(b, off, len, t);
  },
  gap(s, fromOrig, len, t) {
    s.parser(fromOrig).gap(len, t);
  },
  end(s, t, next) {
    s.endConnection(t, next);
  },
};

export class HttpDecoder implements Decoder<HttpState> {
  readonly name = "HTTP";
  readonly phsName = "http";
  readonly label = "HTTP/1.x";
  readonly carriers = ["tcp"] as const;
  readonly ports = [80, 8080, 8000, 8008, 3128] as const;
  readonly etherTypes = [] as const;
  readonly packetTypes: string[] = [];
  readonly stream: StreamInput<HttpState> = streamInput;
  /** Set to save message bodies (--extract-http). */
  bodySink: HttpBodySink | null = null;
  /**
   * Keep every transaction for the report (--http). Off, only counts are kept: a capture with
   * hundreds of thousands of requests then holds no per-request objects.
   */
  keepTransactions = true;
  private readonly typeIndex = new Map<string, number>();
  private readonly conns: HttpConn[] = [];
  private readonly spareTx: HttpTransaction[] = [];
  private readonly byMethod = new Map<string, number>();
  private readonly byStatus = new Int32Array(1000).fill(-1);

  requestType(method: string): number {
    let i = this.byMethod.get(method);
    if (i === undefined) this.byMethod.set(method, i = this.typeOf(`${method} request`));
    return i;
  }

  responseType(status: number): number {
    let i = this.byStatus[status];
    if (i < 0) this.byStatus[status] = i = this.typeOf(`${status} response`);
    return i;
  }

  /** A connection's parsers for `s`, reused from an ended connection when one is free. */
  takeConn(s: HttpState): HttpConn {
    const c = this.conns.pop() ?? new HttpConn(this);
    c.state = s;
    const strings = this.keepTransactions || this.bodySink !== null;
    c.full = strings;
    c.d0.parser.reset();
    c.d1.parser.reset();
    c.d0.parser.wantStrings = c.d1.parser.wantStrings = strings;
    c.d0.parser.wantBody = c.d1.parser.wantBody = this.bodySink !== null;
    return c;
  }

  giveConn(c: HttpConn): void {
    if (this.conns.length < POOL_MAX) this.conns.push(c);
  }

  /** A blank transaction (a spare one when transactions are not kept). */
  newTx(conn: number): HttpTransaction {
    const tx = this.spareTx.pop();
    if (tx === undefined) {
      return {
        conn,
        method: null,
        host: "",
        uri: "",
        version: "",
        status: null,
        interim: NO_INTERIM,
        reqHeaderBytes: 0,
        reqBodyBytes: 0,
        respHeaderBytes: 0,
        respBodyBytes: 0,
        contentType: "",
        contentEncoding: "",
        reqStart: null,
        reqEnd: null,
        respStart: null,
        respEnd: null,
        complete: false,
        reqComplete: false,
        respComplete: false,
      };
    }
    tx.conn = conn;
    tx.method = null;
    tx.host =
      tx.uri =
      tx.version =
      tx.contentType =
      tx.contentEncoding =
        "";
    tx.status = null;
    tx.interim = NO_INTERIM;
    tx.reqHeaderBytes =
      tx.reqBodyBytes =
      tx.respHeaderBytes =
      tx.respBodyBytes =
        0;
    tx.reqStart =
      tx.reqEnd =
      tx.respStart =
      tx.respEnd =
        null;
    tx.complete = tx.reqComplete = tx.respComplete = false;
    return tx;
  }

  /** A finished transaction nobody keeps. */
  recycle(tx: HttpTransaction): void {
    if (this.spareTx.length < POOL_MAX) this.spareTx.push(tx);
  }

  /** Index of a packet type name, added on first use. */
  typeOf(name: string): number {
    let i = this.typeIndex.get(name);
    if (i === undefined) {
      i = this.packetTypes.length;
      this.packetTypes.push(name);
      this.typeIndex.set(name, i);
    }
    return i;
  }

  probe(p: Packet): Probe | null {
    const b = p.data, o = p.payloadOff, n = p.payloadLen;
    if (o < 0 || n < 7) return null;
    if (
      n >= 12 && httpVersionAt(b, o) && b[o + 8] === 32 && isDigit(b[o + 9]) && isDigit(b[o + 10]) &&
      isDigit(b[o + 11])
    ) {
      return { confidence: 0.95, evidence: "structure", detail: "status line HTTP/1.x NNN" };
    }
    for (const m of METHODS) {
      if (!startsWith(b, o, n, m)) continue;
      // A whole request line in this segment: METHOD SP target SP HTTP/x.y CRLF.
      const lim = o + (n < 4096 ? n : 4096);
      let lf = o + m.length;
      while (lf < lim && b[lf] !== 10) lf++;
      if (lf < lim) {
        const e = b[lf - 1] === 13 ? lf - 1 : lf;
        if (e - 9 > o + m.length && b[e - 9] === 32 && httpVersionAt(b, e - 8)) {
          return { confidence: 0.95, evidence: "structure", detail: "request line with HTTP/1.x" };
        }
        // HTTP/0.9 simple request: "GET /path" CRLF and nothing more in the segment.
        const rest = o + n - 1 - lf;
        if (
          m.length === 4 && b[o + 4] === 47 &&
          (rest === 0 || (rest === 2 && b[lf + 1] === 13 && b[lf + 2] === 10))
        ) {
          let sp = o + 4;
          while (sp < e && b[sp] !== 32) sp++;
          if (sp >= e - 1) {
            return { confidence: 0.9, evidence: "structure", detail: "HTTP/0.9 simple request" };
          }
        }
        return null;
      }
      const c = b[o + m.length];
      if (c === 47 || c === 42 || c === 104) {
        return {
          confidence: 0.6,
          evidence: "structure",
          detail: "method and target (request line longer than the segment)",
        };
      }
      return null;
    }
    return null;
  }

  createState(): HttpState {
    return new HttpState(this);
  }

  decode(_p: Packet, s: HttpState): number {
    const t = s.popPdu();
    return t < 0 ? NO_PDU : t;
  }

  nextPdu(s: HttpState): number {
    return s.popPdu();
  }

  summarize(s: HttpState): Record<string, unknown> {
    return {
      requests: s.requests,
      responses: s.responses,
      transactions: s.finished,
      malformedLines: s.malformed,
    };
  }
}

function httpVersionAt(b: Uint8Array, o: number): boolean {
  return b[o] === 72 && b[o + 1] === 84 && b[o + 2] === 84 && b[o + 3] === 80 && b[o + 4] === 47 &&
    b[o + 5] === 49 && b[o + 6] === 46 && (b[o + 7] === 48 || b[o + 7] === 49);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function startsWith(b: Uint8Array, o: number, n: number, m: Uint8Array): boolean {
  if (n < m.length) return false;
  for (let k = 0; k < m.length; k++) if (b[o + k] !== m[k]) return false;
  return true;
}

export function httpDecoder(): HttpDecoder {
  return new HttpDecoder();
}
