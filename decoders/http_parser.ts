/**
 * Incremental HTTP/1.x message parser for one direction of a reassembled TCP stream. It takes the
 * stream in chunks of any size, finds message boundaries (Content-Length, chunked, close-delimited,
 * bodyless) and reports heads, body bytes and message ends to its owner. Lines are gathered in one
 * reused buffer; bodies are skipped by arithmetic, never copied. A parser can be reused for another
 * stream after `reset` (decoders/http.ts pools them across connections).
 */

/** What a parsed head says; one reused object per parser (copy what you keep). */
export class HttpHead {
  isResponse = false;
  method = "";
  /** The request target; "" when the parser's `wantStrings` is off. */
  uri = "";
  /** 10 for HTTP/1.0, 11 for HTTP/1.1. */
  version = 11;
  status = 0;
  /** Host, Content-Encoding (lower case) and Content-Type: "" when `wantStrings` is off. */
  host = "";
  contentLength = -1;
  chunked = false;
  contentEncoding = "";
  contentType = "";
  connectionClose = false;
  /** Bytes of the start line and headers, CRLFs included. */
  headerBytes = 0;
  /** Time of the message's first byte. */
  startT = 0;

  reset(): void {
    this.isResponse = false;
    this.method = "";
    this.uri = "";
    this.version = 11;
    this.status = 0;
    this.host = "";
    this.contentLength = -1;
    this.chunked = false;
    this.contentEncoding = "";
    this.contentType = "";
    this.connectionClose = false;
    this.headerBytes = 0;
    this.startT = 0;
  }
}

export interface HttpEvents {
  /** A head is complete. Return true when the message has no body whatever its headers say. */
  head(h: HttpHead, t: number): boolean;
  /** Body bytes (de-chunked). */
  body(b: Uint8Array, off: number, len: number): void;
  /** The message is complete; `complete` is false when a gap or the stream's end cut it. */
  end(bodyBytes: number, t: number, complete: boolean): void;
}

const S_START = 0, S_HEADERS = 1, S_BODY_LEN = 2, S_CHUNK_SIZE = 3, S_CHUNK_DATA = 4;
const S_CHUNK_CRLF = 5, S_TRAILERS = 6, S_BODY_CLOSE = 7, S_RESYNC = 8;

/** Longest start or header line kept; longer lines are counted as malformed and skipped. */
export const MAX_LINE = 16384;

const latin1 = new TextDecoder("latin1");
const EMPTY = new Uint8Array(0);

/**
 * Turns header bytes into a string, reusing the previous string when the bytes repeat (a flow's
 * Host and Content-Type rarely change), so keep-alive traffic decodes few strings.
 */
class Interner {
  // Allocated on first use: most flows use few of their interners.
  private bytes: Uint8Array = EMPTY;
  private len = -1;
  private str = "";
  get(l: Uint8Array, s: number, e: number, lower: boolean): string {
    const n = e - s;
    if (n === this.len) {
      let k = 0;
      while (k < n && this.bytes[k] === l[s + k]) k++;
      if (k === n) return this.str;
    }
    if (n > this.bytes.length) this.bytes = new Uint8Array(n < 32 ? 64 : n * 2);
    for (let k = 0; k < n; k++) this.bytes[k] = l[s + k];
    this.len = n;
    const v = latin1.decode(l.subarray(s, e));
    this.str = lower ? v.toLowerCase() : v;
    return this.str;
  }
}

const KNOWN_METHODS = ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "CONNECT", "TRACE", "PATCH"];

/** The method as a shared constant string when it is a common one. */
function methodString(l: Uint8Array, o: number, k: number): string {
  for (const m of KNOWN_METHODS) {
    if (m.length !== k) continue;
    let i = 0;
    while (i < k && l[o + i] === m.charCodeAt(i)) i++;
    if (i === k) return m;
  }
  return latin1.decode(l.subarray(o, o + k));
}

