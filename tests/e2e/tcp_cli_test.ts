/**
 * `mpp analyze` with the lib/tcp flags, run as a user runs it: --follow output byte-identical to
 * tshark's, --streams files identical to tcpflow's (names and bytes) on clean captures, index.json
 * valid, --http and --extract-http (gzip body decoded), and every bad argument a one-line error.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { corpusPath, corpusTest, haveTool, testIf } from "../_util/corpus.ts";
import { StreamIndex } from "../../lib/tcp/stream_writer.ts";
import { analyzeCore } from "../../lib/flow/analyze_files.ts";
import { writeCapture } from "../../bench/gen/write.ts";

const MAIN = new URL("../../cli/main.ts", import.meta.url).pathname;
const dec = new TextDecoder();

async function mpp(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
  }).output();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

async function run(cmd: string, args: string[]): Promise<string> {
  const r = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "null",
    env: { HOME: "/tmp/mpp-tshark-home" },
  })
    .output();
  return dec.decode(r.stdout);
}

const haveTshark = haveTool("tshark");
const haveTcpflow = haveTool("tcpflow");
const FOLLOW_FILES = [
  "tcp-simultaneous-close-http.pcap",
  "http-keepalive-chunked.pcap",
  "tcp-rst-with-data.pcap",
  "null-loopback-ipv6-http.pcap",
  "tcp-out-of-order.pcap",
  "raw-ip-http-post.pcap",
];

for (const file of FOLLOW_FILES) {
  corpusTest(
    `--follow 0 --format raw|ascii|hex prints exactly what tshark -z follow prints: ${file}`,
    async () => {
      if (!haveTshark) return console.warn("SKIP: tshark not installed");
      for (const mode of ["raw", "ascii", "hex"]) {
        const ours = await mpp(["analyze", corpusPath(file), "--follow", "0", "--format", mode]);
        assert.equal(ours.code, 0, ours.err);
        const theirs = await run("tshark", ["-r", corpusPath(file), "-q", "-z", `follow,tcp,${mode},0`]);
        assert.equal(ours.out, theirs, `${file} ${mode}`);
      }
    },
  );
}

corpusTest("--follow ip:port,ip:port selects the same conversation as its stream number", async () => {
  const f = corpusPath("tcp-rst-with-data.pcap");
  const byIndex = await mpp(["analyze", f, "--follow", "0", "--format", "raw"]);
  const byAddr = await mpp(["analyze", f, "--follow", "2.2.2.2:8080,1.1.1.1:12345", "--format", "raw"]);
  assert.equal(byAddr.code, 0, byAddr.err);
  assert.equal(byAddr.out, byIndex.out);
  assert.match(byIndex.out, /Node 0: 1\.1\.1\.1:12345/);
});

// Every corpus capture where tcpflow's output is right. On the others tcpflow differs by its own
// faults (docs/tcp.md): Ethernet padding of empty FIN segments written as 6 zero bytes (dns-tcp,
// modbus-tcp, http-browse-multi-conn, pcap-be-usec-pptp-gre, pcap-le-nsec-tcp-rst-ssh), overlaps
// resolved last-copy-wins (tcp-out-of-order, tcp-overlap-partial, tcp-retrans-lost-dupack), and
// encapsulations it does not decode (GRE, GTP-U, SLL2, IPv6 on BSD loopback).
for (
  const file of [
    "tcp-simultaneous-close-http.pcap",
    "http-keepalive-chunked.pcap",
    "mixed-lan-browsing-flows.pcap",
    "raw-ip-http-post.pcap",
    "qinq-double-8100-http.pcap",
    "tcp-gap-missing-segment.pcap",
    "tcp-midstream-http-nosyn.pcap",
    "tcp-rst-with-data.pcap",
    "diameter-credit-control.pcap",
    "mqtt.pcap",
    "tls12-clienthello-sni.pcap",
    "truncated-mid-record.pcap",
    "pcapng-epb-comments-vlan-rtp.pcapng",
  ]
) {
  corpusTest(
    `--streams DIR writes tcpflow's file names and bytes, plus a valid index.json: ${file}`,
    async () => {
      const dir = await Deno.makeTempDir({ prefix: "mpp-streams-" });
      try {
        const r = await mpp(["analyze", corpusPath(file), "--streams", join(dir, "mpp"), "-q"]);
        assert.equal(r.code, 0, r.err);
        const idx = StreamIndex.parse(JSON.parse(await Deno.readTextFile(join(dir, "mpp", "index.json"))));
        assert.ok(idx.streams.length > 0);
        let fromIndex = 0, fromFiles = 0;
        for (const s of idx.streams) {
          for (const side of [s.orig, s.resp]) {
            fromIndex += side.fileBytes;
            if (side.file !== null) fromFiles += (await Deno.stat(join(dir, "mpp", side.file))).size;
            // The file holds the bytes and, as zeros, the gaps before the last of them.
            const holes = side.gaps.reduce((n, g) => n + g.length, 0);
            assert.ok(side.fileBytes >= side.bytes && side.fileBytes <= side.bytes + holes, side.file ?? "");
          }
        }
        assert.equal(fromFiles, fromIndex, "index file sizes equal the files");
        if (!haveTcpflow) return console.warn("SKIP tcpflow comparison: tcpflow not installed");
        await Deno.mkdir(join(dir, "tf"));
        await run("tcpflow", ["-r", corpusPath(file), "-o", join(dir, "tf")]);
        const names = (d: string) =>
          [...Deno.readDirSync(d)].map((e) => e.name).filter((n) => n !== "report.xml" && n !== "index.json")
            .sort();
        const tf = names(join(dir, "tf"));
        assert.deepEqual(names(join(dir, "mpp")), tf);
        for (const n of tf) {
          assert.deepEqual(
            await Deno.readFile(join(dir, "mpp", n)),
            await Deno.readFile(join(dir, "tf", n)),
            n,
          );
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
}

corpusTest("--http lists transactions; --extract-http saves the gzip body decoded", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mpp-http-" });
  try {
    const f = corpusPath("tcp-simultaneous-close-http.pcap");
    const r = await mpp(["analyze", f, "--http", "--extract-http", dir]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /GET\s+\S+\s+\/\S*\s+200/);
    const manifest = JSON.parse(await Deno.readTextFile(join(dir, "bodies.json")));
    const body = manifest.bodies.find((b: { response: boolean }) => b.response);
    assert.equal(body.contentEncoding, "gzip");
    assert.equal(body.decoded, true);
    // The server sent gzip'd JSON: decoded, it parses.
    const json = JSON.parse(await Deno.readTextFile(join(dir, body.file)));
    assert.equal(typeof json, "object");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

corpusTest("--json: the report carries tcp counters, per-flow tcpStreams and the http section", async () => {
  const r = await mpp(["analyze", corpusPath("tcp-retrans-lost-dupack.pcap"), "--json"]);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.tcp.counters.missedBytes, 4376);
  // Segments lost before the capture point arrive once: holes wait, then fill out of order.
  assert.ok(j.tcp.counters.outOfOrder > 0);
  assert.ok(j.tcp.counters.overlapBytes > 0);
  assert.equal(j.flows[0].tcpStreams.missedBytes, 4376);
  assert.ok(j.tcp.limits.perDirection > 0);
});

corpusTest("bad --follow, --streams, --tcp-buffer and flag conflicts are one-line errors", async () => {
  const f = corpusPath("tcp-rst-with-data.pcap");
  const cases: [string[], number, RegExp][] = [
    [["analyze", f, "--follow", "bogus"], 2, /bad --follow value "bogus"/],
    [["analyze", f, "--follow", "1.2.3.4:99999,1.2.3.5:1"], 2, /bad --follow value/],
    [["analyze", f, "--tcp-buffer", "12"], 2, /not a byte size/],
    [["analyze", f, "--no-reassembly", "--http"], 2, /--no-reassembly conflicts/],
    [["analyze", f, "--format", "yaml", "--follow", "0"], 2, /yaml/],
  ];
  for (const [args, code, re] of cases) {
    const r = await mpp(args);
    assert.equal(r.code, code, `${args.join(" ")}: ${r.err}`);
    assert.match(r.err, re);
    assert.ok(!/\n\s+at /.test(r.err), "no stack trace");
  }
});

corpusTest(
  "--follow of a stream that does not exist, --streams into an unwritable place: exit 1",
  async () => {
    const f = corpusPath("tcp-rst-with-data.pcap");
    const missing = await mpp(["analyze", f, "--follow", "99"]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no TCP stream 99 in the input/);
    const bad = await mpp(["analyze", f, "--streams", "/proc/mpp-cannot-write-here"]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /cannot create stream directory/);
  },
);

testIf(
  haveTshark,
  "tshark not installed",
  "--follow on reordered streams prints exactly what tshark -z follow prints (one chunk per segment)",
  async () => {
    // The bench generator reorders segments; a buffered run of touching segments used to come out
    // as one chunk (and a segment wrapping the ring's end as two), where tshark shows each segment.
    const dir = await Deno.makeTempDir({ prefix: "mpp-follow-" });
    try {
      const file = `${dir}/mix.pcap`;
      await writeCapture(file, { packets: 20_000, seed: 1 });
      const { tcp } = await analyzeCore([file], { tcp: {} });
      const reordered = tcp!.streams.filter((s) => s.d0.outOfOrder + s.d1.outOfOrder > 0).map((s) => s.index);
      assert.ok(reordered.length >= 3, "the capture should reorder segments in several streams");
      for (const n of reordered.slice(0, 3)) {
        for (const mode of ["raw", "ascii", "hex"]) {
          const ours = await mpp(["analyze", file, "--follow", String(n), "--format", mode]);
          assert.equal(ours.code, 0, ours.err);
          const theirs = await run("tshark", ["-r", file, "-q", "-z", `follow,tcp,${mode},${n}`]);
          assert.equal(ours.out, theirs, `stream ${n} ${mode}`);
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
