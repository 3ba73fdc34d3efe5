/**
 * TCP reassembly benchmark: `mpp analyze --streams` against `tcpflow -r` (and `tshark -z follow` for
 * one stream) on one generated capture with 10,000+ concurrent connections, reordering and
 * retransmissions; payload MB/s and peak memory for each, in one run. Then the full analysis with
 * reassembly on and off (packets/s), and the design question: one event-loop thread versus
 * Workers sharded by a symmetric flow hash (`mpp analyze --threads 1` against `--threads 2`).
 *
 *   deno run -A bench/reassembly_vs_tcpflow.ts [PACKETS=1000000] [SLOTS=12000]
 *
 * The capture and every output directory live on /dev/shm when it exists: this machine's ext4
 * spends 50-700 µs of kernel time creating one file (a C loop of open/write/close measures the
 * same), which would time the disk rather than the tools, and its kernel reclaims idle page cache
 * (DAMON), so a capture on disk is partly read from disk again by whichever tool runs next.
 */
import { join } from "node:path";
import { generate } from "./gen/traffic.ts";
import { PcapWriter } from "../lib/capture/mod.ts";
import { benchDir, fmtTable, haveCommand, measure, type Measured } from "./lib/measure.ts";

const MAIN = new URL("../cli/main.ts", import.meta.url).pathname;
// The Deno running this bench (node_modules/.bin/deno on a fresh machine: not on PATH).
const DENO = Deno.execPath();

async function main(): Promise<void> {
  const packets = Number(Deno.args[0] ?? 1_000_000);
  const slots = Number(Deno.args[1] ?? 12_000);
  const base = benchDir(".tmp");
  await Deno.mkdir(base, { recursive: true });
  const file = `${base}/reasm-${packets}-${slots}.pcap`;
  try {
    await Deno.stat(file);
  } catch {
    const w = await PcapWriter.create(file, { linkType: 1, precision: "ns" });
    generate(
      { packets, seed: 7, tcpSlots: slots, rtpStreams: 1, rtpShare: 0, dnsShare: 0, ptpShare: 0 },
      (fr, s, ns) => w.write(fr, fr.length, s, ns, 0),
    );
    await w.close();
  }
  const work = await Deno.makeTempDir({ prefix: "mpp-reasm-", dir: base });
  const cap = 64 << 20;
  const rows: Measured[] = [];
  const mppDir = join(work, "mpp"), tfDir = join(work, "tf");
  const mppRun = await measure(
    "mpp analyze --streams",
    `${DENO} run -A ${MAIN} analyze ${file} --streams ${mppDir} --tcp-memory ${cap} -q > /dev/null`,
  );
  rows.push(mppRun);
  const index = JSON.parse(await Deno.readTextFile(join(mppDir, "index.json")));
  const totals = index.totals as Record<string, number>;
  const payload = totals.bytes;
  const streams = totals.streams;
  let tcpflow: Measured | null = null;
  let outputCheck = "";
  if (haveCommand("tcpflow")) {
    await Deno.mkdir(tfDir);
    tcpflow = await measure("tcpflow -r", `tcpflow -r ${file} -o ${tfDir} 2>/dev/null`);
    rows.push(tcpflow);
    outputCheck = compareOutputs(mppDir, tfDir);
  }
  const floor = await filesFloor(work, mppDir);
  if (floor !== null) rows.push(floor);
  if (haveCommand("tshark")) {
    rows.push(
      await measure(
        "tshark -z follow (1 stream)",
        `tshark -r ${file} -q -z follow,tcp,raw,0 > /dev/null 2>&1`,
      ),
    );
  }
  // The design question: one thread with one flow map, or Workers sharded by a symmetric flow hash.
  const one = await measure(
    "mpp analyze --threads 1 (reassembly+HTTP)",
    `${DENO} run -A ${MAIN} analyze ${file} --json --threads 1 > /dev/null`,
  );
  const two = await measure(
    "mpp analyze --threads 2 (reassembly+HTTP)",
    `${DENO} run -A ${MAIN} analyze ${file} --json --threads 2 > /dev/null`,
  );
  const offOne = await measure(
    "mpp analyze --no-reassembly --threads 1",
    `${DENO} run -A ${MAIN} analyze ${file} --json --no-reassembly --threads 1 > /dev/null`,
  );
  const offTwo = await measure(
    "mpp analyze --no-reassembly --threads 2",
    `${DENO} run -A ${MAIN} analyze ${file} --json --no-reassembly --threads 2 > /dev/null`,
  );
  rows.push(one, two, offOne, offTwo);
  await Deno.remove(work, { recursive: true });

  const mb = payload / 1e6;
  console.log(
    `capture ${file}: ${packets} packets, ${streams} TCP connections (${slots} concurrent slots), ` +
      `${mb.toFixed(1)} MB payload, ${totals.outOfOrder} out-of-order, ` +
      `${totals.retransmitted} retransmitted, ${totals.overlapBytes} overlapping bytes`,
  );
  console.log(
    fmtTable([
      ["run", "wall s", "cpu s", "peak RSS MiB", "payload MB/s", "Mpkt/s"],
      ...rows.map((r) => [
        r.name,
        r.wall.toFixed(2),
        r.cpu.toFixed(2),
        r.maxRssMiB.toFixed(0),
        r.name.startsWith("tshark") || r === floor ? "-" : (mb / r.wall).toFixed(1),
        (packets / r.wall / 1e6).toFixed(3),
      ]),
    ]),
  );
  if (tcpflow) {
    console.log(`mpp --streams / tcpflow throughput: ${(tcpflow.wall / mppRun.wall).toFixed(2)}x`);
    // The issue's target (5x tcpflow) as a time budget, beside what the kernel alone needs for the files.
    console.log(
      `5x tcpflow is ${(tcpflow.wall / 5).toFixed(2)} s wall` +
        (floor === null
          ? ""
          : `; writing the same files from C and doing nothing else takes ${floor.wall.toFixed(2)} s wall (${
            floor.cpu.toFixed(2)
          } s cpu) on one thread`),
    );
    console.log(`outputs: ${outputCheck}`);
  }
  console.log(
    `reassembly caps: --tcp-memory ${cap >> 20} MiB global, 1024 KiB per direction (default); ` +
      `peak out-of-order buffered ${(totals.peakBuffered / 1024).toFixed(0)} KiB; process peak RSS ${
        mppRun.maxRssMiB.toFixed(0)
      } MiB`,
  );

  console.log(
    `sharded by flow hash, 2 threads / 1 thread (wall): with reassembly ${
      (one.wall / two.wall).toFixed(2)
    }x, ` +
      `without ${(offOne.wall / offTwo.wall).toFixed(2)}x, on ${navigator.hardwareConcurrency} cores`,
  );
}

