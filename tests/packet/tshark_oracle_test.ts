/**
 * tshark as the oracle, frame by frame: for every corpus file, the fields tshark 4.x prints for
 * addresses, ports, TCP header and options, ICMP/IGMP types, VLAN ids, MPLS labels and tunnel ids
 * must equal what PacketDecoder put in the Packet. Skips visibly without tshark or the corpus.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { readCapture } from "../../lib/capture/mod.ts";
import { PacketDecoder } from "../../lib/packet/decoder.ts";
import { Packet } from "../../lib/packet/packet.ts";
import { corpusAvailable, corpusPath, haveTool, testIf } from "../_util/corpus.ts";
import { compare, tsharkRows } from "./_tshark.ts";

const haveTshark = haveTool("tshark");
const EXPECTED: Record<string, { packets: number }> = corpusAvailable
  ? JSON.parse(readFileSync(corpusPath("expected.json"), "utf8")).files
  : {};
const FILES = Object.keys(EXPECTED);
const FILE_PACKETS: Record<string, number> = Object.fromEntries(FILES.map((f) => [f, EXPECTED[f].packets]));

testIf(
  corpusAvailable && haveTshark,
  "needs the corpus and tshark",
  "packet decoder: fields equal tshark's, frame by frame",
  async () => {
    const problems: string[] = [];
    let compared = 0;
    for (const name of FILES.sort()) {
      const rows = tsharkRows(corpusPath(name));
      const dec = new PacketDecoder();
      const p = new Packet();
      let i = 0;
      if (rows.length === 0 && FILE_PACKETS[name] > 0) problems.push(`${name}: tshark printed no rows`);
      // Damaged files: the reader reports the damage as issues; the frames before it are compared.
      const r = await readCapture(corpusPath(name), (rec) => {
        dec.decode(rec, p);
        const t = rows[i++];
        if (t === undefined) return;
        compared++;
        for (const x of compare(p, t)) problems.push(`${name} #${i}: ${x}`);
      }).catch((e) => e as Error);
      if (r instanceof Error && !/corrupt|truncat|damag/i.test(r.message)) {
        problems.push(
          `${name}: ${r.message}`,
        );
      }
      for (const issue of r instanceof Error ? [] : r.issues) {
        if (/sink|callback|threw/i.test(issue.message)) problems.push(`${name}: ${issue.message}`);
      }
    }
    if (Deno.env.get("MPP_DEBUG")) console.log(compared, problems.length);
    assert.ok(compared > 3000, `only ${compared} frames compared`);
    assert.deepEqual(problems.slice(0, 40), []);
  },
);