export class HttpDirParser {
  // Fields in the order a body segment touches them (V8 lays them out in declaration order).
  private state = S_START;
  private remaining = 0;
  private bodyBytes = 0;
  /** Hand body bytes to the owner's `body`; off, bodies are only counted. */
  wantBody = true;
  private lineLen = 0;
  private inMessage = false;
  /** A gap fell inside the current message. */
  private damaged = false;
  /** Grows on demand up to MAX_LINE: most flows never need more than a few hundred bytes. */
  private line: Uint8Array = EMPTY;
  /** The line being parsed: lb[ls, ...) (the packet or ring in place, or `line`). */
  private lb: Uint8Array = this.line;
  private ls = 0;
  private lineOver = false;
  readonly head: HttpHead = new HttpHead();
  private readonly hostStr = new Interner();
  private readonly typeStr = new Interner();
  private readonly encStr = new Interner();
  /** Lines that did not parse (bad start line, overlong line, bad chunk size). */
  malformed = 0;
  messages = 0;
  /**
   * Decode the target and the Host, Content-Type and Content-Encoding values into strings. Owners
   * that only count messages turn this off: then a message costs no string at all.
   */
  wantStrings = true;

  // A parameter property: declaring it as a field and assigning it in the constructor made V8
  // keep some fields out of the object (measured: +95 B per instance for DirReassembler).
  constructor(private readonly ev: HttpEvents) {}

  /** Back to the start of a new stream, keeping the grown line buffer and the interned strings. */
  reset(): void {
    this.state = S_START;
    this.lb = this.line;
    this.ls = 0;
    this.lineLen = 0;
    this.lineOver = false;
    this.remaining = 0;
    this.bodyBytes = 0;
    this.inMessage = false;
    this.damaged = false;
    this.head.reset();
    this.malformed = 0;
    this.messages = 0;
  }

  /** No partial line is pending: after `close`, the parser is as good as a reset one. */
  get idle(): boolean {
    return this.lineLen === 0 && !this.inMessage;
  }

  /** Feeds stream bytes b[off, off+len) that arrived at time t. */
  data(b: Uint8Array, off: number, len: number, t: number): void {
    const end = off + len;
    let i = off;
    while (i < end) {
      const st = this.state;
      if (st === S_BODY_LEN || st === S_CHUNK_DATA) {
        const n = this.remaining < end - i ? this.remaining : end - i;
        if (this.wantBody) this.ev.body(b, i, n);
        this.bodyBytes += n;
        this.remaining -= n;
        i += n;
        if (this.remaining === 0) {
          if (st === S_BODY_LEN) this.finish(t, true);
          else this.state = S_CHUNK_CRLF;
        }
        continue;
      }
      if (st === S_BODY_CLOSE) {
        if (this.wantBody) this.ev.body(b, i, end - i);
        this.bodyBytes += end - i;
        return;
      }
      // Line states: gather up to LF.
      if (st === S_START && this.lineLen === 0 && !this.inMessage) {
        this.head.reset();
        this.head.startT = t;
      }
      // The common case, a line wholly inside this chunk, is parsed in place; only a line split
      // across chunks is gathered into the line buffer.
      let j = b.indexOf(10, i);
      if (j < 0 || j >= end) j = end;
      const take = j - i;
      if (st === S_HEADERS || st === S_START) this.head.headerBytes += take + (j < end ? 1 : 0);
      if (j === end || this.lineLen > 0) {
        if (this.lineLen + take <= MAX_LINE) {
          if (this.lineLen + take > this.line.length) this.growLine(this.lineLen + take);
          this.line.set(b.subarray(i, j), this.lineLen);
        } else this.lineOver = true;
        this.lineLen += take;
        if (j === end) return;
        this.lb = this.line;
        this.ls = 0;
        let n = this.lineLen;
        if (n > MAX_LINE) n = MAX_LINE;
        if (n > 0 && this.line[n - 1] === 13) n--;
        const over = this.lineOver;
        this.lineLen = 0;
        this.lineOver = false;
        i = j + 1;
        this.onLine(n, over, t);
        continue;
      }
      this.lb = b;
      this.ls = i;
      const n = take > 0 && b[j - 1] === 13 ? take - 1 : take;
      i = j + 1;
      this.onLine(n, false, t);
    }
  }

  private growLine(need: number): void {
    let n = this.line.length < 128 ? 256 : this.line.length * 2;
    while (n < need) n *= 2;
    const nl = new Uint8Array(n < MAX_LINE ? n : MAX_LINE);
    nl.set(this.line.subarray(0, this.lineLen));
    this.line = nl;
  }

