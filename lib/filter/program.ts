/**
 * Classic BPF programs as plain data: the opcode constants of pcap/bpf.h, a packed representation
 * (parallel typed arrays, so the interpreter reads numbers, never objects) and the validator every
 * program passes before it runs. The validator is what makes hostile programs safe: after it, the
 * interpreter and the translated function can only end in a RET, never loop or read outside memory.
 */
import { MppError } from "../errors.ts";

export const BPF = {
  // classes (code & 0x07)
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  RET: 0x06,
  MISC: 0x07,
  // sizes (code & 0x18)
  W: 0x00,
  H: 0x08,
  B: 0x10,
  // modes (code & 0xe0)
  IMM: 0x00,
  ABS: 0x20,
  IND: 0x40,
  MEM: 0x60,
  LEN: 0x80,
  MSH: 0xa0,
  // ALU ops (code & 0xf0)
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  DIV: 0x30,
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  NEG: 0x80,
  MOD: 0x90,
  XOR: 0xa0,
  // jumps (code & 0xf0)
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  // sources (code & 0x08)
  K: 0x00,
  X: 0x08,
  // return value source (code & 0x18)
  RET_A: 0x10,
  // misc ops (code & 0xf8)
  TAX: 0x00,
  TXA: 0x80,
} as const;

/** Scratch memory words (BPF_MEMWORDS). */
export const BPF_MEMWORDS = 16;
/** libpcap's BPF_MAXINSNS. */
export const BPF_MAXINSNS = 4096;

export interface BpfInsn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** A validated program, packed for the interpreter; `expr` and `linkType` say where it came from. */
export interface BpfProgram {
  readonly length: number;
  readonly code: Uint16Array;
  readonly jt: Uint8Array;
  readonly jf: Uint8Array;
  /** Unsigned 32-bit operands. */
  readonly k: Uint32Array;
  /** The filter expression, when compiled from one. */
  readonly expr?: string;
  /** LINKTYPE_* the program was compiled for (-1 when built by hand). */
  readonly linkType: number;
  readonly snaplen: number;
}

/** Packs and validates instructions; MppError("bad_input") naming the first bad instruction. */
export function makeProgram(
  insns: readonly BpfInsn[],
  meta: { expr?: string; linkType?: number; snaplen?: number } = {},
): BpfProgram {
  const n = insns.length;
  const prog: BpfProgram = {
    length: n,
    code: new Uint16Array(n),
    jt: new Uint8Array(n),
    jf: new Uint8Array(n),
    k: new Uint32Array(n),
    expr: meta.expr,
    linkType: meta.linkType ?? -1,
    snaplen: meta.snaplen ?? 262144,
  };
  for (let i = 0; i < n; i++) {
    const x = insns[i];
    prog.code[i] = x.code;
    prog.jt[i] = x.jt;
    prog.jf[i] = x.jf;
    prog.k[i] = x.k >>> 0;
  }
  validateProgram(prog);
  return prog;
}

/** The instructions back as objects (for dumps, tests and handing to libpcap). */
export function programInsns(prog: BpfProgram): BpfInsn[] {
  const out: BpfInsn[] = [];
  for (let i = 0; i < prog.length; i++) {
    out.push({ code: prog.code[i], jt: prog.jt[i], jf: prog.jf[i], k: prog.k[i] });
  }
  return out;
}

function bad(i: number, why: string): MppError {
  return new MppError(
    "bad_input",
    `invalid BPF program: instruction ${i}: ${why}`,
    "compile filters with compileFilter (libpcap); hand-made programs must follow pcap/bpf.h",
  );
}

/** Every opcode libpcap's bpf_filter executes; anything else is rejected before it can run. */
const VALID_OPCODES: ReadonlySet<number> = new Set([
  0x20,
  0x28,
  0x30,
  0x40,
  0x48,
  0x50,
  0x80,
  0x00,
  0x60, // LD W/H/B ABS, W/H/B IND, LEN, IMM, MEM
  0x01,
  0x61,
  0x81,
  0xb1, // LDX IMM, MEM, LEN, MSH
  0x02,
  0x03, // ST, STX
  ...[0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0].flatMap((op) => [0x04 | op, 0x0c | op]),
  0x84, // ALU NEG
  0x05,
  0x15,
  0x25,
  0x35,
  0x45,
  0x1d,
  0x2d,
  0x3d,
  0x4d, // JA, Jxx K, Jxx X
  0x06,
  0x16, // RET K, RET A
  0x07,
  0x87, // TAX, TXA
]);

/**
 * The checks of libpcap's bpf_validate: known opcodes only, jumps forward and inside the program,
 * scratch-memory indexes below 16, no division by a constant zero, and a RET as the last instruction
 * (with forward-only jumps, every path then ends in a RET).
 */
export function validateProgram(prog: BpfProgram): void {
  const n = prog.length;
  if (n === 0) throw bad(0, "empty program");
  if (n > BPF_MAXINSNS) throw bad(n, `more than ${BPF_MAXINSNS} instructions`);
  for (let i = 0; i < n; i++) {
    const code = prog.code[i];
    const k = prog.k[i];
    if (!VALID_OPCODES.has(code)) throw bad(i, `unknown opcode 0x${code.toString(16)}`);
    const cls = code & 0x07;
    if ((code === 0x60 || code === 0x61 || cls === BPF.ST || cls === BPF.STX) && k >= BPF_MEMWORDS) {
      throw bad(i, `scratch memory index ${k} out of range`);
    }
    if (
      cls === BPF.ALU && (code & 0x08) === 0 && k === 0 &&
      ((code & 0xf0) === BPF.DIV || (code & 0xf0) === BPF.MOD)
    ) {
      throw bad(i, "division by constant zero");
    }
    if (cls === BPF.JMP) {
      if (code === (BPF.JMP | BPF.JA)) {
        if (k >= n - i - 1) throw bad(i, `jump offset ${k} leaves the program`);
      } else if (i + 1 + prog.jt[i] >= n || i + 1 + prog.jf[i] >= n) {
        throw bad(i, `jump target leaves the program (jt ${prog.jt[i]}, jf ${prog.jf[i]})`);
      }
    }
  }
  if ((prog.code[n - 1] & 0x07) !== BPF.RET) throw bad(n - 1, "the last instruction is not a return");
}
