/**
 * The interpreter and the translation on hand-built programs and packets: every opcode with a known
 * answer, then random valid programs over random packets compared with libpcap's own interpreter.
 */
import assert from "node:assert/strict";
import { testIf } from "../_util/corpus.ts";
import { BpfCode, libpcapAvailable } from "../../ffi/libpcap.ts";
import { BpfFilter, type BpfInsn, makeProgram, runBpf, translateBpf } from "../../lib/filter/mod.ts";

const I = (code: number, k = 0, jt = 0, jf = 0): BpfInsn => ({ code, jt, jf, k });
const RET_A = I(0x16);

function both(insns: BpfInsn[], p: Uint8Array, wirelen = p.length): number {
  const prog = makeProgram(insns);
  const a = runBpf(prog, p, wirelen);
  const b = translateBpf(prog)!(p, wirelen);
  assert.equal(b, a, "translation and interpreter disagree");
  return a;
}

const pkt = new Uint8Array([0x45, 0x00, 0x01, 0x02, 0x80, 0xff, 0x10, 0x20, 0x30, 0x40]);

Deno.test("loads: absolute, indirect, length, msh, immediate", () => {
  assert.equal(both([I(0x20, 0), RET_A], pkt), 0x45000102);
  assert.equal(both([I(0x20, 4), RET_A], pkt), 0x80ff1020); // high bit set stays unsigned
  assert.equal(both([I(0x28, 4), RET_A], pkt), 0x80ff);
  assert.equal(both([I(0x30, 9), RET_A], pkt), 0x40);
  assert.equal(both([I(0x01, 2), I(0x50, 3), RET_A], pkt), 0xff);
  assert.equal(both([I(0x01, 2), I(0x48, 3), RET_A], pkt), 0xff10);
  assert.equal(both([I(0x01, 2), I(0x40, 2), RET_A], pkt), 0x80ff1020);
  assert.equal(both([I(0x80), RET_A], pkt, 1500), 1500);
  assert.equal(both([I(0x81), I(0x87), RET_A], pkt, 99), 99);
  assert.equal(both([I(0xb1, 0), I(0x87), RET_A], pkt), 20);
  assert.equal(both([I(0x00, 0xdeadbeef), RET_A], pkt), 0xdeadbeef);
});

Deno.test("loads past the captured bytes end the program with 0 (snaplen-truncated frames)", () => {
  assert.equal(both([I(0x20, 7), I(0x06, 1)], pkt), 0);
  assert.equal(both([I(0x28, 9), I(0x06, 1)], pkt), 0);
  assert.equal(both([I(0x30, 10), I(0x06, 1)], pkt), 0);
  assert.equal(both([I(0x30, 0xffffffff), I(0x06, 1)], pkt), 0);
  assert.equal(both([I(0x01, 0xffffffff), I(0x50, 1), I(0x06, 1)], pkt), 0); // X + k must not wrap
  assert.equal(both([I(0xb1, 10), I(0x06, 1)], pkt), 0);
  assert.equal(both([I(0x30, 0), I(0x06, 1)], new Uint8Array(0)), 0);
  // ...while the wire length may be larger than the bytes captured.
  assert.equal(both([I(0x80), RET_A], pkt.subarray(0, 4), 60), 60);
});

Deno.test("ALU: unsigned 32-bit arithmetic, division by zero X rejects", () => {
  const alu = (code: number, a: number, k: number, x?: number) =>
    both([I(0x00, a), ...(x === undefined ? [] : [I(0x01, x)]), I(code, k), RET_A], pkt);
  assert.equal(alu(0x04, 0xffffffff, 2), 1); // add wraps
  assert.equal(alu(0x14, 1, 2), 0xffffffff); // sub wraps
  assert.equal(alu(0x24, 0x10000, 0x10000), 0); // mul wraps
  assert.equal(alu(0x24, 0xffffffff, 0xffffffff), 1);
  assert.equal(alu(0x34, 0xffffffff, 16), 0x0fffffff);
  assert.equal(alu(0x94, 17, 5), 2);
  assert.equal(alu(0x44, 0x80000000, 1), 0x80000001);
  assert.equal(alu(0x54, 0xf0f0f0f0, 0xff00ff00), 0xf000f000);
  assert.equal(alu(0xa4, 0xffffffff, 0x0f), 0xfffffff0);
  assert.equal(alu(0x64, 1, 31), 0x80000000);
  assert.equal(alu(0x74, 0x80000000, 31), 1);
  assert.equal(alu(0x3c, 10, 0, 0), 0); // div by X = 0 → reject
  assert.equal(alu(0x9c, 10, 0, 0), 0);
  assert.equal(alu(0x3c, 10, 0, 3), 3);
  assert.equal(alu(0x6c, 1, 0, 33), 0); // shift by X >= 32: all bits out
  assert.equal(alu(0x7c, 0xffffffff, 0, 32), 0);
  assert.equal(both([I(0x00, 1), I(0x84), RET_A], pkt), 0xffffffff);
});

