import assert from "node:assert/strict";
import { analyzeJsonSchema } from "../../scripts/gen_schema.ts";

Deno.test("docs/analyze-report.schema.json is generated from the zod schema and up to date", async () => {
  const committed = await Deno.readTextFile(
    new URL("../../docs/analyze-report.schema.json", import.meta.url),
  );
  assert.equal(committed, analyzeJsonSchema(), "run: deno run -A scripts/gen_schema.ts");
  const s = JSON.parse(committed);
  assert.equal(s.properties.schema.const, "mpp.analyze/1");
  for (const k of ["packets", "bytes", "first", "last", "duration"]) {
    assert.ok(s.properties.summary.required.includes(k));
  }
});
