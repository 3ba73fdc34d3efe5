/**
 * io,stat against tshark's `-z io,stat,SECS` on corpus captures whose first frame is not on a
 * whole second (intervals run from the first frame's own time) and on the project's own generated
 * capture, at intervals from 10 ms to 1 s.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { corpusPath, expected, haveTool, testIf } from "../_util/corpus.ts";
import { parseIoStat, tshark } from "../_util/tshark.ts";
import { analyzeFiles } from "../../lib/flow/analyze_files.ts";
import { writeCapture } from "../../bench/gen/write.ts";

async function compare(path: string, interval: number): Promise<number> {
  const { report } = await analyzeFiles([path], { ioInterval: interval, tcp: false });
  const ours = report.io!.rows.map((r) => ({ frames: r.frames, bytes: r.bytes }));
  const theirs = parseIoStat(await tshark(["-r", path, "-q", "-z", `io,stat,${interval}`]));
  assert.ok(theirs.length > 0, `${path}: no io,stat rows from tshark`);
  assert.deepEqual(ours, theirs, `${path} at ${interval} s`);
  return ours.length;
}

const FILES = [
  "http-browse-multi-conn.pcap",
  "dns-udp.pcap",
  "sip-register-invite-rtp-rtcp.pcap",
  "mixed-lan-browsing-flows.pcap",
];

testIf(
  haveTool("tshark") && FILES.every((f) => expected()[f] !== undefined),
  "needs tshark and the shared corpus",
  "io,stat equals tshark's on corpus captures starting mid-second",
  async () => {
    for (const f of FILES) for (const i of [1, 0.1]) await compare(corpusPath(f), i);
  },
);

testIf(
  haveTool("tshark"),
  "tshark not installed",
  "io,stat equals tshark's on a generated capture",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "mpp-io-" });
    try {
      const file = join(dir, "mix.pcap");
      // Start 0.37 s into a second so intervals from the first frame differ from whole seconds.
      await writeCapture(
        file,
        { packets: 20_000, seed: 4, startSec: 1_700_000_000, meanGapNs: 150_000 },
        370_000_000,
      );
      for (const i of [0.01, 0.25, 1]) assert.ok(await compare(file, i) > 1);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