Deno.test("jumps, scratch memory, TAX/TXA", () => {
  // if byte 4 (0x80) > 0x7f then return 7 else return 9
  const j = [I(0x30, 4), I(0x25, 0x7f, 0, 1), I(0x06, 7), I(0x06, 9)];
  assert.equal(both(j, pkt), 7);
  assert.equal(both([I(0x30, 4), I(0x25, 0x80, 0, 1), I(0x06, 7), I(0x06, 9)], pkt), 9);
  assert.equal(both([I(0x30, 4), I(0x35, 0x80, 0, 1), I(0x06, 7), I(0x06, 9)], pkt), 7); // jge
  assert.equal(both([I(0x30, 4), I(0x45, 0x01, 0, 1), I(0x06, 7), I(0x06, 9)], pkt), 9); // jset
  assert.equal(both([I(0x05, 1), I(0x06, 1), I(0x06, 2)], pkt), 2); // ja
  assert.equal(both([I(0x00, 5), I(0x01, 5), I(0x1d, 0, 0, 1), I(0x06, 1), I(0x06, 2)], pkt), 1);
  assert.equal(both([I(0x00, 6), I(0x01, 5), I(0x2d, 0, 0, 1), I(0x06, 1), I(0x06, 2)], pkt), 1);
  assert.equal(both([I(0x00, 0x80000000), I(0x01, 5), I(0x3d, 0, 0, 1), I(0x06, 1), I(0x06, 2)], pkt), 1);
  assert.equal(both([I(0x00, 6), I(0x01, 1), I(0x4d, 0, 0, 1), I(0x06, 1), I(0x06, 2)], pkt), 2);
  // store A in M[3] and X in M[15], reload crosswise
  assert.equal(
    both([I(0x00, 11), I(0x02, 3), I(0x01, 22), I(0x03, 15), I(0x60, 15), I(0x61, 3), I(0x0c), RET_A], pkt),
    33,
  );
  assert.equal(both([I(0x00, 4), I(0x07), I(0x00, 0), I(0x87), RET_A], pkt), 4);
});

Deno.test("BpfFilter: translated and interpreted modes give the same verdicts", () => {
  const prog = makeProgram([I(0x30, 0), I(0x15, 0x45, 0, 1), I(0x06, 65535), I(0x06, 0)]);
  const fast = new BpfFilter(prog);
  const slow = new BpfFilter(prog, { interpret: true });
  assert.equal(fast.translated, true);
  assert.equal(slow.translated, false);
  assert.equal(fast.matches(pkt, 10), true);
  assert.equal(slow.matches(pkt, 10), true);
  const other = new Uint8Array([0x60]);
  assert.equal(fast.matches(other, 1), false);
  assert.equal(slow.matches(other, 1), false);
});

// --- random programs against libpcap's bpf_filter ---

/** xorshift32, so that a failure is reproducible from the printed seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>>= 0);
  };
}

const STRAIGHT = [
  0x20,
  0x28,
  0x30,
  0x40,
  0x48,
  0x50,
  0x80,
  0x00,
  0x60,
  0x01,
  0x61,
  0x81,
  0xb1,
  0x02,
  0x03,
  0x04,
  0x14,
  0x24,
  0x34,
  0x94,
  0x44,
  0x54,
  0xa4,
  0x64,
  0x74,
  0x0c,
  0x1c,
  0x2c,
  0x3c,
  0x9c,
  0x4c,
  0x5c,
  0xac,
  0x6c,
  0x7c,
  0x84,
  0x07,
  0x87,
];
const JUMPS = [0x05, 0x15, 0x25, 0x35, 0x45, 0x1d, 0x2d, 0x3d, 0x4d];

function randomProgram(r: () => number): BpfInsn[] {
  // Scratch memory is uninitialised in libpcap's C interpreter: write every slot first.
  const out: BpfInsn[] = [I(0x00, r())];
  for (let m = 0; m < 16; m++) out.push(I(0x02, m));
  const body = 4 + (r() % 30);
  const start = out.length;
  const total = start + body + 3;
  for (let i = start; i < start + body; i++) {
    const room = total - i - 2; // instructions after this one, keeping the final RETs reachable
    const pickJump = r() % 5 === 0;
    if (pickJump) {
      const code = JUMPS[r() % JUMPS.length];
      const k = code === 0x05 ? r() % room : r() % 2 ? r() % 64 : r();
      out.push(I(code, k, r() % room, r() % room));
      continue;
    }
    const code = STRAIGHT[r() % STRAIGHT.length];
    let k = r();
    if (code === 0x60 || code === 0x61 || code === 0x02 || code === 0x03) k %= 16;
    else if (code === 0x20 || code === 0x28 || code === 0x30 || code === 0xb1 || (code & 0xe0) === 0x40) {
      k = r() % 3 === 0 ? k : k % 80;
    } else if ((code === 0x34 || code === 0x94) && k === 0) k = 1;
    else if (code === 0x64 || code === 0x74) k %= 32;
    else if (code === 0x01 && r() % 2) k %= 64;
    out.push(I(code, k));
  }
  out.push(I(0x16), I(0x06, r()), RET_A);
  return out;
}

testIf(
  libpcapAvailable(),
  "libpcap is not installed",
  "random programs agree with libpcap's interpreter",
  () => {
    const seed = Date.now() >>> 0;
    const r = rng(seed);
    const hdr = new Uint8Array(24);
    let nonZero = 0;
    for (let n = 0; n < 3000; n++) {
      const insns = randomProgram(r);
      const prog = makeProgram(insns);
      const fn = translateBpf(prog)!;
      using oracle = BpfCode.wrap(insns);
      for (let t = 0; t < 8; t++) {
        const data = new Uint8Array(r() % 90);
        for (let i = 0; i < data.length; i++) data[i] = r() & 0xff;
        const wire = data.length + (r() % 3 === 0 ? r() % 1500 : 0);
        const want = oracle.offlineFilter(hdr, data, wire) >>> 0;
        const got = runBpf(prog, data, wire);
        const jit = fn(data, wire);
        if (got !== want || jit !== want) {
          assert.fail(
            `seed ${seed} program ${n} packet ${t}: libpcap ${want}, interpreter ${got}, translated ${jit}\n` +
              JSON.stringify(insns),
          );
        }
        if (want) nonZero++;
      }
    }
    assert.ok(nonZero > 1000, `only ${nonZero} non-zero results: the generator is not exercising programs`);
  },
);
