/**
 * BPF everywhere: compile a tcpdump filter with libpcap, then run it in TypeScript with no FFI call
 * per packet, either through the translated function (fast) or the interpreter (reference).
 */
import { runBpf } from "./interpreter.ts";
import type { BpfProgram } from "./program.ts";
import { type BpfFunction, translateBpf } from "./translate.ts";

export { compileFilter, DEFAULT_SNAPLEN } from "./compile.ts";
export { runBpf } from "./interpreter.ts";
export { BPF, type BpfInsn, type BpfProgram, makeProgram, programInsns, validateProgram } from "./program.ts";
export { type BpfFunction, translateBpf, translateToSource } from "./translate.ts";
export { dumpProgram } from "./dump.ts";

/** A filter ready for per-packet use: the translated function, or the interpreter where that is refused. */
export class BpfFilter {
  readonly program: BpfProgram;
  readonly #fn: BpfFunction | undefined;
  /** True when running the JS translation (false: interpreter). */
  readonly translated: boolean;

  constructor(prog: BpfProgram, opts: { interpret?: boolean } = {}) {
    this.program = prog;
    this.#fn = opts.interpret ? undefined : translateBpf(prog);
    this.translated = this.#fn !== undefined;
  }

  /** tcpdump's verdict for a frame: `data` is the captured bytes, `origLen` the length on the wire. */
  matches(data: Uint8Array, origLen: number): boolean {
    return (this.#fn ? this.#fn(data, origLen) : runBpf(this.program, data, origLen)) !== 0;
  }
}
