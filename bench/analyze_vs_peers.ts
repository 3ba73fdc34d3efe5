/**
 * mpp analyze against tshark and tcpdump on the same generated capture, in one run.
 *
 *   deno run -A bench/analyze_vs_peers.ts [--packets 1000000] [--big 5000000] [--no-tshark] [--dir DIR]
 *
 * Generates a deterministic capture with the project's own writer (bench/gen), then times the full
 * analysis (`mpp analyze --json`), `tshark -q -z conv,tcp`, `tshark -q -z io,phs`,
 * `tcpdump -n -q -r`, a plain `cat` and mpp's bare record walk, and prints packets/s, CPU seconds,
 * peak RSS and each tool's ratio to mpp. With --big it also analyzes a larger file of the same flow
 * population to show how peak memory grows with the file.
 *
 * mpp runs on one thread (--threads 1) and split over the cores (--threads auto), with and without
 * TCP reassembly. Captures go to /dev/shm when it exists (--dir to change): this machine's kernel
 * reclaims idle page cache on its own (DAMON, kdamond), so a 700 MB file "warmed" in the page cache
 * was partly read from disk again by whichever tool ran next; tmpfs keeps it in memory for all.
 */
import { parseArgs } from "node:util";
import { writeGenerated } from "./gen/write.ts";
import { benchDir, fmtTable, haveCommand, measure, type Measured } from "./lib/measure.ts";
import { parseConv, parsePhs } from "../tests/_util/tshark.ts";
import type { AnalyzeReport } from "../lib/flow/report_schema.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    packets: { type: "string", default: "1000000" },
    big: { type: "string" },
    "no-tshark": { type: "boolean", default: false },
    dir: { type: "string" },
  },
});
const n = Number(values.packets);
const root = new URL("..", import.meta.url).pathname;
const tmp = values.dir ?? benchDir(`${root}.tmp`);
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
runs.push(
  await measure(
    "mpp analyze --json (full hierarchy, reassembly, HTTP; auto: 2 threads)",
    `${mpp} analyze --json ${file} > ${tmp}/mpp-report.json`,
  ),
);
runs.push(
  await measure(
    "mpp analyze --json --threads 1",
    `${mpp} analyze --json --threads 1 ${file} > /dev/null`,
  ),
);
runs.push(
  await measure(
    "mpp analyze --json --no-reassembly (auto: 1 thread)",
    `${mpp} analyze --json --no-reassembly ${file} > /dev/null`,
  ),
);
runs.push(
  await measure(
    "mpp analyze --json --no-reassembly --threads 1",
    `${mpp} analyze --json --no-reassembly --threads 1 ${file} > /dev/null`,
  ),
);
runs.push(
  await measure(
    "mpp read-only walk",
    `${root}node_modules/.bin/deno run -A ${root}bench/lib/walk.ts ${file}`,
  ),
);
if (!values["no-tshark"] && haveCommand("tshark")) {
  runs.push(
    await measure(
      "tshark -q -z conv,tcp",
      `tshark -n -r ${file} -q -z conv,tcp > ${tmp}/tshark-conv.txt 2>&1`,
    ),
  );
  runs.push(
    await measure("tshark -q -z io,phs", `tshark -n -r ${file} -q -z io,phs > ${tmp}/tshark-phs.txt 2>&1`),
  );
}
if (haveCommand("tcpdump")) {
  runs.push(await measure("tcpdump -n -q -r", `tcpdump -n -q -r ${file} > /dev/null 2>&1`));
}
runs.push(await measure("cat file > /dev/null", `cat ${file} > /dev/null`));

