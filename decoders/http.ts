/**
 * HTTP/1.x over TCP, decoded from reassembled streams (lib/tcp feeds `stream`). Recognised by
 * content on any port: a request line with a known method or a status line in a direction's first
 * bytes. Requests and responses are paired in order (pipelining, keep-alive), 1xx interim
 * responses do not consume a request, HEAD/204/304 responses have no body. Each message is counted
 * as a packet type ("GET request", "200 response") on the segment that completes it, as tshark does.
 */
import type { Packet } from "../lib/packet/packet.ts";
import { type Decoder, NO_PDU, type Probe, type StreamInput } from "./decoder.ts";
import {
  HttpDirParser,
  type HttpDirParser as Parser,
  type HttpEvents,
  type HttpHead,
} from "./http_parser.ts";

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

class DirEvents implements HttpEvents {
  constructor(private readonly s: HttpState, private readonly dir: number) {}
  head(h: HttpHead, t: number): boolean {
    return this.s.onHead(this.dir, h, t);
  }
  body(b: Uint8Array, off: number, len: number): void {
    const h = this.s.sinkHandle[this.dir];
    if (h !== null) this.s.dec.bodySink!.data(h, b, off, len);
  }
  end(bodyBytes: number, t: number, complete: boolean): void {
    this.s.onEnd(this.dir, bodyBytes, t, complete);
  }
}

export class HttpState {
  readonly parsers: [Parser, Parser];
  readonly transactions: HttpTransaction[] = [];
  dropped = 0;
  /** Transactions ended (kept or not). */
  finished = 0;
  requests = 0;
  responses = 0;
  conn = 0;
  /** Requests waiting for their response, oldest first. */
  private waiting: HttpTransaction[] = [];
  private readonly cur: [HttpTransaction | null, HttpTransaction | null] = [null, null];
  private readonly curType = [-1, -1];
  private readonly curIsResponse = [false, false];
  readonly sinkHandle: [unknown, unknown] = [null, null];
  /** Packet types of messages completed since the last `decode`. */
  private readonly pdus = new Int32Array(PDU_QUEUE);
  private pduCount = 0;
  private pduRead = 0;

  constructor(readonly dec: HttpDecoder) {
    this.parsers = [new HttpDirParser(new DirEvents(this, 0)), new HttpDirParser(new DirEvents(this, 1))];
  }

  onHead(dir: number, h: HttpHead, _t: number): boolean {
    const headerBytes = h.headerBytes;
    if (!h.isResponse) {
      this.requests++;
      const tx: HttpTransaction = {
        conn: this.conn,
        method: h.method,
        host: h.host,
        uri: h.uri,
        version: versionString(h.version),
        status: null,
        interim: NO_INTERIM,
        reqHeaderBytes: headerBytes,
        reqBodyBytes: 0,
        respHeaderBytes: 0,
        respBodyBytes: 0,
        contentType: "",
        contentEncoding: "",
        reqStart: h.startT,
        reqEnd: null,
        respStart: null,
        respEnd: null,
        complete: false,
        reqComplete: false,
        respComplete: false,
      };
      this.waiting.push(tx);
      this.begin(dir, tx, false, this.dec.requestType(h.method));
      if (h.version === 9) {
        // HTTP/0.9: the answer is the raw document up to the close, without a status line.
        this.waiting.pop();
        const o = dir ^ 1;
        this.cur[o] = tx;
        this.curType[o] = -1;
        this.curIsResponse[o] = true;
        tx.respComplete = false;
        this.parsers[o].rawBody();
      }
      return false;
    }
    this.responses++;
    const type = this.dec.responseType(h.status);
    if (h.status >= 100 && h.status < 200 && h.status !== 101) {
      const tx = this.waiting[0];
      if (tx !== undefined) {
        if (tx.interim === NO_INTERIM) tx.interim = [];
        tx.interim.push(h.status);
        tx.respStart ??= h.startT;
      }
      this.cur[dir] = null;
      this.curType[dir] = type;
      this.curIsResponse[dir] = true;
      return true;
    }
    let tx = this.waiting.shift();
    if (tx === undefined) {
      // A response without its request (capture started mid-connection).
      tx = {
        conn: this.conn,
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
    tx.status = h.status;
    tx.respHeaderBytes = headerBytes;
    tx.respStart ??= h.startT;
    tx.contentType = h.contentType;
    tx.contentEncoding = h.contentEncoding;
    this.begin(dir, tx, true, type);
    return tx.method === "HEAD" || h.status === 204 || h.status === 304 || h.status === 101;
  }

  private begin(dir: number, tx: HttpTransaction, response: boolean, type: number): void {
    this.cur[dir] = tx;
    this.curType[dir] = type;
    this.curIsResponse[dir] = response;
    const sink = this.dec.bodySink;
    if (sink !== null) {
      const old = this.sinkHandle[dir];
      if (old !== null) sink.end(old, false);
      this.sinkHandle[dir] = sink.begin(this, tx, response);
    }
  }

  onEnd(dir: number, bodyBytes: number, t: number, complete: boolean): void {
    const h = this.sinkHandle[dir];
    if (h !== null) {
      this.sinkHandle[dir] = null;
      this.dec.bodySink!.end(h, complete);
    }
    const type = this.curType[dir];
    if (complete && type >= 0 && this.pduCount < PDU_QUEUE) this.pdus[this.pduCount++] = type;
    this.curType[dir] = -1;
    const tx = this.cur[dir];
    this.cur[dir] = null;
    if (tx === null) return;
    if (!this.curIsResponse[dir]) {
      tx.reqBodyBytes = bodyBytes;
      tx.reqEnd = t;
      tx.reqComplete = complete;
      return;
    }
    tx.respBodyBytes = bodyBytes;
    tx.respEnd = t;
    tx.respComplete = complete;
    tx.complete = complete && tx.reqComplete;
    this.keep(tx);
  }

  private keep(tx: HttpTransaction): void {
    this.finished++;
    if (!this.dec.keepTransactions) return;
    if (this.transactions.length < MAX_TX_PER_FLOW) this.transactions.push(tx);
    else this.dropped++;
  }

  /** Next completed message's packet type, or -1. */
  popPdu(): number {
    if (this.pduRead >= this.pduCount) {
      this.pduRead = this.pduCount = 0;
      return -1;
    }
    return this.pdus[this.pduRead++];
  }

  /** The connection ended: close-delimited bodies end; unanswered requests are kept. */
  endConnection(t: number): void {
    this.parsers[0].close(t);
    this.parsers[1].close(t);
    for (const tx of this.waiting) this.keep(tx);
    this.waiting = [];
    this.conn++;
  }
}

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
    s.parsers[fromOrig ? 0 : 1].data(b, off, len, t);
  },
  gap(s, fromOrig, len, t) {
    s.parsers[fromOrig ? 0 : 1].gap(len, t);
  },
  end(s, t) {
    s.endConnection(t);
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
      malformedLines: s.parsers[0].malformed + s.parsers[1].malformed,
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
