/** The validator rejects every program that could misbehave, with an MppError naming the instruction. */
import assert from "node:assert/strict";
import { type BpfInsn, makeProgram } from "../../lib/filter/mod.ts";
import { MppError } from "../../lib/errors.ts";

const I = (code: number, k = 0, jt = 0, jf = 0): BpfInsn => ({ code, jt, jf, k });

function rejects(insns: BpfInsn[], why: RegExp): void {
  assert.throws(() => makeProgram(insns), (e) => {
    assert.ok(e instanceof MppError, String(e));
    assert.equal(e.code, "bad_input");
    assert.match(e.message, why);
    assert.ok(e.hint.length > 0);
    return true;
  });
}

Deno.test("validator: malformed programs are refused before they run", () => {
  rejects([], /empty program/);
  rejects([I(0x30, 0)], /instruction 0: the last instruction is not a return/);
  rejects([I(0xff), I(0x06)], /instruction 0: unknown opcode 0xff/);
  rejects([I(0x0e), I(0x06)], /unknown opcode 0xe/); // RET X does not exist in libpcap
  rejects([I(0x60, 16), I(0x06)], /scratch memory index 16/);
  rejects([I(0x02, 99), I(0x06)], /scratch memory index 99/);
  rejects([I(0x34, 0), I(0x06)], /division by constant zero/);
  rejects([I(0x94, 0), I(0x06)], /division by constant zero/);
  rejects([I(0x05, 1), I(0x06)], /instruction 0: jump offset 1 leaves the program/);
  rejects([I(0x15, 0, 0, 2), I(0x06), I(0x06)], /jump target leaves the program/);
  rejects([I(0x15, 0, 5, 0), I(0x06)], /jump target leaves the program/);
  rejects(Array.from({ length: 4097 }, () => I(0x06)), /more than 4096 instructions/);
});

Deno.test("validator: accepts valid programs and keeps k unsigned", () => {
  const p = makeProgram([I(0x00, -1), I(0x15, 0xffffffff, 0, 1), I(0x06, 1), I(0x06, 0)]);
  assert.equal(p.length, 4);
  assert.equal(p.k[0], 0xffffffff);
  assert.equal(p.linkType, -1);
});