/**
 * Writes the files mpp wrote again, from C, with nothing else to do (bench/files_floor.c): the least
 * time any tool needs to create them here. Null without a C compiler.
 */
async function filesFloor(work: string, mppDir: string): Promise<Measured | null> {
  if (!haveCommand("cc")) return null;
  const bin = join(work, "files_floor");
  const src = new URL("./files_floor.c", import.meta.url).pathname;
  if (!new Deno.Command("cc", { args: ["-O2", "-o", bin, src] }).outputSync().success) return null;
  const list = join(work, "files.txt"), out = join(work, "floor");
  const lines: string[] = [];
  for (const e of Deno.readDirSync(mppDir)) {
    if (e.name === "index.json") continue;
    lines.push(`${Deno.statSync(join(mppDir, e.name)).size} ${e.name}`);
  }
  await Deno.writeTextFile(list, lines.join("\n") + "\n");
  await Deno.mkdir(out);
  return await measure("C: write the same files, nothing else (floor)", `${bin} ${list} ${out} > /dev/null`);
}

/** The same file names, and every file the same size (contents: 1 in 50 compared byte for byte). */
function compareOutputs(mppDir: string, tfDir: string): string {
  const names = (d: string) =>
    new Set(
      [...Deno.readDirSync(d)].map((e) => e.name).filter((n) => n !== "report.xml" && n !== "index.json"),
    );
  const a = names(mppDir), b = names(tfDir);
  const onlyMpp = [...a].filter((n) => !b.has(n)), onlyTf = [...b].filter((n) => !a.has(n));
  let sizeDiff = 0, contentDiff = 0, compared = 0, i = 0;
  for (const n of a) {
    if (!b.has(n)) continue;
    const x = Deno.statSync(join(mppDir, n)).size, y = Deno.statSync(join(tfDir, n)).size;
    if (x !== y) sizeDiff++;
    else if (i++ % 50 === 0) {
      compared++;
      const p = Deno.readFileSync(join(mppDir, n)), q = Deno.readFileSync(join(tfDir, n));
      if (p.some((v, k) => v !== q[k])) contentDiff++;
    }
  }
  return `${a.size} files from mpp, ${b.size} from tcpflow; only mpp ${onlyMpp.length}${
    onlyMpp.length ? ` (e.g. ${onlyMpp[0]})` : ""
  }, only tcpflow ${onlyTf.length}${
    onlyTf.length ? ` (e.g. ${onlyTf[0]})` : ""
  }; sizes differ ${sizeDiff}; contents compared ${compared}, differ ${contentDiff}`;
}

if (import.meta.main) await main();
