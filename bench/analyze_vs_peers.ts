/**
 * mpp analyze against tshark and tcpdump on the same generated capture, in one run.
 *
 *   deno run -A bench/analyze_vs_peers.ts [--packets 1000000] [--big 5000000] [--no-tshark]
 *
 * Generates a deterministic capture with the project's own writer (bench/gen), then times the full
 * analysis (`mpp analyze --json`), `tshark -q -z conv,tcp`, `tshark -q -z io,phs`,
 * `tcpdump -n -q -r`, a plain `cat` and mpp's bare record walk, and prints packets/s, CPU seconds,
 * peak RSS and each tool's ratio to mpp. With --big it also analyzes a larger file of the same flow
 * population to show that peak memory does not grow with the file.
 */
import { parseArgs } from "node:util";
import { writeGenerated } from "./gen/write.ts";
import { fmtTable, haveCommand, measure, type Measured } from "./lib/measure.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    packets: { type: "string", default: "1000000" },
    big: { type: "string" },
    "no-tshark": { type: "boolean", default: false },
  },
});
const n = Number(values.packets);
const root = new URL("..", import.meta.url).pathname;
const tmp = `${root}.tmp`;
await Deno.mkdir(tmp, { recursive: true });
const file = `${tmp}/bench-${n}.pcap`;
const mpp = `${root}mpp`;

async function ensure(path: string, count: number) {
  try {
    await Deno.stat(path);
  } catch {
    console.error(`generating ${count} packets into ${path} ...`);
    await writeGenerated(path, count, 1);
  }
}
await ensure(file, n);
const size = (await Deno.stat(file)).size;
console.log(`capture: ${file}, ${n.toLocaleString("en-US")} packets, ${(size / 2 ** 20).toFixed(0)} MiB`);

// Warm the page cache so every tool reads from memory.
await measure("warm", `cat ${file} > /dev/null`);

const runs: Measured[] = [];
runs.push(await measure("mpp analyze --json (full hierarchy)", `${mpp} analyze --json ${file} > /dev/null`));
runs.push(
  await measure(
    "mpp read-only walk",
    `${root}node_modules/.bin/deno run -A ${root}bench/lib/walk.ts ${file}`,
  ),
);
if (!values["no-tshark"] && haveCommand("tshark")) {
  runs.push(await measure("tshark -q -z conv,tcp", `tshark -n -r ${file} -q -z conv,tcp > /dev/null 2>&1`));
  runs.push(await measure("tshark -q -z io,phs", `tshark -n -r ${file} -q -z io,phs > /dev/null 2>&1`));
}
if (haveCommand("tcpdump")) {
  runs.push(await measure("tcpdump -n -q -r", `tcpdump -n -q -r ${file} > /dev/null 2>&1`));
}
runs.push(await measure("cat file > /dev/null", `cat ${file} > /dev/null`));

const base = runs[0];
const rows = [["tool", "wall s", "cpu s", "Mpkt/s (cpu)", "peak RSS MiB", "cpu time vs mpp analyze"]];
for (const r of runs) {
  rows.push([
    r.name + (r.ok ? "" : " (FAILED)"),
    r.wall.toFixed(2),
    r.cpu.toFixed(2),
    (n / r.cpu / 1e6).toFixed(2),
    r.maxRssMiB.toFixed(0),
    `${(r.cpu / base.cpu).toFixed(2)}x`,
  ]);
}
console.log(fmtTable(rows));
for (const r of runs) if (!r.ok) console.error(`${r.name} failed:\n${r.stderr}`);

if (values.big) {
  const nb = Number(values.big);
  const big = `${tmp}/bench-${nb}.pcap`;
  await ensure(big, nb);
  const m = await measure("mpp analyze --json (big)", `${mpp} analyze --json ${big} > /dev/null`);
  console.log(
    `memory: ${n.toLocaleString("en-US")} packets → ${base.maxRssMiB.toFixed(0)} MiB peak; ` +
      `${nb.toLocaleString("en-US")} packets → ${m.maxRssMiB.toFixed(0)} MiB peak ` +
      `(${(nb / m.cpu / 1e6).toFixed(2)} Mpkt/s cpu)`,
  );
}
