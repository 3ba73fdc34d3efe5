/**
 * The bench generator's mix (HTTP over TCP with reordered and retransmitted segments, RTP, DNS,
 * PTP, VLAN, IPv6) against tshark's io,phs. HTTP messages are counted in the frame that completes
 * them. tshark agrees frame for frame once it reassembles out-of-order segments
 * (`tcp.reassemble_out_of_order`); with its default (off) it leaves a reordered segment out and
 * then misplaces the message boundaries that follow (docs/tcp.md). The transactions are compared
 * too: every request, every complete response with its status, body length and http.time.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { analyzeFiles } from "../../lib/flow/analyze_files.ts";
import { writeCapture } from "../../bench/gen/write.ts";
import { haveTool, testIf } from "../_util/corpus.ts";
import { parsePhs, tshark } from "../_util/tshark.ts";

async function mixCapture(dir: string): Promise<string> {
  const file = join(dir, "mix.pcap");
  await writeCapture(file, { packets: 30_000, seed: 1 });
  return file;
}

const OOO = ["-o", "tcp.reassemble_out_of_order:TRUE"];

// Names both tools decode; RTP is left out (tshark needs SDP or its heuristic switched on).
const SHARED = new Set(["eth", "vlan", "ip", "ipv6", "tcp", "udp", "http", "dns", "ptp"]);

testIf(
  haveTool("tshark"),
  "tshark not installed",
  "reordered HTTP: io,phs equals tshark's with tcp.reassemble_out_of_order",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "mpp-reorder-" });
    try {
      const file = await mixCapture(dir);
      const { report } = await analyzeFiles([file], { threads: 1 });
      assert.ok(report.tcp!.counters.outOfOrder > 20, "the capture should reorder segments");
      const ours = new Map(report.phs.map((e) => [e.path, e.packets]));
      const theirs = parsePhs(
        await tshark([...OOO, "-r", file, "-q", "-z", "io,phs"]),
      );
      const comparable = (p: string) => p.split(":").every((n) => SHARED.has(n));
      let http = 0;
      for (const [path, n] of theirs) {
        if (!comparable(path)) continue;
        assert.equal(ours.get(path), n, `phs ${path}: mpp ${ours.get(path)}, tshark ${n}`);
        if (path.endsWith(":http")) http += n;
      }
      for (const [path, n] of ours) {
        if (comparable(path)) {
          assert.equal(theirs.get(path), n, `phs ${path}: mpp ${n}, tshark ${theirs.get(path)}`);
        }
      }
      assert.ok(http > 1000, `only ${http} HTTP frames compared`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

testIf(
  haveTool("tshark"),
  "tshark not installed",
  "reordered HTTP: transactions equal tshark's requests, responses and http.time",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "mpp-reorder-" });
    try {
      const file = await mixCapture(dir);
      const { report } = await analyzeFiles([file], { threads: 1, httpTransactions: true });
      const txs = report.http!.transactions;
      const fields = async (filter: string, f: string[]) =>
        (await tshark([...OOO, "-r", file, "-Y", filter, "-T", "fields", ...f.flatMap((x) => ["-e", x])]))
          .trim().split("\n").map((l) => l.split("\t"));
      const count = (keys: string[]) => {
        const m = new Map<string, number>();
        for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
        return m;
      };
      const theirReq = await fields("http.request", [
        "tcp.stream",
        "http.request.method",
        "http.request.uri",
      ]);
      const ourReq = txs.filter((t) => t.method !== null).map((t) => `${t.stream} ${t.method} ${t.uri}`);
      assert.deepEqual(count(ourReq), count(theirReq.map((r) => r.join(" "))));
      // tshark lists complete responses only; http.time runs from the request's last frame to the
      // response's, which is mpp's `total` for these one-segment requests.
      const theirResp = await fields("http.response", [
        "tcp.stream",
        "http.response.code",
        "http.content_length",
        "http.time",
      ]);
      const done = txs.filter((t) => t.status !== null && t.complete);
      assert.deepEqual(
        count(done.map((t) => `${t.stream} ${t.status} ${t.respBodyBytes} ${t.total!.toFixed(9)}`)),
        count(theirResp.map((r) => `${r[0]} ${r[1]} ${r[2]} ${Number(r[3]).toFixed(9)}`)),
      );
      assert.ok(done.length > 1000, `only ${done.length} responses compared`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
