import assert from "node:assert/strict";
import { table } from "../../../cli/render/format.ts";
import { isoTime } from "../../../cli/render/tree.ts";
import { columnWidths } from "../../../lib/column_widths.ts";

Deno.test("table: columns as wide as their widest cell, even with 300,000 rows", () => {
  // io,stat over a long capture or --http on a busy one: spreading a column as call arguments
  // overflowed the stack here.
  const rows = Array.from({ length: 300_000 }, (_, i) => [`${i}`, i === 123 ? "wide cell" : "x"]);
  const out = table([{ title: "N", align: "right" }, { title: "V" }], rows);
  const lines = out.split("\n");
  assert.equal(lines.length, 300_002);
  assert.equal(lines[0], "     N  V");
  assert.equal(lines[1], "──────  ─────────");
  assert.equal(lines[2 + 123], "   123  wide cell");
  assert.deepEqual(columnWidths(rows, 2), [6, 9]);
  assert.deepEqual(columnWidths([["ab"]], 2, (s) => s.length, [1, 4]), [2, 4]);
});

Deno.test("isoTime: full sub-second precision, and epoch seconds beyond JavaScript dates", () => {
  assert.equal(isoTime("1700000000.123456789"), "2023-11-14T22:13:20.123456789Z");
  // A damaged 64-bit pcapng timestamp can lie ~10^12 years away: named, not a RangeError.
  assert.equal(isoTime("18446744073709.551615"), "epoch 18446744073709.551615 s");
});
