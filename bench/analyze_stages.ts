/**
 * Where analyze's time goes, without I/O or start-up: reads the file into memory once, then times
 * (min of 3) the bare record walk, walk + packet decoding, the full Analyzer, the report built from
 * it and that report's JSON text.
 *   deno run -A bench/analyze_stages.ts FILE
 */
import { CaptureParser } from "../lib/capture/mod.ts";
import type { CaptureRecord } from "../lib/capture/record.ts";
import { PacketDecoder } from "../lib/packet/decoder.ts";
import { Packet } from "../lib/packet/packet.ts";
import { Analyzer } from "../lib/flow/analyzer.ts";
import { JsonWriter } from "../cli/render/json_out.ts";

const buf = await Deno.readFile(Deno.args[0]);
function run(sink: (r: CaptureRecord) => void): void {
  const p = new CaptureParser(sink);
  const chunk = 4 << 20;
  for (let o = 0; o < buf.length; o += chunk) p.push(buf.subarray(o, Math.min(buf.length, o + chunk)));
  p.end();
}
let count = 0;
const stages: [string, () => (r: CaptureRecord) => void][] = [
  ["walk", () => () => void count++],
  ["decode", () => {
    const d = new PacketDecoder();
    const p = new Packet();
    return (r) => d.decode(r, p);
  }],
  ["analyze", () => new Analyzer().sink],
];
for (const [name, make] of stages) {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const sink = make();
    const t0 = performance.now();
    run(sink);
    best = Math.min(best, performance.now() - t0);
  }
  console.log(`${name.padEnd(8)} ${best.toFixed(0).padStart(6)} ms`);
}

// The report after the analysis: partial (per analyzer) and the merge into the final form.
{
  const { buildReport } = await import("../lib/flow/report.ts");
  const a = new Analyzer();
  run(a.sink);
  a.finish();
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    buildReport(a, { files: [] });
    best = Math.min(best, performance.now() - t0);
  }
  console.log(`${"report".padEnd(8)} ${best.toFixed(0).padStart(6)} ms`);
  // The JSON text of that report as `mpp analyze --json` writes it, into a sink that only counts.
  const report = buildReport(a, { files: [] });
  let bytes = 0;
  best = Infinity;
  for (let i = 0; i < 3; i++) {
    bytes = 0;
    const t0 = performance.now();
    new JsonWriter((b) => void (bytes += b.length)).write(report);
    best = Math.min(best, performance.now() - t0);
  }
  console.log(`${"json".padEnd(8)} ${best.toFixed(0).padStart(6)} ms  (${(bytes / 1e6).toFixed(1)} MB)`);
}
