/**
 * The program as text, in the format of `tcpdump -d` (libpcap's bpf_image), so that a program can be
 * compared line by line with what tcpdump prints.
 */
import { BPF, type BpfProgram } from "./program.ts";

const hex = (k: number) => `#0x${k.toString(16)}`;
const dec = (k: number) => `#${k}`;

function opAndOperand(code: number, k: number, n: number): [string, string] {
  switch (code) {
    case 0x06:
      return ["ret", dec(k)];
    case 0x16:
      return ["ret", ""];
    case 0x20:
      return ["ld", `[${k}]`];
    case 0x28:
      return ["ldh", `[${k}]`];
    case 0x30:
      return ["ldb", `[${k}]`];
    case 0x80:
      return ["ld", "#pktlen"];
    case 0x40:
      return ["ld", `[x + ${k}]`];
    case 0x48:
      return ["ldh", `[x + ${k}]`];
    case 0x50:
      return ["ldb", `[x + ${k}]`];
    case 0x00:
      return ["ld", hex(k)];
    case 0x01:
      return ["ldx", hex(k)];
    case 0xb1:
      return ["ldxb", `4*([${k}]&0xf)`];
    case 0x60:
      return ["ld", `M[${k}]`];
    case 0x61:
      return ["ldx", `M[${k}]`];
    case 0x81:
      return ["ldx", "#pktlen"];
    case 0x02:
      return ["st", `M[${k}]`];
    case 0x03:
      return ["stx", `M[${k}]`];
    case 0x05:
      return ["ja", `${n + 1 + k}`];
    case 0x84:
      return ["neg", ""];
    case 0x07:
      return ["tax", ""];
    case 0x87:
      return ["txa", ""];
  }
  const cls = code & 0x07;
  const x = (code & 0x08) !== 0;
  if (cls === BPF.JMP) {
    const names: Record<number, string> = { 0x10: "jeq", 0x20: "jgt", 0x30: "jge", 0x40: "jset" };
    return [names[code & 0xf0], x ? "x" : hex(k)];
  }
  const alu: Record<number, [string, (k: number) => string]> = {
    0x00: ["add", dec],
    0x10: ["sub", dec],
    0x20: ["mul", dec],
    0x30: ["div", dec],
    0x90: ["mod", dec],
    0x40: ["or", hex],
    0x50: ["and", hex],
    0xa0: ["xor", hex],
    0x60: ["lsh", dec],
    0x70: ["rsh", dec],
  };
  const [name, fmt] = alu[code & 0xf0] ?? ["unimp", hex];
  return [name, x ? "x" : fmt(k)];
}

/** One line per instruction, like `tcpdump -d`. */
export function dumpProgram(prog: BpfProgram): string {
  const lines: string[] = [];
  for (let i = 0; i < prog.length; i++) {
    const code = prog.code[i];
    const [op, operand] = opAndOperand(code, prog.k[i], i);
    const num = `(${String(i).padStart(3, "0")})`;
    if ((code & 0x07) === BPF.JMP && code !== 0x05) {
      lines.push(
        `${num} ${op.padEnd(8)} ${operand.padEnd(16)} jt ${i + 1 + prog.jt[i]}\tjf ${i + 1 + prog.jf[i]}`,
      );
    } else {
      lines.push(`${num} ${op.padEnd(8)} ${operand}`);
    }
  }
  return lines.join("\n");
}
