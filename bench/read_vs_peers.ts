/**
 * Reading speed: mpp's readCapture walking every record vs `tcpdump -r F -w /dev/null` on the same
 * generated file, in one run. Usage:
 *   deno run -A bench/read_vs_peers.ts [--records 1000000] [--avg 128] [--runs 3] [--format pcap|pcapng] [--gzip] [--stdin]
 * The file is written with mpp's own writer into .tmp/ (git-ignored) and reused when present. With
 * --gzip both read a `gzip -1` copy: mpp decompresses itself, the peer is `gzip -dc F.gz | tcpdump -r -`.
 * With --stdin both read the file from a pipe (`cat F | ...`), each as its own process (start-up
 * included): mpp's bare record walk (bench/lib/walk.ts) against `tcpdump -r - -w /dev/null`.
 */
import { parseArgs } from "node:util";
import { PcapWriter } from "../lib/capture/pcap_writer.ts";
import { PcapngWriter } from "../lib/capture/pcapng_writer.ts";
import { readCapture } from "../lib/capture/reader.ts";
import type { CaptureRecord } from "../lib/capture/record.ts";

const { values } = parseArgs({
  options: {
    records: { type: "string", default: "1000000" },
    avg: { type: "string", default: "128" },
    runs: { type: "string", default: "3" },
    format: { type: "string", default: "pcap" },
    gzip: { type: "boolean", default: false },
    stdin: { type: "boolean", default: false },
  },
});
const records = Number(values.records);
const avg = Number(values.avg);
const runs = Number(values.runs);
const dir = new URL("../.tmp/", import.meta.url).pathname;
Deno.mkdirSync(dir, { recursive: true });
const ng = values.format === "pcapng";
const path = `${dir}bench-${records}-${avg}.${ng ? "pcapng" : "pcap"}`;
const gz = values.gzip;
const pipe = values.stdin;
const walker = new URL("./lib/walk.ts", import.meta.url).pathname;
const input = gz ? `${path}.gz` : path;

async function generate(): Promise<void> {
  try {
    Deno.statSync(path);
    return;
  } catch { /* not there yet */ }
  // Deterministic lengths between 60 and 2*avg-60 (mean avg), bytes from a small LCG.
  const w = ng
    ? await PcapngWriter.create(path, { interfaces: [{ linkType: 1, precision: "ns" }] })
    : await PcapWriter.create(path, { precision: "ns" });
  const frame = new Uint8Array(65536);
  let x = 12345;
  for (let i = 0; i < frame.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    frame[i] = x >>> 24;
  }
  let sec = 1_700_000_000;
  let nsec = 0;
  for (let i = 0; i < records; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    const len = 60 + (x % (2 * (avg - 60) + 1));
    nsec += 667;
    if (nsec >= 1e9) {
      nsec -= 1e9;
      sec++;
    }
    w.write(frame.subarray(i & 1023, (i & 1023) + len), len, sec, nsec);
  }
  await w.close();
}

let sink = 0;
function walk(r: CaptureRecord): void {
  sink += r.data.length;
}

async function timeMpp(): Promise<number> {
  if (pipe) {
    const t0 = performance.now();
    const out = await new Deno.Command("sh", {
      args: ["-c", `cat '${input}' | '${Deno.execPath()}' run -A '${walker}' -`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const t = (performance.now() - t0) / 1000;
    const got = new TextDecoder().decode(out.stdout);
    if (!out.success || !got.startsWith(`${records} records`)) throw new Error(`mpp from stdin: ${got}`);
    return t;
  }
  sink = 0;
  const t0 = performance.now();
  const r = await readCapture(input, walk);
  const t = (performance.now() - t0) / 1000;
  if (r.records !== records) throw new Error(`mpp read ${r.records} records, expected ${records}`);
  // Every data byte was seen: a pcap is the header plus a 16-byte header and data per record.
  const want = Deno.statSync(path).size - 24 - 16 * records;
  if (!ng && sink !== want) throw new Error(`mpp saw ${sink} data bytes, expected ${want}`);
  return t;
}

async function timeTcpdump(): Promise<number | undefined> {
  const t0 = performance.now();
  try {
    const cmd = gz || pipe
      ? new Deno.Command("sh", {
        args: ["-c", `${gz ? "gzip -dc" : "cat"} '${input}' | tcpdump -r - -w /dev/null`],
        stderr: "piped",
      })
      : new Deno.Command("tcpdump", { args: ["-r", path, "-w", "/dev/null"], stderr: "piped" });
    const out = await cmd.output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  return (performance.now() - t0) / 1000;
}

await generate();
if (gz) {
  try {
    Deno.statSync(input);
  } catch {
    const out = await new Deno.Command("sh", { args: ["-c", `gzip -1 -c '${path}' > '${input}'`] }).output();
    if (!out.success) throw new Error("gzip failed");
  }
}
const size = Deno.statSync(path).size;
await timeMpp(); // warm the page cache and the JIT
let mpp = Infinity;
let tcpdump: number | undefined = Infinity;
for (let i = 0; i < runs; i++) {
  mpp = Math.min(mpp, await timeMpp());
  const t = await timeTcpdump();
  tcpdump = t === undefined ? undefined : Math.min(tcpdump ?? Infinity, t);
}
const mb = size / 1048576;
console.log(`file: ${input} (${records} records, ${mb.toFixed(1)} MiB uncompressed, avg caplen ${avg})`);
console.log(
  `${pipe ? "cat F | mpp walk -:      " : "mpp readCapture:            "}${mpp.toFixed(3)} s  ${
    (records / mpp / 1e6).toFixed(2)
  } M records/s  ${(mb / mpp).toFixed(0)} MiB/s`,
);
if (tcpdump === undefined) console.log("tcpdump: not installed");
else {
  console.log(
    `${gz ? "gzip -dc | tcpdump -r -" : pipe ? "cat F | tcpdump -r -" : "tcpdump -r F -w /dev/null"}:  ${
      tcpdump.toFixed(3)
    } s  ${(records / tcpdump / 1e6).toFixed(2)} M records/s  ${(mb / tcpdump).toFixed(0)} MiB/s`,
  );
  console.log(
    `ratio (tcpdump time / mpp time): ${(tcpdump / mpp).toFixed(2)}x (best of ${runs}, wall clock)`,
  );
}
