import assert from "node:assert/strict";
import { httpDecoder, type HttpState } from "../../decoders/http.ts";
import { NO_PDU } from "../../decoders/decoder.ts";
import { HttpDirParser, MAX_LINE } from "../../decoders/http_parser.ts";
import { Packet } from "../../lib/packet/packet.ts";

const enc = new TextEncoder();

/** Feeds client (c) and server (s) text in the given order, each split into `chunk`-byte pieces. */
function run(steps: [boolean, string | Uint8Array][], chunk = 1 << 20): { s: HttpState; types: string[] } {
  const d = httpDecoder();
  const s = d.createState();
  const types: string[] = [];
  let t = 0;
  for (const [fromClient, data] of steps) {
    const b = typeof data === "string" ? enc.encode(data) : data;
    for (let o = 0; o < b.length; o += chunk) {
      d.stream.data(s, fromClient, b, o, Math.min(chunk, b.length - o), t += 0.01);
      for (let k = s.popPdu(); k >= 0; k = s.popPdu()) types.push(d.packetTypes[k]);
    }
  }
  d.stream.end(s, t += 0.01, 1);
  return { s, types };
}

Deno.test("keep-alive: Content-Length bodies, pairing, sizes and latency", () => {
  const { s, types } = run([
    [true, "GET /a HTTP/1.1\r\nHost: example.com\r\n\r\n"],
    [false, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"],
    [true, "POST /b HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\n\r\nabc"],
    [false, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"],
  ]);
  assert.deepEqual(types, ["GET request", "200 response", "POST request", "404 response"]);
  assert.equal(s.transactions.length, 2);
  const [a, b] = s.transactions;
  assert.equal(a.method, "GET");
  assert.equal(a.host, "example.com");
  assert.equal(a.uri, "/a");
  assert.equal(a.status, 200);
  assert.equal(a.respBodyBytes, 5);
  assert.ok(a.complete);
  assert.ok(a.respStart! > a.reqStart!);
  assert.equal(b.reqBodyBytes, 3);
  assert.equal(b.status, 404);
});

Deno.test("chunked body with extensions and trailers, split at every byte", () => {
  const resp =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n";
  const { s, types } = run([[true, "GET / HTTP/1.1\r\n\r\n"], [false, resp]], 1);
  assert.deepEqual(types, ["GET request", "200 response"]);
  assert.equal(s.transactions[0].respBodyBytes, 15);
  assert.ok(s.transactions[0].complete);
});

Deno.test("pipelining: three requests before any response pair in order", () => {
  const { s } = run([
    [true, "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nHEAD /3 HTTP/1.1\r\n\r\n"],
    [false, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 301 Moved\r\nContent-Length: 0\r\n\r\n"],
    // A HEAD response has no body whatever Content-Length says.
    [false, "HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n"],
  ]);
  assert.deepEqual(s.transactions.map((t) => [t.uri, t.status]), [["/1", 200], ["/2", 301], ["/3", 200]]);
  assert.equal(s.transactions[2].respBodyBytes, 0);
  assert.ok(s.transactions[2].complete);
});

Deno.test("1xx interim responses do not consume the request; 204 and 304 have no body", () => {
  const { s, types } = run([
    [true, "POST /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"],
    [false, "HTTP/1.1 100 Continue\r\n\r\n"],
    [true, "ok"],
    [false, "HTTP/1.1 204 No Content\r\n\r\n"],
    [true, "GET /c HTTP/1.1\r\n\r\n"],
    [false, "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"],
  ]);
  assert.deepEqual(types, ["100 response", "POST request", "204 response", "GET request", "304 response"]);
  assert.deepEqual(s.transactions[0].interim, [100]);
  assert.equal(s.transactions[0].status, 204);
  assert.equal(s.transactions[1].status, 304);
  assert.equal(s.transactions[1].respBodyBytes, 0);
});

Deno.test("close-delimited response ends with the connection", () => {
  const { s, types } = run([
    [true, "GET /old HTTP/1.0\r\n\r\n"],
    [false, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall the rest"],
  ]);
  assert.deepEqual(types, ["GET request"]); // the response completes at the close, after the last segment
  assert.equal(s.transactions[0].respBodyBytes, 12);
  assert.ok(s.transactions[0].complete);
  assert.equal(s.transactions[0].version, "HTTP/1.0");
});

Deno.test("HTTP/0.9 simple request: raw response up to the close", () => {
  const { s } = run([[true, "GET /\r\n\r\n"], [false, "<html>hi</html>"]]);
  assert.equal(s.transactions[0].version, "HTTP/0.9");
  assert.equal(s.transactions[0].status, null);
  assert.equal(s.transactions[0].respBodyBytes, 15);
});

Deno.test("a gap inside a body marks the message incomplete; a gap in headers resyncs", () => {
  const d = httpDecoder();
  const s = d.createState();
  const feed = (c: boolean, x: string) => d.stream.data(s, c, enc.encode(x), 0, enc.encode(x).length, 1);
  feed(true, "GET /x HTTP/1.1\r\n\r\n");
  feed(false, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab");
  d.stream.gap(s, false, 4, 1);
  feed(false, "cdef");
  feed(true, "GET /y HTTP/1.1\r\nHo");
  d.stream.gap(s, true, 7, 1);
  feed(true, "junk\r\nGET /z HTTP/1.1\r\n\r\n");
  feed(false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  d.stream.end(s, 2, 1);
  const t = s.transactions;
  assert.equal(t[0].respBodyBytes, 10);
  assert.equal(t[0].complete, false);
  // "/y" lost part of its head: skipped until the next request line, which pairs with the response.
  assert.deepEqual(t.map((x) => x.uri), ["/x", "/z"]);
  assert.equal(t[1].status, 200);
  assert.ok(t[1].complete);
});

Deno.test("malformed input: bad start line, bad chunk size, overlong line never throw", () => {
  const long = "GET /" + "a".repeat(MAX_LINE + 10) + " HTTP/1.1\r\n\r\n";
  const { s } = run([
    [true, "NOT HTTP AT ALL\r\n"],
    [true, long],
    [true, "GET /ok HTTP/1.1\r\n\r\n"],
    [false, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"],
  ]);
  // Both directions had a malformed line (counted over the ended connection).
  assert.ok(s.malformed >= 2);
  assert.ok(s.transactions.some((t) => t.uri === "/ok"));
});

Deno.test("fuzz: random bytes through both directions never throw", () => {
  let seed = 3;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const alphabet = enc.encode(
    "GET HTTP/1.1 200 \r\n:Content-Length: 5 chunked Transfer-Encoding 0 a\r\n\r\n",
  );
  for (let r = 0; r < 200; r++) {
    const d = httpDecoder();
    const s = d.createState();
    for (let k = 0; k < 50; k++) {
      const n = Math.floor(rnd() * 200);
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        b[i] = rnd() < 0.8 ? alphabet[Math.floor(rnd() * alphabet.length)] : rnd() * 256;
      }
      if (rnd() < 0.05) d.stream.gap(s, rnd() < 0.5, Math.floor(rnd() * 100), k);
      else d.stream.data(s, rnd() < 0.5, b, 0, n, k);
      while (s.popPdu() >= 0);
    }
    d.stream.end(s, 100, 1);
  }
});

Deno.test("probe: request and status lines on any port; other payloads are not HTTP", () => {
  const d = httpDecoder();
  const p = new Packet();
  const probe = (text: string) => {
    p.data = enc.encode(text);
    p.payloadOff = 0;
    p.payloadLen = p.data.length;
    p.srcPort = 40000;
    p.dstPort = 5555;
    return d.probe(p);
  };
  assert.equal(probe("GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n")?.confidence, 0.95);
  assert.equal(probe("HTTP/1.1 200 OK\r\n")?.confidence, 0.95);
  assert.equal(probe("GET /\r\n\r\n")?.confidence, 0.9);
  assert.equal(probe("GET /very-long-target-without-end")?.confidence, 0.6);
  assert.equal(probe("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), null);
  assert.equal(probe("GETTING STARTED\r\n"), null);
  assert.equal(probe("SSH-2.0-OpenSSH_8.9\r\n"), null);
  assert.equal(d.decode(p, d.createState()), NO_PDU);
});

Deno.test("HttpDirParser alone: headers split across calls keep their values", () => {
  const heads: string[] = [];
  const parser = new HttpDirParser({
    head: (h) => (heads.push(`${h.method} ${h.uri} ${h.host} ${h.contentLength}`), false),
    body: () => {},
    end: () => {},
  });
  const text = enc.encode("PUT /f HTTP/1.1\r\nHost: h.example\r\nContent-Length: 4\r\n\r\nbody");
  for (let i = 0; i < text.length; i += 3) parser.data(text, i, Math.min(3, text.length - i), 0);
  assert.deepEqual(heads, ["PUT /f h.example 4"]);
  assert.equal(parser.messages, 1);
});

Deno.test("a connection that ends twice (revived by a late ACK) keeps the next connection's ordinal", () => {
  const d = httpDecoder();
  d.keepTransactions = true;
  const s = d.createState();
  const feed = (c: boolean, x: string, t: number) => d.stream.data(s, c, enc.encode(x), 0, x.length, t);
  feed(true, "GET /a HTTP/1.1\r\n\r\n", 1);
  feed(false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 2);
  d.stream.end(s, 3, 1);
  d.stream.end(s, 4, 1); // the same connection, ended again after a late segment revived it
  feed(true, "GET /b HTTP/1.1\r\n\r\n", 5); // the 4-tuple's second connection
  feed(false, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 6);
  d.stream.end(s, 7, 2);
  assert.deepEqual(s.transactions.map((t) => [t.uri, t.conn]), [["/a", 0], ["/b", 1]]);
});
