import assert from "node:assert/strict";
import { TcpConn, udpConnState } from "../../lib/flow/tcp_conn.ts";

const SYN = 0x02, ACK = 0x10, FIN = 0x01, RST = 0x04, PSH = 0x08;

function run(steps: [boolean, number, number, number?][]): TcpConn {
  const c = new TcpConn();
  let seq = 1000;
  for (const [orig, flags, len, win] of steps) c.update(orig, flags, seq++, win ?? 65535, len);
  return c;
}

Deno.test("normal handshake, data and FIN close is SF with Zeek's history ShADadFf", () => {
  const c = run([
    [true, SYN, 0],
    [false, SYN | ACK, 0],
    [true, ACK, 0],
    [true, PSH | ACK, 100],
    [false, ACK, 0],
    [false, PSH | ACK, 500],
    [true, FIN | ACK, 0],
    [false, FIN | ACK, 0],
    [true, ACK, 0],
  ]);
  assert.equal(c.connState(), "SF");
  assert.equal(c.history, "ShADadFf");
  assert.equal(c.origPayload, 100);
  assert.equal(c.respPayload, 500);
});

Deno.test("SYN without answer is S0; SYN answered by RST is REJ", () => {
  assert.equal(run([[true, SYN, 0]]).connState(), "S0");
  const rej = run([[true, SYN, 0], [false, RST | ACK, 0]]);
  assert.equal(rej.connState(), "REJ");
  assert.equal(rej.history, "Sr");
});

Deno.test("established and still open is S1; originator reset is RSTO, responder reset RSTR", () => {
  const est: [boolean, number, number][] = [[true, SYN, 0], [false, SYN | ACK, 0], [true, ACK, 0]];
  assert.equal(run(est).connState(), "S1");
  assert.equal(run([...est, [true, RST, 0]]).connState(), "RSTO");
  assert.equal(run([...est, [false, RST, 0]]).connState(), "RSTR");
});

Deno.test("close attempts by one side: S2 (originator FIN) and S3 (responder FIN)", () => {
  const est: [boolean, number, number][] = [[true, SYN, 0], [false, SYN | ACK, 0], [true, ACK, 0]];
  assert.equal(run([...est, [true, FIN | ACK, 0]]).connState(), "S2");
  assert.equal(run([...est, [false, FIN | ACK, 0]]).connState(), "S3");
});

Deno.test("mid-stream pick-up without SYN is OTH with data letters", () => {
  const c = run([[true, PSH | ACK, 10], [false, ACK, 0]]);
  assert.equal(c.connState(), "OTH");
  assert.equal(c.history, "Da");
});

Deno.test("SYN then RST from the originator with no SYN-ACK is RSTOS0; SYN then FIN is SH", () => {
  assert.equal(run([[true, SYN, 0], [true, RST, 0]]).connState(), "RSTOS0");
  assert.equal(run([[true, SYN, 0], [true, FIN, 0]]).connState(), "SH");
});

Deno.test("SYN+FIN is recorded as q, zero windows logarithmically as w, history stays bounded", () => {
  const q = run([[true, SYN | FIN, 0]]);
  assert.ok(q.history.includes("Q"));
  const c = new TcpConn();
  for (let i = 0; i < 120; i++) c.update(false, ACK, 5, 0, 0);
  assert.equal(c.history, "awww"); // the 1st, 10th and 100th zero-window segment
  const flood = new TcpConn();
  for (let i = 0; i < 10000; i++) flood.update(true, RST, i, 100, 0);
  assert.ok(flood.history.length <= 64);
});

Deno.test("UDP conn_state: SF, S0, SHR", () => {
  assert.equal(udpConnState(3, 2), "SF");
  assert.equal(udpConnState(3, 0), "S0");
  assert.equal(udpConnState(0, 1), "SHR");
});

Deno.test("TcpConn with split: a reused 4-tuple's next connection begins where lib/tcp's does", () => {
  const S = 0x02, A = 0x10, F = 0x01, R = 0x04;
  const c = new TcpConn(undefined, true);
  assert.equal(c.update(true, S, 100, 1000, 0), false, "the first SYN opens the flow, no break");
  assert.equal(c.update(true, S, 100, 1000, 0), false, "a retransmitted SYN is the same connection");
  c.update(false, S | A, 900, 1000, 0);
  c.update(true, A, 101, 1000, 10);
  c.update(true, F | A, 111, 1000, 0);
  c.update(false, F | A, 901, 1000, 0);
  assert.equal(c.update(true, S, 5000, 1000, 0), true, "SYN after FIN both ways");
  c.update(true, A, 5001, 1000, 5);
  assert.equal(c.update(true, S, 7000, 1000, 0), true, "SYN with another ISN after data");
  c.update(true, R, 7001, 0, 0);
  assert.equal(c.update(true, S, 7000, 1000, 0), true, "SYN after RST");
  const plain = new TcpConn();
  plain.update(true, S, 1, 1000, 0);
  plain.update(true, R, 2, 0, 0);
  assert.equal(plain.update(true, S, 3, 1000, 0), false, "without split nothing is reported");
});
