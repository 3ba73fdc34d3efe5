import assert from "node:assert/strict";
import { join } from "node:path";
import { OP_DATA, OP_FINISH, OP_OPEN, readRing, RingWriter } from "../../lib/tcp/write_ring.ts";
import { StreamWriter } from "../../lib/tcp/stream_writer.ts";
import type { TcpStream } from "../../lib/tcp/stream.ts";
import { MppError } from "../../lib/errors.ts";

Deno.test("write ring: records of every size come out in order across many wrap-arounds", () => {
  const ring = RingWriter.create(64 << 10);
  let seed = 1;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let round = 0; round < 40; round++) {
    const sent: { op: number; id: number; bytes: number[] }[] = [];
    let total = 0;
    while (total < 30_000) {
      const len = Math.floor(rnd() * 3000);
      const b = Uint8Array.from({ length: len + 7 }, (_, i) => (i * 31 + round + len) & 0xff);
      const op = len % 5 === 0 ? OP_OPEN : OP_DATA;
      ring.put(op, round * 1000 + sent.length, b, 7, len);
      sent.push({ op, id: round * 1000 + sent.length, bytes: [...b.subarray(7)] });
      total += len + 32;
    }
    ring.put(OP_FINISH, 0, null, 0, 0);
    const got: { op: number; id: number; bytes: number[] }[] = [];
    readRing(ring.buffers, (op, id, payload) => {
      if (op === OP_FINISH) return false;
      got.push({ op, id, bytes: [...payload] });
      return true;
    });
    assert.deepEqual(got, sent, `round ${round}`);
  }
});

function fakeStream(i: number): TcpStream {
  return {
    addr: [`10.0.0.${i}`, "10.9.9.9"],
    port: [1000 + i, 80],
    reuse: 0,
    user: null,
  } as unknown as TcpStream;
}

Deno.test("StreamWriter: more live directions than open descriptors still yields whole files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mpp-ring-" });
  // Two descriptors for 24 interleaved directions: files are closed and reopened to append.
  const w = StreamWriter.create(dir, 64 << 10, 2);
  const streams = Array.from({ length: 12 }, (_, i) => fakeStream(i + 1));
  for (const s of streams) w.open(s);
  const expect = new Map<string, number[]>();
  for (let k = 0; k < 50; k++) {
    for (const [i, s] of streams.entries()) {
      for (const dir01 of [0, 1]) {
        const chunk = Uint8Array.from(
          { length: 100 + ((i * 7 + k) % 900) },
          (_, j) => (i + j + k + dir01) & 0xff,
        );
        w.data(s, dir01, chunk, 0, chunk.length);
        const name = (s.user as { file: string }[])[dir01].file;
        const e = expect.get(name) ?? [];
        e.push(...chunk);
        expect.set(name, e);
      }
    }
    if (k === 25) w.end(streams[3]); // an ended connection that gets more data is appended to
  }
  await w.finish([]);
  assert.equal(expect.size, 24);
  for (const [name, bytes] of expect) {
    assert.deepEqual([...await Deno.readFile(join(dir, name))], bytes, name);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("StreamWriter: a file that cannot be created is one MppError naming it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mpp-ring-" });
  const w = StreamWriter.create(dir);
  await Deno.remove(dir, { recursive: true }); // the directory vanishes under the writer
  const s = fakeStream(1);
  w.open(s);
  w.data(s, 0, new Uint8Array(10), 0, 10);
  const err = await w.finish([]).then(() => null, (e) => e);
  assert.ok(err instanceof MppError, String(err));
  assert.match(
    err.message,
    /cannot write TCP streams: open .*010\.000\.000\.001\.01001-010\.009\.009\.009\.00080/,
  );
  assert.match(err.message, /ENOENT/);
});

Deno.test("write ring: a reader that never frees space stops the writer with one MppError", () => {
  const ring = RingWriter.create(64 << 10, 200);
  const chunk = new Uint8Array(4096);
  let err: unknown = null;
  try {
    for (let i = 0; i < 100; i++) ring.put(OP_DATA, 1, chunk, 0, chunk.length);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof MppError, String(err));
  assert.match(err.message, /file writer made no progress for 0.2 s/);
});
