/**
 * Every frame of every corpus file goes through PacketDecoder; per file, the number of frames whose
 * layer stack holds each protocol must equal tshark's io,phs counts in expected.json.
 */
import assert from "node:assert/strict";
import { readCapture } from "../../lib/capture/mod.ts";
import type { CaptureRecord } from "../../lib/capture/record.ts";
import { PacketDecoder } from "../../lib/packet/decoder.ts";
import { Layer } from "../../lib/packet/layers.ts";
import { Packet } from "../../lib/packet/packet.ts";
import { readFileSync } from "node:fs";
import { z } from "zod";
import { corpusAvailable, corpusPath, corpusTest, haveTool, testIf } from "../_util/corpus.ts";

// tests/_util/corpus.ts's expected() rejects the null first_ts of pcap-empty.pcap; read the two
// fields this test needs with a schema of its own.
const Expected = z.object({
  files: z.record(
    z.string(),
    z.object({
      packets: z.number(),
      protocols: z.record(z.string(), z.number()).optional(),
      phs: z.record(z.string(), z.number()).optional(),
      tshark_exit_code: z.number().optional(),
    }).loose(),
  ),
}).loose();
function expected() {
  return corpusAvailable
    ? Expected.parse(JSON.parse(readFileSync(corpusPath("expected.json"), "utf8"))).files
    : {};
}
function corpusFiles(): string[] {
  return Object.keys(expected()).sort();
}

/** tshark protocol names compared, and the layer ids that count as each. */
const COMPARED: [string, number[]][] = [
  ["ip", [Layer.IPV4]],
  ["ipv6", [Layer.IPV6]],
  ["tcp", [Layer.TCP]],
  ["udp", [Layer.UDP]],
  ["icmp", [Layer.ICMP]],
  ["icmpv6", [Layer.ICMPV6]],
  ["igmp", [Layer.IGMP]],
  ["arp", [Layer.ARP]],
  ["vlan", [Layer.VLAN]],
  ["ieee8021ad", [Layer.QINQ]],
  ["mpls", [Layer.MPLS]],
  ["gre", [Layer.GRE]],
  ["vxlan", [Layer.VXLAN]],
  ["gtp", [Layer.GTP]],
  ["llc", [Layer.LLC]],
  ["ppp", [Layer.PPP]],
  ["eth", [Layer.ETH]],
  ["sll", [Layer.SLL, Layer.SLL2]],
  ["null", [Layer.NULL]],
  ["raw", [Layer.RAW]],
];

/**
 * Where mpp legitimately differs from tshark 4.0, per file and protocol: [mpp count, why].
 */
const EXCEPTIONS: Record<string, Record<string, [number, string]>> = {};

interface FileCounts {
  counts: Map<string, number>;
  frames: number;
  fragments: number;
  reassembled: number;
  dec: PacketDecoder;
}

async function countFile(name: string): Promise<FileCounts> {
  const dec = new PacketDecoder();
  const p = new Packet();
  const counts = new Map<string, number>();
  let frames = 0;
  let fragments = 0;
  let reassembled = 0;
  await readCapture(corpusPath(name), (rec: CaptureRecord) => {
    dec.decode(rec, p);
    frames++;
    if (p.isFragment) fragments++;
    if (p.reassembled) reassembled++;
    for (const [proto, ids] of COMPARED) {
      let has = false;
      for (let i = 0; i < p.depth && !has; i++) has = ids.includes(p.layers[i]);
      if (has) counts.set(proto, (counts.get(proto) ?? 0) + 1);
    }
  });
  return { counts, frames, fragments, reassembled, dec };
}

corpusTest("packet decoder: protocol counts per corpus file equal tshark io,phs", async () => {
  const problems: string[] = [];
  for (const name of corpusFiles()) {
    const exp = expected()[name];
    if (exp.packets === 0 && exp.protocols === undefined) continue;
    const { counts, fragments } = await countFile(name).catch((e) => {
      // Damaged files: the reader reports them; frames read before the damage are still decoded.
      if (exp.tshark_exit_code === undefined) throw e;
      return { counts: new Map<string, number>(), fragments: 0 };
    });
    for (const [proto] of COMPARED) {
      const want = EXCEPTIONS[name]?.[proto]?.[0] ?? exp.protocols?.[proto] ?? 0;
      const got = counts.get(proto) ?? 0;
      if (got !== want) problems.push(`${name}: ${proto} mpp ${got}, expected ${want}`);
    }
    // Non-final fragments are the frames tshark ends in "data" right after ip/ipv6.
    let dataAfterIp = 0;
    for (const [path, n] of Object.entries(exp.phs ?? {})) {
      if (/(^|:)ipv?6?:data$/.test(path)) dataAfterIp += n;
    }
    if (fragments !== dataAfterIp) {
      problems.push(`${name}: fragments mpp ${fragments}, tshark ip:data ${dataAfterIp}`);
    }
  }
  assert.deepEqual(problems, []);
});

corpusTest("packet decoder: corpus fragments reassemble as tshark does", async () => {
  // Counts from tshark 4.0 (`-Y ip.fragments` / `ipv6.fragments` list the completing frames).
  const v4 = await countFile("ipv4-frag-icmp-echo.pcap");
  assert.deepEqual([v4.fragments, v4.reassembled, v4.dec.fragStats.pending], [1, 1, 0]);
  const v6 = await countFile("ipv6-frag-dns.pcap");
  // The orphan last fragment never completes: it stays pending until the timeout.
  assert.deepEqual([v6.fragments, v6.reassembled, v6.dec.fragStats.pending], [3, 1, 1]);
  const gtp = await countFile("gtp-u-http-ipv4-frag.pcap");
  // 36 datagrams complete; 4 first fragments have no partner in the file.
  assert.deepEqual([gtp.fragments, gtp.reassembled, gtp.dec.fragStats.pending], [40, 36, 4]);
  assert.equal(gtp.dec.fragStats.overlaps, 0);
});

testIf(
  corpusAvailable && haveTool("tshark"),
  "needs the corpus and tshark",
  "packet decoder: completing frames equal tshark's",
  async () => {
    for (
      const [file, filter] of [
        ["gtp-u-http-ipv4-frag.pcap", "ip.fragments"],
        ["ipv4-frag-icmp-echo.pcap", "ip.fragments"],
        ["ipv6-frag-dns.pcap", "ipv6.fragments"],
      ]
    ) {
      const r = new Deno.Command("tshark", {
        args: ["-r", corpusPath(file), "-Y", filter, "-T", "fields", "-e", "frame.number"],
        stdout: "piped",
        stderr: "null",
      }).outputSync();
      const want = new TextDecoder().decode(r.stdout).split("\n").filter((x) => x).map(Number);
      const dec = new PacketDecoder();
      const p = new Packet();
      const got: number[] = [];
      await readCapture(corpusPath(file), (rec) => {
        dec.decode(rec, p);
        if (p.reassembled) got.push(rec.index + 1);
      });
      assert.ok(want.length > 0);
      assert.deepEqual(got, want, file);
    }
  },
);