const base = runs[0];
const rows = [[
  "tool",
  "wall s",
  "cpu s",
  "Mpkt/s (wall)",
  "Mpkt/s (cpu)",
  "peak RSS MiB",
  "wall vs mpp analyze",
  "cpu vs mpp analyze",
]];
for (const r of runs) {
  rows.push([
    r.name + (r.ok ? "" : " (FAILED)"),
    r.wall.toFixed(2),
    r.cpu.toFixed(2),
    (n / r.wall / 1e6).toFixed(2),
    (n / r.cpu / 1e6).toFixed(2),
    r.maxRssMiB.toFixed(0),
    `${(r.wall / base.wall).toFixed(2)}x`,
    `${(r.cpu / base.cpu).toFixed(2)}x`,
  ]);
}
console.log(fmtTable(rows));
for (const r of runs) if (!r.ok) console.error(`${r.name} failed:\n${r.stderr}`);
if (!values["no-tshark"] && haveCommand("tshark")) {
  console.log(
    compareWithTshark(
      JSON.parse(await Deno.readTextFile(`${tmp}/mpp-report.json`)),
      await Deno.readTextFile(`${tmp}/tshark-conv.txt`),
      await Deno.readTextFile(`${tmp}/tshark-phs.txt`),
    ),
  );
}

if (values.big) {
  const nb = Number(values.big);
  const big = `${tmp}/bench-${nb}.pcap`;
  await ensure(big, nb);
  // Memory on one thread for both sizes (a second thread holds a second heap), speed both ways.
  for (const [i, flags] of [[1, ""], [3, "--no-reassembly"]] as const) {
    const small = runs[i];
    const one = await measure(
      "big, 1 thread",
      `${mpp} analyze --json --threads 1 ${flags} ${big} > /dev/null`,
    );
    const auto = await measure("big, auto", `${mpp} analyze --json ${flags} ${big} > /dev/null`);
    console.log(
      `${flags || "with reassembly"}, --threads 1: ${n.toLocaleString("en-US")} packets → ${
        small.maxRssMiB.toFixed(0)
      } MiB peak; ${nb.toLocaleString("en-US")} packets → ${one.maxRssMiB.toFixed(0)} MiB peak, ${
        (nb / one.wall / 1e6).toFixed(2)
      } Mpkt/s wall; auto threads: ${(nb / auto.wall / 1e6).toFixed(2)} Mpkt/s wall, ${
        auto.maxRssMiB.toFixed(0)
      } MiB peak`,
    );
  }
}

/**
 * The timed runs' outputs side by side: every TCP conversation row (frames each way, bytes where
 * tshark prints them exactly) and every io,phs path both tools decode. HTTP paths are left out:
 * tshark's default leaves reordered segments out of reassembly (docs/tcp.md; the test
 * tests/flow/reorder_vs_tshark_test.ts compares them with the setting on).
 */
function compareWithTshark(report: AnalyzeReport, convText: string, phsText: string): string {
  const norm = (a: string) => a.replace(/^\[(.*)\]:(\d+)$/, "$1:$2");
  const pool = new Map<string, number[]>();
  for (const r of report.conversations.tcp) {
    const k = `${norm(r.a)} ${norm(r.b)} ${r.aToBPackets} ${r.bToAPackets}`;
    pool.set(k, [...(pool.get(k) ?? []), r.bytes]);
  }
  const theirs = parseConv(convText, "TCP Conversations");
  let convSame = 0;
  for (const t of theirs) {
    const left = pool.get(`${t.a} ${t.b} ${t.aToBFrames} ${t.bToAFrames}`) ?? [];
    const i = t.bytes === null ? (left.length > 0 ? 0 : -1) : left.indexOf(t.bytes);
    if (i >= 0) {
      left.splice(i, 1);
      convSame++;
    }
  }
  const shared = new Set(["eth", "vlan", "ip", "ipv6", "tcp", "udp", "dns", "ptp"]);
  const ours = new Map(report.phs.map((e) => [e.path, e.packets]));
  let phsSame = 0, phsAll = 0;
  for (const [path, n] of parsePhs(phsText)) {
    if (!path.split(":").every((x) => shared.has(x))) continue;
    phsAll++;
    if (ours.get(path) === n) phsSame++;
  }
  return `outputs: conv,tcp ${convSame} of ${theirs.length} tshark rows equal in mpp's ${report.conversations.tcp.length}; ` +
    `io,phs ${phsSame} of ${phsAll} paths equal (eth/vlan/ip/ipv6/tcp/udp/dns/ptp)`;
}
