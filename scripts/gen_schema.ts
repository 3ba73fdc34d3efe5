/**
 * Writes docs/analyze-report.schema.json, the JSON Schema of `mpp analyze --json` generated from
 * the zod schema (lib/flow/report_schema.ts), so the documented format cannot drift from the code:
 * tests/flow/report_schema_test.ts fails when the committed file is stale.
 *   deno run -A scripts/gen_schema.ts
 */
import { z } from "zod";
import { AnalyzeReport } from "../lib/flow/report_schema.ts";

export function analyzeJsonSchema(): string {
  const schema = z.toJSONSchema(AnalyzeReport, { target: "draft-2020-12", io: "output" });
  return JSON.stringify({ $id: "mpp.analyze/1", title: "mpp analyze --json report", ...schema }, null, 2) +
    "\n";
}

if (import.meta.main) {
  const out = new URL("../docs/analyze-report.schema.json", import.meta.url);
  await Deno.writeTextFile(out, analyzeJsonSchema());
  console.log(`wrote ${out.pathname}`);
}
