/**
 * The per-packet path allocates nothing: decoding millions of frames after warm-up triggers no
 * young-generation GC (V8 --trace-gc), while the same loop taking one view per packet does.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const probe = fileURLToPath(new URL("./_alloc_probe.ts", import.meta.url));

function gcsDuringLoop(mode: string): number {
  const r = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--trace-gc", probe, "3000000", mode],
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  assert.equal(r.success, true, new TextDecoder().decode(r.stderr));
  const out = new TextDecoder().decode(r.stdout);
  const start = out.indexOf("MEASURE-START");
  const end = out.indexOf("MEASURE-END");
  assert.ok(start >= 0 && end > start, out.slice(0, 500));
  return (out.slice(start, end).match(/Scavenge|Mark-Compact|Minor/g) ?? []).length;
}

Deno.test("decode allocates nothing per packet (no GC over 3M decodes after warm-up)", () => {
  assert.equal(gcsDuringLoop("none"), 0);
  assert.ok(gcsDuringLoop("alloc") > 0, "the probe must see a per-packet allocation");
});
