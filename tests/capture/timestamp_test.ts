import assert from "node:assert/strict";
import {
  fractionToNsec,
  type SecNsec,
  secNsecToUnits,
  unitsPerSecFromTsresol,
  unitsToSecNsec,
} from "../../lib/capture/timestamp.ts";

function reference(v: bigint, r: bigint): [number, number] {
  const sec = v / r;
  return [Number(sec), Number(((v - sec * r) * 1_000_000_000n) / r)];
}

Deno.test("timestamp: if_tsresol decimal and binary", () => {
  assert.equal(unitsPerSecFromTsresol(6), 1e6);
  assert.equal(unitsPerSecFromTsresol(9), 1e9);
  assert.equal(unitsPerSecFromTsresol(0), 1);
  assert.equal(unitsPerSecFromTsresol(0x80 | 10), 1024);
  assert.equal(unitsPerSecFromTsresol(0x80 | 30), 2 ** 30);
});

Deno.test("timestamp: 64-bit units split exactly against BigInt for many resolutions", () => {
  const out: SecNsec = { sec: 0, nsec: 0 };
  const resolutions = [
    1n,
    10n,
    1000n,
    1_000_000n,
    1_000_000_000n,
    10n ** 10n,
    10n ** 11n,
    1024n,
    2n ** 20n,
    2n ** 32n,
    2n ** 37n,
  ];
  let x = 0x12345678n;
  for (const r of resolutions) {
    for (let i = 0; i < 300; i++) {
      x = (x * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
      // Keep seconds below 2^53 so the reference fits a double.
      const v = r < 2048n ? x & 0x1fffffffffffffn : x;
      const hi = Number(v >> 32n);
      const lo = Number(v & 0xffffffffn);
      unitsToSecNsec(hi, lo, Number(r), out);
      const [s, n] = reference(v, r);
      assert.equal(out.sec, s, `r=${r} v=${v}`);
      assert.equal(out.nsec, n, `r=${r} v=${v}`);
    }
  }
  // Beyond 2^37 units per second the BigInt path takes over.
  unitsToSecNsec(0xffffffff, 0xffffffff, 1e15, out);
  assert.deepEqual([out.sec, out.nsec], reference(0xffffffffffffffffn, 10n ** 15n));
});

Deno.test("timestamp: fraction to nanoseconds floors exactly", () => {
  assert.equal(fractionToNsec(1, 3), 333333333);
  assert.equal(fractionToNsec(2 ** 37 - 1, 2 ** 37), Number(((2n ** 37n - 1n) * 1_000_000_000n) / 2n ** 37n));
  assert.equal(fractionToNsec(999, 1000), 999000000);
});

Deno.test("timestamp: sec+nsec to units and back for µs and ns", () => {
  const out: SecNsec = { sec: 0, nsec: 0 };
  const back: SecNsec = { sec: 0, nsec: 0 };
  for (const [sec, nsec] of [[0, 0], [1767663089, 500330493], [4294967295, 999999999], [1, 1]]) {
    secNsecToUnits(sec, nsec, 1e9, out);
    const v = (BigInt(out.sec) << 32n) + BigInt(out.nsec);
    assert.equal(v, BigInt(sec) * 1_000_000_000n + BigInt(nsec));
    unitsToSecNsec(out.sec, out.nsec, 1e9, back);
    assert.deepEqual([back.sec, back.nsec], [sec, nsec]);
    secNsecToUnits(sec, nsec, 1e6, out);
    assert.equal(
      (BigInt(out.sec) << 32n) + BigInt(out.nsec),
      BigInt(sec) * 1_000_000n + BigInt(Math.floor(nsec / 1000)),
    );
  }
});
