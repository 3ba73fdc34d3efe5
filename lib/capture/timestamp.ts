/**
 * Exact conversion between pcapng's 64-bit timestamp units and integer seconds + nanoseconds.
 *
 * A 64-bit units value does not fit a double once it passes 2^53 (nanosecond timestamps already do),
 * so the value is kept as two 32-bit words and divided by long division in 16-bit digits. Every
 * intermediate stays below 2^53 as long as the units per second are at most 2^37, which covers
 * every resolution seen in practice (10^-0 … 10^-11, 2^-0 … 2^-37); finer ones take a BigInt path.
 */

/** Result holder reused by the caller: no allocation per conversion. */
export interface SecNsec {
  sec: number;
  nsec: number;
}

const TWO16 = 65536;
const TWO32 = 4294967296;
const MAX_FAST_UNITS = 137438953472; // 2^37

/** Units per second of an if_tsresol option byte (high bit: power of 2, else power of 10). */
export function unitsPerSecFromTsresol(v: number): number {
  const exp = v & 0x7f;
  return (v & 0x80) !== 0 ? 2 ** exp : 10 ** exp;
}

/**
 * Splits `hi * 2^32 + lo` units (at `unitsPerSec`) into integer seconds and nanoseconds (floor),
 * writing the result into `out`.
 */
export function unitsToSecNsec(hi: number, lo: number, unitsPerSec: number, out: SecNsec): void {
  if (unitsPerSec > MAX_FAST_UNITS || !Number.isInteger(unitsPerSec)) {
    slowUnitsToSecNsec(hi, lo, unitsPerSec, out);
    return;
  }
  const r = unitsPerSec;
  // Long division of the 4-digit (base 2^16) number by r; rem < r <= 2^37 keeps rem*2^16 < 2^53.
  let rem = hi >>> 16;
  const q3 = Math.floor(rem / r);
  rem -= q3 * r;
  rem = rem * TWO16 + (hi & 0xffff);
  const q2 = Math.floor(rem / r);
  rem -= q2 * r;
  rem = rem * TWO16 + (lo >>> 16);
  const q1 = Math.floor(rem / r);
  rem -= q1 * r;
  rem = rem * TWO16 + (lo & 0xffff);
  const q0 = Math.floor(rem / r);
  rem -= q0 * r;
  out.sec = ((q3 * TWO16 + q2) * TWO16 + q1) * TWO16 + q0;
  out.nsec = fractionToNsec(rem, r);
}

/** floor(rem * 1e9 / r) for 0 <= rem < r <= 2^37, exactly. */
export function fractionToNsec(rem: number, r: number): number {
  if (rem === 0) return 0;
  if (r <= 1e9 && 1e9 % r === 0) return rem * (1e9 / r);
  if (r % 1e9 === 0) return Math.floor(rem / (r / 1e9));
  // rem * 1e9 may reach 2^67: multiply digit by digit (base 2^16), then divide by long division.
  const r0 = rem % TWO16;
  const r1 = Math.floor(rem / TWO16) % TWO16;
  const r2 = Math.floor(rem / TWO32);
  let p = r0 * 1e9;
  const d0 = p % TWO16;
  let carry = Math.floor(p / TWO16);
  p = r1 * 1e9 + carry;
  const d1 = p % TWO16;
  carry = Math.floor(p / TWO16);
  p = r2 * 1e9 + carry;
  const d2 = p % TWO16;
  carry = Math.floor(p / TWO16);
  const d3 = carry % TWO16;
  const d4 = Math.floor(carry / TWO16);
  let acc = d4;
  let q = Math.floor(acc / r);
  acc -= q * r;
  let result = q;
  acc = acc * TWO16 + d3;
  q = Math.floor(acc / r);
  acc -= q * r;
  result = result * TWO16 + q;
  acc = acc * TWO16 + d2;
  q = Math.floor(acc / r);
  acc -= q * r;
  result = result * TWO16 + q;
  acc = acc * TWO16 + d1;
  q = Math.floor(acc / r);
  acc -= q * r;
  result = result * TWO16 + q;
  acc = acc * TWO16 + d0;
  q = Math.floor(acc / r);
  return result * TWO16 + q;
}

function slowUnitsToSecNsec(hi: number, lo: number, unitsPerSec: number, out: SecNsec): void {
  // Rare: resolutions finer than 2^-37 s. BigInt keeps it exact; the allocation is acceptable here.
  const v = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  const r = BigInt(unitsPerSec);
  const sec = v / r;
  out.sec = Number(sec);
  out.nsec = Number(((v - sec * r) * 1_000_000_000n) / r);
}

/**
 * The inverse, for writers: seconds + nanoseconds → 64-bit units at 10^6 or 10^9 units per second
 * (or any divisor of 10^9), as two 32-bit words in `out` (sec = high word, nsec = low word).
 */
export function secNsecToUnits(sec: number, nsec: number, unitsPerSec: number, out: SecNsec): void {
  const frac = Math.floor(nsec / (1e9 / unitsPerSec));
  // sec * unitsPerSec may pass 2^53: multiply the two 16-bit halves of sec separately.
  const sl = sec % TWO16;
  const sh = Math.floor(sec / TWO16);
  const low = sl * unitsPerSec + frac; // < 2^47
  const high = sh * unitsPerSec; // units of 2^16, < 2^46 for sec < 2^32
  let lo = (high % TWO16) * TWO16 + (low % TWO32);
  let hi = Math.floor(high / TWO16) + Math.floor(low / TWO32);
  if (lo >= TWO32) {
    lo -= TWO32;
    hi += 1;
  }
  out.sec = hi;
  out.nsec = lo;
}
