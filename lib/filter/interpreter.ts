/**
 * The classic BPF interpreter, with libpcap's bpf_filter semantics exactly: loads past the captured
 * bytes end the program with 0, division by a zero X returns 0, arithmetic is unsigned 32-bit,
 * shifts by X of 32 or more shift every bit out. It is the reference for the translated function
 * (translate.ts) and the fallback when `new Function` is not allowed.
 */
import { BPF_MEMWORDS, type BpfProgram } from "./program.ts";

// Reused scratch memory: the interpreter is synchronous, so one array serves every call.
const mem = new Uint32Array(BPF_MEMWORDS);

/**
 * Runs a validated program over one packet: `p` holds the captured bytes, `wirelen` is the length
 * on the wire (BPF_LEN). Returns the RET value: 0 rejects, anything else accepts that many bytes.
 */
export function runBpf(prog: BpfProgram, p: Uint8Array, wirelen: number): number {
  const code = prog.code, jt = prog.jt, jf = prog.jf, kk = prog.k;
  const buflen = p.length;
  let A = 0, X = 0, pc = 0, k = 0;
  mem.fill(0);
  for (;;) {
    k = kk[pc];
    switch (code[pc]) {
      case 0x06: // RET K
        return k;
      case 0x16: // RET A
        return A;
      case 0x20: // LD W ABS
        if (k + 4 > buflen) return 0;
        A = ((p[k] << 24) | (p[k + 1] << 16) | (p[k + 2] << 8) | p[k + 3]) >>> 0;
        break;
      case 0x28: // LD H ABS
        if (k + 2 > buflen) return 0;
        A = (p[k] << 8) | p[k + 1];
        break;
      case 0x30: // LD B ABS
        if (k >= buflen) return 0;
        A = p[k];
        break;
      case 0x40: // LD W IND
        k += X;
        if (k + 4 > buflen) return 0;
        A = ((p[k] << 24) | (p[k + 1] << 16) | (p[k + 2] << 8) | p[k + 3]) >>> 0;
        break;
      case 0x48: // LD H IND
        k += X;
        if (k + 2 > buflen) return 0;
        A = (p[k] << 8) | p[k + 1];
        break;
      case 0x50: // LD B IND
        k += X;
        if (k >= buflen) return 0;
        A = p[k];
        break;
      case 0x80: // LD LEN
        A = wirelen >>> 0;
        break;
      case 0x81: // LDX LEN
        X = wirelen >>> 0;
        break;
      case 0x00: // LD IMM
        A = k;
        break;
      case 0x01: // LDX IMM
        X = k;
        break;
      case 0x60: // LD MEM
        A = mem[k];
        break;
      case 0x61: // LDX MEM
        X = mem[k];
        break;
      case 0xb1: // LDX MSH: IPv4 header length
        if (k >= buflen) return 0;
        X = (p[k] & 0x0f) << 2;
        break;
      case 0x02: // ST
        mem[k] = A;
        break;
      case 0x03: // STX
        mem[k] = X;
        break;
      case 0x05: // JA
        pc += k;
        break;
      case 0x15: // JEQ K
        pc += A === k ? jt[pc] : jf[pc];
        break;
      case 0x25: // JGT K
        pc += A > k ? jt[pc] : jf[pc];
        break;
      case 0x35: // JGE K
        pc += A >= k ? jt[pc] : jf[pc];
        break;
      case 0x45: // JSET K
        pc += (A & k) !== 0 ? jt[pc] : jf[pc];
        break;
      case 0x1d: // JEQ X
        pc += A === X ? jt[pc] : jf[pc];
        break;
      case 0x2d: // JGT X
        pc += A > X ? jt[pc] : jf[pc];
        break;
      case 0x3d: // JGE X
        pc += A >= X ? jt[pc] : jf[pc];
        break;
      case 0x4d: // JSET X
        pc += (A & X) !== 0 ? jt[pc] : jf[pc];
        break;
      case 0x04: // ADD K
        A = (A + k) >>> 0;
        break;
      case 0x14: // SUB K
        A = (A - k) >>> 0;
        break;
      case 0x24: // MUL K
        A = Math.imul(A, k) >>> 0;
        break;
      case 0x34: // DIV K (validated non-zero)
        A = Math.floor(A / k) >>> 0;
        break;
      case 0x94: // MOD K
        A = A % k;
        break;
      case 0x44: // OR K
        A = (A | k) >>> 0;
        break;
      case 0x54: // AND K
        A = (A & k) >>> 0;
        break;
      case 0xa4: // XOR K
        A = (A ^ k) >>> 0;
        break;
      case 0x64: // LSH K
        A = (A << k) >>> 0;
        break;
      case 0x74: // RSH K
        A = A >>> k;
        break;
      case 0x0c: // ADD X
        A = (A + X) >>> 0;
        break;
      case 0x1c: // SUB X
        A = (A - X) >>> 0;
        break;
      case 0x2c: // MUL X
        A = Math.imul(A, X) >>> 0;
        break;
      case 0x3c: // DIV X
        if (X === 0) return 0;
        A = Math.floor(A / X) >>> 0;
        break;
      case 0x9c: // MOD X
        if (X === 0) return 0;
        A = A % X;
        break;
      case 0x4c: // OR X
        A = (A | X) >>> 0;
        break;
      case 0x5c: // AND X
        A = (A & X) >>> 0;
        break;
      case 0xac: // XOR X
        A = (A ^ X) >>> 0;
        break;
      case 0x6c: // LSH X
        A = X < 32 ? (A << X) >>> 0 : 0;
        break;
      case 0x7c: // RSH X
        A = X < 32 ? A >>> X : 0;
        break;
      case 0x84: // NEG
        A = (-A) >>> 0;
        break;
      case 0x07: // TAX
        X = A;
        break;
      case 0x87: // TXA
        A = X;
        break;
      default:
        // Unreachable for validated programs; reject rather than guess.
        return 0;
    }
    pc++;
  }
}
