import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { AnalyzeReport } from "../../lib/flow/report_schema.ts";
import { concat, frame, pcapHeader, pcapRecord } from "../capture/_build.ts";
import { corpusAvailable, corpusPath, corpusTest, haveTool, testIf } from "../_util/corpus.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const sample = `${root}samples/demo.pcapng`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function mpp(args: string[], stdin?: Uint8Array): Promise<Run> {
  const child = new Deno.Command(`${root}mpp`, {
    args,
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const w = child.stdin.getWriter();
    await w.write(stdin);
    await w.close();
  }
  const out = await child.output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** A user-facing error: `mpp: ...` plus a hint, and never a stack trace. */
function assertCleanError(r: Run, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `exit status (stderr: ${r.stderr})`);
  const lines = r.stderr.trim().split("\n");
  assert.match(lines[0], /^(mpp: |error: )/);
  assert.match(r.stderr, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
}

async function tmpFile(bytes: Uint8Array, suffix = ".pcap"): Promise<string> {
  const p = await Deno.makeTempFile({ suffix });
  await Deno.writeFile(p, bytes);
  return p;
}

Deno.test("README's first command: the sample analyses and prints the hierarchy", async () => {
  const r = await mpp(["analyze", sample]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^1,500 frames/);
  assert.match(r.stdout, /PTP \(v2\)/);
  assert.match(r.stdout, /· Sync/);
  assert.match(r.stdout, /RTP/);
  assert.match(r.stdout, /PCMU \(0\)/);
});

Deno.test("--json follows schema mpp.analyze/1 with exact timestamps, packet types and RTP streams", async () => {
  const r = await mpp(["analyze", "--json", sample]);
  assert.equal(r.code, 0, r.stderr);
  const rep = AnalyzeReport.parse(JSON.parse(r.stdout));
  assert.equal(rep.schema, "mpp.analyze/1");
  assert.equal(rep.summary.packets, 1500);
  assert.match(rep.summary.first!, /^\d+\.\d{9}$/);
  assert.equal(rep.summary.first, "1700000000.000000000");
  const ptp = rep.flows.find((f) => f.encodings[0]?.name === "PTP" && f.transport.name === "PTP");
  assert.ok(ptp, "an Ethernet PTP flow");
  const types = Object.fromEntries(ptp.encodings[0].packetTypes.map((t) => [t.name, t.packets]));
  assert.equal(types["Sync"], types["Follow_Up"]);
  assert.ok(types["Sync"] > 0);
  assert.equal(rep.rtp.streams.length, 3);
  for (const s of rep.rtp.streams) assert.ok(s.ssrc > 0 && s.packets > 100 && s.lost >= 0);
  // Frames in all flows add up to the total (every sample frame has endpoints).
  assert.equal(rep.flows.reduce((a, f) => a + f.packets, 0), 1500);
});

Deno.test("--csv has one header and one row per hierarchy node", async () => {
  const r = await mpp(["analyze", "--csv", sample]);
  assert.equal(r.code, 0);
  const lines = r.stdout.trim().split("\n");
  assert.match(lines[0], /^level,flow,name,/);
  assert.ok(lines.some((l) => l.startsWith("packet_type,")));
});

Deno.test("--phs, --conv, --endpoints and --io print their tables", async () => {
  const r = await mpp(["analyze", sample, "--phs", "--conv", "udp", "--endpoints", "ip", "--io", "1"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Protocol hierarchy/);
  assert.match(r.stdout, /UDP conversations/);
  assert.match(r.stdout, /IPv4 endpoints/);
  assert.match(r.stdout, /I\/O statistics, interval 1 s/);
});

Deno.test("--io: frames outside the kept intervals are named in one warning line, not a huge table", async () => {
  const f = frame(60);
  const day = 86_400;
  const file = await tmpFile(concat(
    pcapHeader(),
    pcapRecord(true, 1_700_000_000, 0, f),
    pcapRecord(true, 1_700_000_000, 500_000, f),
    pcapRecord(true, 1_700_000_000 - 5, 0, f), // earlier than the first frame
    pcapRecord(true, 1_700_000_000 + 30 * day, 0, f), // past 1,000,000 one-second intervals
  ));
  const r = await mpp(["analyze", file, "--io", "1"]);
  assert.equal(r.code, 0, r.stderr);
  const warnings = r.stderr.trim().split("\n");
  assert.equal(warnings.length, 1, r.stderr);
  assert.match(
    warnings[0],
    /^mpp: warning: io,stat: 2 frames fell outside its 1000000 intervals of 1 s from the first frame /,
  );
  assert.match(warnings[0], /use a larger --io interval/);
  assert.match(r.stdout, /I\/O statistics, interval 1 s/);
  const j = JSON.parse((await mpp(["analyze", file, "--io", "1", "--json", "-q"])).stdout);
  assert.equal(j.io.outOfRange, 2);
  assert.deepEqual(j.io.rows.map((x: { frames: number }) => x.frames), [2]);
});

Deno.test("standard input and gzip input give the same counts as the file", async () => {
  const bytes = await Deno.readFile(sample);
  const viaStdin = await mpp(["analyze", "--json", "-"], bytes);
  assert.equal(viaStdin.code, 0, viaStdin.stderr);
  assert.equal(JSON.parse(viaStdin.stdout).summary.packets, 1500);
  const gz = await new Response(new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip")))
    .bytes();
  const p = await tmpFile(gz, ".pcapng.gz");
  const viaGz = await mpp(["analyze", "--json", p]);
  assert.equal(JSON.parse(viaGz.stdout).summary.packets, 1500);
  assert.equal(JSON.parse(viaGz.stdout).files[0].compressed, true);
});

Deno.test("a missing file is a one-line error with a hint and exit 1", async () => {
  const r = await mpp(["analyze", "/nonexistent/x.pcap"]);
  assertCleanError(r, 1, /hint: /);
});

Deno.test("a garbage file names the bad magic; a zero-length file says it is empty", async () => {
  const g = await tmpFile(new TextEncoder().encode("<html>not a capture</html>\n"));
  assertCleanError(await mpp(["analyze", g]), 1, /not a capture file|magic/);
  const e = await tmpFile(new Uint8Array(0));
  assertCleanError(await mpp(["analyze", e]), 1, /empty/);
});

Deno.test("bad arguments exit 2 with the problem named", async () => {
  assertCleanError(await mpp(["analyze", sample, "--top", "many"]), 2, /not a whole number/);
  assertCleanError(await mpp(["analyze", sample, "--conv", "sctp2"]), 2, /unknown conversation type 'sctp2'/);
  assertCleanError(await mpp(["analyze", sample, "--decode-as", "udp.port=99999:rtp"]), 2, /99999|port/);
  assertCleanError(await mpp(["analyze", sample, "--sort", "color"]), 2, /color/);
  assertCleanError(await mpp(["analyze", sample, "--threads", "0"]), 2, /'0' is not a thread count/);
  assertCleanError(await mpp(["analyze", sample, "--threads", "lots"]), 2, /'lots' is not a thread count/);
  assertCleanError(await mpp(["analyze"]), 2, /missing required argument/);
  assertCleanError(await mpp(["analyse-typo", sample]), 2, /unknown command/);
});

Deno.test("--threads 2 gives the one-thread report; with --http it stays on one thread and says why", async () => {
  const one = await mpp(["analyze", "--json", "--threads", "1", sample]);
  const two = await mpp(["analyze", "--json", "--threads", "2", sample]);
  assert.equal(two.code, 0, two.stderr);
  // Equal but for the two per-shard TCP figures (each shard's share of the cap, the sum of peaks).
  const norm = (out: string) => {
    const r = JSON.parse(out);
    r.tcp.peakBuffered = r.tcp.limits.globalLimit = 0;
    return JSON.stringify(r);
  };
  assert.ok(norm(two.stdout) === norm(one.stdout), "the 2-thread report differs from the 1-thread report");
  const http = await mpp(["analyze", "--http", "--threads", "2", sample]);
  assert.equal(http.code, 0, http.stderr);
  assert.match(http.stderr, /warning: analysed on one thread: --http and --extract-http/);
});

Deno.test("--decode-as forces a decoder and says so as the evidence", async () => {
  const r = await mpp(["analyze", "--json", sample, "--decode-as", "udp.port=53:rtp"]);
  assert.equal(r.code, 0, r.stderr);
  const rep = AnalyzeReport.parse(JSON.parse(r.stdout));
  const dns = rep.flows.filter((f) => f.resp.port === 53 && f.encodings.length > 0);
  assert.ok(dns.length > 0);
  for (const f of dns) {
    assert.equal(f.encodings[0].name, "RTP");
    assert.equal(f.encodings[0].evidence, "decode-as");
  }
});

corpusTest("a damaged file keeps what was read, warns with the byte offset, exits 0", async () => {
  const r = await mpp(["analyze", "--json", corpusPath("corrupt-record-length.pcap")]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^mpp: warning: .*byte 472/m);
  assert.match(r.stderr, /5 packets read\)|kept the 5 frames/);
  assert.equal(JSON.parse(r.stdout).summary.packets, 5);
});

corpusTest("one bad file among good ones: the good ones are analysed, the bad one warned about", async () => {
  const g = await tmpFile(new TextEncoder().encode("garbage garbage garbage"));
  const r = await mpp(["analyze", "--json", corpusPath("dns-udp.pcap"), g]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /mpp: warning: .*not a capture file|magic/);
  assert.equal(JSON.parse(r.stdout).summary.packets, 2);
});

Deno.test("output into a closed pipe is not an error", async () => {
  const r = await new Deno.Command("sh", {
    args: ["-c", `${root}mpp analyze ${sample} --top 1000 | head -1`],
    stderr: "piped",
    stdout: "piped",
  }).output();
  assert.equal(new TextDecoder().decode(r.stderr), "");
});

const FILTER_CASES: [string, string][] = [
  ["mixed-lan-browsing-flows.pcap", "udp port 53"],
  ["mixed-lan-browsing-flows.pcap", "tcp and not port 80"],
  ["vlan-8021q-icmp-arp.pcap", "vlan and icmp"],
  ["sll2-icmp-icmpv6-arp.pcap", "ip6 or arp"],
  ["raw-ip-http-post.pcap", "tcp port 80 and greater 100"],
  ["http-browse-multi-conn.pcap", "tcp[tcpflags] & tcp-syn != 0"],
];

for (const [file, expr] of FILTER_CASES) {
  testIf(
    haveTool("tcpdump") && corpusAvailable,
    "needs tcpdump, libpcap and the shared corpus",
    `analyze -f '${expr}' ${file} keeps exactly the frames tcpdump keeps`,
    async () => {
      const r = await mpp(["analyze", "--json", "-f", expr, corpusPath(file)]);
      assert.equal(r.code, 0, r.stderr);
      const rep = JSON.parse(r.stdout);
      const td = await new Deno.Command("tcpdump", {
        args: ["-n", "-r", corpusPath(file), expr],
        stdout: "piped",
        stderr: "null",
      }).output();
      const n = new TextDecoder().decode(td.stdout).split("\n").filter((l) =>
        l.length > 0 && !l.startsWith(" ") && !l.startsWith("\t")
      ).length;
      assert.equal(rep.summary.packets, n);
      assert.ok(rep.summary.filteredOut > 0 || n === rep.files[0].packets);
    },
  );
}

testIf(
  haveTool("tcpdump"),
  "needs libpcap",
  "a bad filter is a usage error naming libpcap's complaint",
  async () => {
    const r = await mpp(["analyze", "-f", "port banana", sample]);
    assertCleanError(r, 2, /banana|syntax|port/);
  },
);
