/**
 * Translates a validated classic BPF program into a JavaScript function (a small JIT): constants
 * become literals, each load carries its own bounds check, and the control flow becomes a chain of
 * basic blocks. Classic BPF jumps only forward, so running the blocks in program order, each guarded
 * by "is this the block we jumped to", is exact and needs no loop. V8 then compiles the function to
 * machine code, which is what makes filtering a file cost nanoseconds per packet.
 */
import { BPF, type BpfProgram } from "./program.ts";

/** (captured bytes, length on the wire) → RET value; 0 rejects. */
export type BpfFunction = (p: Uint8Array, wirelen: number) => number;

const LOAD_W = (at: string) =>
  `((p[${at}] << 24) | (p[${at} + 1] << 16) | (p[${at} + 2] << 8) | p[${at} + 3]) >>> 0`;
const LOAD_H = (at: string) => `((p[${at}] << 8) | p[${at} + 1])`;

/** Straight-line JS for one non-jump, non-return instruction. */
function stmt(code: number, k: number): string {
  switch (code) {
    case 0x20:
      return `if (${k + 4} > n) return 0; A = ${LOAD_W(String(k))};`;
    case 0x28:
      return `if (${k + 2} > n) return 0; A = ${LOAD_H(String(k))};`;
    case 0x30:
      return `if (${k} >= n) return 0; A = p[${k}];`;
    case 0x40:
      return `i = X + ${k}; if (i + 4 > n) return 0; A = ${LOAD_W("i")};`;
    case 0x48:
      return `i = X + ${k}; if (i + 2 > n) return 0; A = ${LOAD_H("i")};`;
    case 0x50:
      return `i = X + ${k}; if (i >= n) return 0; A = p[i];`;
    case 0x80:
      return "A = w;";
    case 0x81:
      return "X = w;";
    case 0x00:
      return `A = ${k};`;
    case 0x01:
      return `X = ${k};`;
    case 0x60:
      return `A = m${k};`;
    case 0x61:
      return `X = m${k};`;
    case 0xb1:
      return `if (${k} >= n) return 0; X = (p[${k}] & 15) << 2;`;
    case 0x02:
      return `m${k} = A;`;
    case 0x03:
      return `m${k} = X;`;
    case 0x04:
      return `A = (A + ${k}) >>> 0;`;
    case 0x14:
      return `A = (A - ${k}) >>> 0;`;
    case 0x24:
      return `A = Math.imul(A, ${k}) >>> 0;`;
    case 0x34:
      return `A = Math.floor(A / ${k}) >>> 0;`;
    case 0x94:
      return `A = A % ${k};`;
    case 0x44:
      return `A = (A | ${k}) >>> 0;`;
    case 0x54:
      return `A = (A & ${k}) >>> 0;`;
    case 0xa4:
      return `A = (A ^ ${k}) >>> 0;`;
    case 0x64:
      return `A = (A << ${k & 31}) >>> 0;`;
    case 0x74:
      return `A = A >>> ${k & 31};`;
    case 0x0c:
      return "A = (A + X) >>> 0;";
    case 0x1c:
      return "A = (A - X) >>> 0;";
    case 0x2c:
      return "A = Math.imul(A, X) >>> 0;";
    case 0x3c:
      return "if (X === 0) return 0; A = Math.floor(A / X) >>> 0;";
    case 0x9c:
      return "if (X === 0) return 0; A = A % X;";
    case 0x4c:
      return "A = (A | X) >>> 0;";
    case 0x5c:
      return "A = (A & X) >>> 0;";
    case 0xac:
      return "A = (A ^ X) >>> 0;";
    case 0x6c:
      return "A = X < 32 ? (A << X) >>> 0 : 0;";
    case 0x7c:
      return "A = X < 32 ? A >>> X : 0;";
    case 0x84:
      return "A = (-A) >>> 0;";
    case 0x07:
      return "X = A;";
    case 0x87:
      return "A = X;";
  }
  throw new Error(`unvalidated opcode 0x${code.toString(16)}`);
}

function condition(code: number, k: number): string {
  const rhs = (code & 0x08) ? "X" : String(k);
  switch (code & 0xf0) {
    case BPF.JEQ:
      return `A === ${rhs}`;
    case BPF.JGT:
      return `A > ${rhs}`;
    case BPF.JGE:
      return `A >= ${rhs}`;
    default:
      return `(A & ${rhs}) !== 0`;
  }
}

/** The JavaScript source of the function body (exported for tests and `--debug` dumps). */
export function translateToSource(prog: BpfProgram): string {
  const n = prog.length;
  const { code, jt, jf, k } = prog;
  // Basic-block leaders: the entry, every jump target, every instruction after a jump or return.
  const leader = new Uint8Array(n + 1);
  leader[0] = 1;
  const used = new Set<number>();
  for (let i = 0; i < n; i++) {
    const cls = code[i] & 0x07;
    if (code[i] === 0x60 || code[i] === 0x61 || cls === BPF.ST || cls === BPF.STX) used.add(k[i]);
    if (cls === BPF.JMP) {
      if (code[i] === (BPF.JMP | BPF.JA)) leader[i + 1 + k[i]] = 1;
      else {
        leader[i + 1 + jt[i]] = 1;
        leader[i + 1 + jf[i]] = 1;
      }
      leader[i + 1] = 1;
    } else if (cls === BPF.RET) leader[i + 1] = 1;
  }
  // A jump straight to a `RET K` becomes an inline return.
  const target = (t: number): string =>
    code[t] === (BPF.RET | BPF.K)
      ? `return ${k[t]};`
      : code[t] === (BPF.RET | BPF.RET_A)
      ? "return A;"
      : `b = ${t};`;

  const out: string[] = [];
  out.push("let A = 0, X = 0, i = 0, b = 0;");
  for (const m of [...used].sort((a, b) => a - b)) out.push(`let m${m} = 0;`);
  out.push("const n = p.length;");
  for (let i = 0; i < n;) {
    // Blocks reached only through an inlined return are skipped by the guard; emitting them keeps
    // the translation simple and costs one comparison.
    const body: string[] = [];
    let j = i;
    for (;; j++) {
      const c = code[j];
      const cls = c & 0x07;
      if (cls === BPF.RET) {
        body.push(c === (BPF.RET | BPF.K) ? `return ${k[j]};` : "return A;");
        break;
      }
      if (cls === BPF.JMP) {
        if (c === (BPF.JMP | BPF.JA)) body.push(target(j + 1 + k[j]));
        else {
          body.push(
            `if (${condition(c, k[j])}) { ${target(j + 1 + jt[j])} } else { ${target(j + 1 + jf[j])} }`,
          );
        }
        break;
      }
      body.push(stmt(c, k[j]));
      if (leader[j + 1]) {
        body.push(`b = ${j + 1};`);
        break;
      }
    }
    out.push(i === 0 ? `{ ${body.join(" ")} }` : `if (b === ${i}) { ${body.join(" ")} }`);
    i = j + 1;
  }
  out.push("return 0;");
  return out.join("\n");
}

/**
 * The program as a native-speed JS function; undefined when the runtime forbids `new Function`
 * (a content security policy), in which case callers use the interpreter.
 */
export function translateBpf(prog: BpfProgram): BpfFunction | undefined {
  try {
    return new Function("p", "w", translateToSource(prog)) as BpfFunction;
  } catch {
    return undefined;
  }
}
