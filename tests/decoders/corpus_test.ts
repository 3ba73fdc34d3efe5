/**
 * Decoders against the shared corpus: classify every flow with the default registry, decode its
 * packets, and compare with tshark's facts (expected.json protocols) and with tshark itself
 * (PTP message types; RTP streams with the rtp_udp heuristic enabled).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { z } from "zod";
import { defaultRegistry } from "../../decoders/registry.ts";
import { analyze as analyzePath, havePacketDecoder, type StreamFact, tsharkRtpStreams } from "./_run.ts";
import { CORPUS_DIR, corpusAvailable, corpusPath, haveTool, testIf } from "../_util/corpus.ts";

// Only the expected.json fields this file needs (the shared helper's schema rejects null
// timestamps of the empty capture).
const Facts = z.object({
  files: z.record(
    z.string(),
    z.object({
      protocols: z.record(z.string(), z.number()).optional(),
      phs: z.record(z.string(), z.number()).optional(),
      tshark_exit_code: z.number().optional(),
    }).loose(),
  ),
}).loose();
type Facts = z.infer<typeof Facts>["files"];
let facts: Facts | undefined;
function expected(): Facts {
  facts ??= Facts.parse(JSON.parse(readFileSync(`${CORPUS_DIR}/expected.json`, "utf8"))).files;
  return facts;
}
const analyze = (file: string) => analyzePath(corpusPath(file));
function corpusFiles(): string[] {
  return Object.keys(expected()).sort();
}

/**
 * Frames where tshark found `proto` only inside the datagram an ICMP error quotes (e.g. a DNS query
 * echoed in a port-unreachable): mpp's flows see ICMP there, not the quoted UDP payload.
 */
function quotedInIcmp(phs: Record<string, number>, proto: string): number {
  let n = 0;
  for (const [path, count] of Object.entries(phs)) {
    const parts = path.split(":");
    if (parts[parts.length - 1] !== proto || parts[parts.length - 2] === proto) continue;
    if (parts.includes("icmp") || parts.includes("icmpv6")) n += count;
  }
  return n;
}

const ready = corpusAvailable && havePacketDecoder;
const why = !corpusAvailable ? "corpus not found" : "lib/packet/decoder.ts (PacketDecoder) not written yet";
const tshark = haveTool("tshark");

/** Protocols whose per-file frame counts must equal tshark's io,phs counts exactly. */
const COMPARED = ["dns", "mdns", "llmnr", "nbns", "ptp", "rtcp"];

testIf(
  ready,
  why,
  "decoders corpus: DNS, mDNS, LLMNR, NBNS, PTP and RTCP frame counts equal tshark's in every file",
  async () => {
    const mismatches: string[] = [];
    let compared = 0;
    for (const file of corpusFiles()) {
      const exp = expected()[file];
      if (exp.tshark_exit_code !== undefined && exp.tshark_exit_code !== 0) continue;
      const run = await analyze(file);
      for (const proto of COMPARED) {
        const want = (exp.protocols?.[proto] ?? 0) - quotedInIcmp(exp.phs ?? {}, proto);
        const got = run.packets[proto] ?? 0;
        if (want > 0) compared++;
        if (got !== want) mismatches.push(`${file}: ${proto} ${got}, tshark ${want}`);
      }
    }
    assert.ok(compared >= 18, `only ${compared} file/protocol pairs had counts`);
    assert.deepEqual(mismatches, []);
  },
);

testIf(ready, why, "decoders corpus: DNS flows have matched responses and names", async () => {
  const run = await analyze("dns-udp.pcap");
  assert.deepEqual(run.types.dns, { Query: 1, Response: 1 });
  const f = run.flows.find((x) => x.decoder?.phsName === "dns")!;
  assert.equal(f.classifier.evidence, "structure");
  const sum = f.decoder!.summarize!(f.state) as Record<string, unknown>;
  assert.equal(sum.unanswered, 0);
  assert.equal((sum.responseTimeMs as { count: number }).count, 1);
  assert.equal((sum.topNames as { name: string }[]).length, 1);
  const tcp = await analyze("dns-tcp.pcap");
  assert.deepEqual(tcp.types.dns, { Query: 1, Response: 1 });
});

testIf(
  ready && tshark,
  ready ? "tshark not installed" : why,
  "decoders corpus: PTP message types equal tshark's per file",
  async () => {
    for (const file of corpusFiles().filter((f) => f.startsWith("ptp-"))) {
      const out = new Deno.Command("tshark", {
        args: ["-r", corpusPath(file), "-Y", "ptp", "-T", "fields", "-e", "ptp.v2.messagetype"],
        stdout: "piped",
        stderr: "null",
      }).outputSync();
      const want: Record<string, number> = {};
      const ptp = defaultRegistry().byName("ptp")!;
      for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
        if (line.trim() === "") continue;
        const name = ptp.packetTypes[parseInt(line, 16)];
        want[name] = (want[name] ?? 0) + 1;
      }
      const run = await analyze(file);
      assert.deepEqual(run.types.ptp, want, file);
      assert.equal(run.malformed.ptp, undefined, file);
    }
  },
);

for (const file of ["sip-rtp-fax-call-t38.pcap", "sip-register-invite-rtp-rtcp.pcap"]) {
  testIf(
    ready && tshark,
    ready ? "tshark not installed" : why,
    `decoders corpus: RTP streams (SSRC, packets, lost) equal tshark's heuristic rtp,streams in ${file}`,
    async () => {
      const want = tsharkRtpStreams(corpusPath(file));
      assert.ok(want.length > 0, "tshark found no RTP stream");
      const run = await analyze(file);
      const got: StreamFact[] = [];
      for (const f of run.flows) {
        if (f.decoder?.phsName !== "rtp") continue;
        assert.equal(f.classifier.evidence, "payload");
        const sum = f.decoder.summarize!(f.state) as { streams: StreamFact[] };
        for (const s of sum.streams) got.push({ ssrc: s.ssrc, packets: s.packets, lost: s.lost });
      }
      got.sort((a, b) => a.ssrc - b.ssrc);
      assert.deepEqual(got, want);
    },
  );
}

testIf(ready, why, "decoders corpus: RTCP compound datagrams walk completely", async () => {
  const run = await analyze("rtcp-compound-sll.pcap");
  assert.deepEqual(run.types.rtcp, { SR: 3, RR: 2 });
  const f = run.flows.find((x) => x.decoder?.phsName === "rtcp")!;
  const sum = f.decoder!.summarize!(f.state) as Record<string, unknown>;
  assert.equal(sum.compound, 5);
  assert.deepEqual(sum.packets, { SR: 3, RR: 2, SDES: 5 });
});
