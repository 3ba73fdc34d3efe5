/**
 * Decoders over a deterministic generated capture (bench/gen: RTP with loss and reordering, DNS,
 * PTP over UDP and Ethernet, TCP): RTP streams must equal tshark's `-z rtp,streams` with the
 * rtp_udp heuristic, and DNS/PTP frame counts tshark's, exactly.
 */
import assert from "node:assert/strict";
import { writeGenerated } from "../../bench/gen/write.ts";
import { haveTool, testIf } from "../_util/corpus.ts";
import { analyze, havePacketDecoder, tsharkRtpStreams } from "./_run.ts";

const tshark = haveTool("tshark");
const ready = havePacketDecoder && tshark;
const why = !havePacketDecoder
  ? "lib/packet/decoder.ts (PacketDecoder) not written yet"
  : "tshark not installed";

/** Frames in which tshark finds `proto` (`-Y proto`). */
function tsharkFrames(path: string, proto: string): number {
  const out = new Deno.Command("tshark", {
    args: ["-r", path, "-Y", proto, "-T", "fields", "-e", "frame.number"],
    stdout: "piped",
    stderr: "null",
  }).outputSync();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.trim() !== "").length;
}

testIf(ready, why, "decoders generated: RTP streams, DNS and PTP counts equal tshark's", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mpp-dec-" });
  try {
    const path = `${dir}/gen.pcap`;
    await writeGenerated(path, 20000, 7, true);
    const run = await analyze(path);
    const got = [];
    for (const f of run.flows) {
      if (f.decoder?.phsName !== "rtp") continue;
      const sum = f.decoder.summarize!(f.state) as {
        streams: { ssrc: number; packets: number; lost: number }[];
      };
      for (const s of sum.streams) got.push({ ssrc: s.ssrc, packets: s.packets, lost: s.lost });
    }
    got.sort((a, b) => a.ssrc - b.ssrc);
    const want = tsharkRtpStreams(path);
    assert.ok(want.length >= 3, `tshark found ${want.length} RTP streams`);
    assert.ok(want.some((s) => s.lost !== 0), "the generated file should have loss somewhere");
    assert.deepEqual(got, want);
    for (const proto of ["dns", "ptp"]) {
      const n = tsharkFrames(path, proto);
      assert.ok(n > 0, `tshark saw no ${proto}`);
      assert.equal(run.packets[proto] ?? 0, n, proto);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
