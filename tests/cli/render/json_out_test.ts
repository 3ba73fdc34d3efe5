import assert from "node:assert/strict";
import { JsonWriter } from "../../../cli/render/json_out.ts";

function written(v: unknown): string {
  const parts: Uint8Array[] = [];
  // The writer reuses its buffer: copy what the sink gets.
  new JsonWriter((b) => parts.push(b.slice())).write(v);
  return new TextDecoder().decode(new Uint8Array(parts.flatMap((p) => [...p])));
}

Deno.test("JsonWriter writes what JSON.stringify writes, at every depth", () => {
  const values: unknown[] = [
    null,
    0,
    -1.5e-7,
    'tab\t "quoted" \u2192 \ud83d\ude00 \u0000',
    [],
    {},
    [1, undefined, () => 1, null, "x"],
    { a: undefined, b: 1, c: { d: [{ e: { f: [1, 2, { g: undefined, h: NaN }] } }] }, 'k"ey': true },
    { when: new Date(0), list: [[[[[1]]]]], inf: Infinity },
  ];
  for (const v of values) assert.equal(written(v), JSON.stringify(v) + "\n", JSON.stringify(v));
});

Deno.test("JsonWriter: output larger than its buffer, and strings larger than it, come out whole", () => {
  const big = "é".repeat(700_000); // 1.4 MB of UTF-8 in one string: written past the 1 MiB buffer
  const v = {
    flows: Array.from(
      { length: 30_000 },
      (_, i) => ({ id: i, label: `10.0.0.${i % 256} → x`, n: [i, i / 3] }),
    ),
    big,
  };
  assert.equal(written(v), JSON.stringify(v) + "\n");
});