  /** `len` bytes of the stream were lost. */
  gap(len: number, t: number): void {
    this.damaged = this.inMessage;
    if (this.state === S_BODY_LEN || this.state === S_CHUNK_DATA) {
      if (len < this.remaining) {
        this.remaining -= len;
        this.bodyBytes += len;
        return;
      }
      if (this.state === S_BODY_LEN) {
        this.bodyBytes += this.remaining;
        this.finish(t, false);
        this.state = S_RESYNC;
        return;
      }
    }
    if (this.state === S_BODY_CLOSE) {
      this.bodyBytes += len;
      return;
    }
    if (this.inMessage) this.finish(t, false);
    this.state = S_RESYNC;
    this.lineLen = 0;
  }

  /** The peer sent an HTTP/0.9 request: this direction is one raw body up to the close. */
  rawBody(): void {
    this.inMessage = true;
    this.bodyBytes = 0;
    this.state = S_BODY_CLOSE;
  }

  /** End of the stream: a close-delimited body ends here; anything else was cut short. */
  close(t: number): void {
    if (this.state === S_BODY_CLOSE) this.finish(t, true);
    else if (this.inMessage) this.finish(t, false);
    this.state = S_START;
  }

  /** One line: lb[ls, ls+n) without its CRLF. */
  private onLine(n: number, over: boolean, t: number): void {
    const l = this.lb, o = this.ls;
    switch (this.state) {
      case S_START:
      case S_RESYNC:
        if (n === 0 && !over) return; // CRLFs between messages
        if (!over && this.startLine(n)) {
          this.inMessage = true;
          this.state = S_HEADERS;
          if (this.head.version === 9) this.headersDone(t);
        } else {
          if (this.state === S_START) this.malformed++;
          this.state = S_RESYNC;
          this.head.reset();
        }
        return;
      case S_HEADERS:
        if (n === 0 && !over) {
          this.headersDone(t);
          return;
        }
        if (over) this.malformed++;
        else this.header(n);
        return;
      case S_CHUNK_SIZE: {
        let v = 0, k = 0;
        for (; k < n; k++) {
          const c = l[o + k];
          const d = c >= 48 && c <= 57
            ? c - 48
            : c >= 97 && c <= 102
            ? c - 87
            : c >= 65 && c <= 70
            ? c - 55
            : -1;
          if (d < 0) break;
          v = v * 16 + d;
        }
        if (k === 0 || over || v > Number.MAX_SAFE_INTEGER / 32) {
          this.malformed++;
          this.finish(t, false);
          this.state = S_RESYNC;
          return;
        }
        if (v === 0) this.state = S_TRAILERS;
        else {
          this.remaining = v;
          this.state = S_CHUNK_DATA;
        }
        return;
      }
      case S_CHUNK_CRLF:
        this.state = S_CHUNK_SIZE;
        if (n !== 0) this.malformed++;
        return;
      case S_TRAILERS:
        if (n === 0) this.finish(t, true);
        return;
    }
  }

  private startLine(n: number): boolean {
    const l = this.lb, o = this.ls, h = this.head;
    if (n >= 12 && isHttpVersion(l, o) && l[o + 8] === 32) {
      const s = digits3(l, o + 9);
      if (s < 0 || (n > 12 && l[o + 12] !== 32)) return false;
      h.isResponse = true;
      h.version = (l[o + 5] - 48) * 10 + (l[o + 7] - 48);
      h.status = s;
      return true;
    }
    // METHOD SP target SP HTTP/x.y
    let k = 0;
    while (k < n && k < 24 && isTokenUpper(l[o + k])) k++;
    if (k === 0 || k >= n || l[o + k] !== 32) return false;
    let u = k + 1;
    while (u < n && l[o + u] !== 32) u++;
    if (u === k + 1) return false;
    // HTTP/0.9 ("GET /path"): no version, no headers.
    const v09 = (u === n || (u === n - 1 && l[o + u] === 32)) && k === 3 && l[o] === 71 &&
      l[o + k + 1] === 47;
    if (!v09 && (u + 9 !== n || !isHttpVersion(l, o + u + 1))) return false;
    h.isResponse = false;
    h.method = methodString(l, o, k);
    h.uri = this.wantStrings ? latin1.decode(l.subarray(o + k + 1, o + u)) : "";
    h.version = v09 ? 9 : (l[o + u + 6] - 48) * 10 + (l[o + u + 8] - 48);
    return true;
  }

  private header(n: number): void {
    const l = this.lb, o = this.ls, h = this.head;
    let c = o;
    const end = o + n;
    while (c < end && l[c] !== 58) c++;
    if (c === end) return; // not a header (obsolete folding or junk): ignored like most parsers
    let v = c + 1;
    while (v < end && (l[v] === 32 || l[v] === 9)) v++;
    let e = end;
    while (e > v && (l[e - 1] === 32 || l[e - 1] === 9)) e--;
    c -= o;
    if (nameIs(l, o, c, "content-length")) {
      let x = 0, ok = e > v;
      for (let k = v; k < e; k++) {
        const d = l[k] - 48;
        if (d < 0 || d > 9) {
          ok = false;
          break;
        }
        x = x * 10 + d;
      }
      if (ok && x <= Number.MAX_SAFE_INTEGER) h.contentLength = x;
      else this.malformed++;
    } else if (nameIs(l, o, c, "transfer-encoding")) h.chunked = containsLower(l, v, e, CHUNKED);
    else if (!this.wantStrings) {
      if (nameIs(l, o, c, "connection")) h.connectionClose = containsLower(l, v, e, CLOSE);
    } else if (nameIs(l, o, c, "host")) h.host = this.hostStr.get(l, v, e, false);
    else if (nameIs(l, o, c, "content-encoding")) h.contentEncoding = this.encStr.get(l, v, e, true);
    else if (nameIs(l, o, c, "content-type")) h.contentType = this.typeStr.get(l, v, e, false);
    else if (nameIs(l, o, c, "connection")) h.connectionClose = containsLower(l, v, e, CLOSE);
  }

  private headersDone(t: number): void {
    const h = this.head;
    this.bodyBytes = 0;
    const noBody = this.ev.head(h, t);
    if (noBody) this.finish(t, true);
    else if (h.chunked) this.state = S_CHUNK_SIZE;
    else if (h.contentLength > 0) {
      this.remaining = h.contentLength;
      this.state = S_BODY_LEN;
    } else if (h.contentLength === 0 || !h.isResponse) this.finish(t, true);
    else this.state = S_BODY_CLOSE;
  }

  private finish(t: number, complete: boolean): void {
    if (this.damaged) complete = false;
    this.damaged = false;
    this.inMessage = false;
    this.state = S_START;
    this.messages++;
    this.ev.end(this.bodyBytes, t, complete);
    this.bodyBytes = 0;
  }
}

function isHttpVersion(l: Uint8Array, o: number): boolean {
  return l[o] === 72 && l[o + 1] === 84 && l[o + 2] === 84 && l[o + 3] === 80 && l[o + 4] === 47 &&
    l[o + 5] >= 48 && l[o + 5] <= 57 && l[o + 6] === 46 && l[o + 7] >= 48 && l[o + 7] <= 57;
}

function digits3(l: Uint8Array, o: number): number {
  let v = 0;
  for (let k = o; k < o + 3; k++) {
    const d = l[k] - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

function isTokenUpper(c: number): boolean {
  return (c >= 65 && c <= 90) || c === 45 || c === 95;
}

const CHUNKED = Uint8Array.from("chunked", (c) => c.charCodeAt(0));
const CLOSE = Uint8Array.from("close", (c) => c.charCodeAt(0));

/**
 * Whether l[s, e) contains the lower-case ASCII letters `w` in any case: the same answer as
 * `latin1 decode + toLowerCase() + includes(w)` (no other Latin-1 character lower-cases to ASCII),
 * without making a string.
 */
function containsLower(l: Uint8Array, s: number, e: number, w: Uint8Array): boolean {
  const n = w.length;
  for (let i = s; i + n <= e; i++) {
    let k = 0;
    while (k < n && (l[i + k] | 0x20) === w[k]) k++;
    if (k === n) return true;
  }
  return false;
}

/** Case-insensitive compare of l[o, o+len) with a lower-case ASCII name. */
function nameIs(l: Uint8Array, o: number, len: number, name: string): boolean {
  if (len !== name.length) return false;
  for (let k = 0; k < len; k++) if ((l[o + k] | 0x20) !== name.charCodeAt(k)) return false;
  return true;
}
