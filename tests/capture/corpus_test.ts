/**
 * The readers and writers against the shared corpus: frame counts, first/last timestamps and link
 * types from expected.json (tshark 4.0 facts), the three damaged files, tshark itself as a per-frame
 * oracle, and a round trip through both writers that tcpdump and tshark must read back.
 */
import assert from "node:assert/strict";
import { readCapture, type ReadResult } from "../../lib/capture/reader.ts";
import type { CaptureRecord } from "../../lib/capture/record.ts";
import { PcapWriter } from "../../lib/capture/pcap_writer.ts";
import { PcapngWriter } from "../../lib/capture/pcapng_writer.ts";
import { z } from "zod";
import { join } from "node:path";
import { CORPUS_DIR, corpusAvailable, corpusPath, corpusTest, haveTool, testIf } from "../_util/corpus.ts";

// The shared expected() rejects the nulls expected.json has for pcap-empty.pcap (first_ts: null),
// so this file reads expected.json with its own schema that accepts them.
const Facts = z.object({
  format: z.string().nullish(),
  linktype_values_in_file: z.array(z.number()),
  packets: z.number(),
  capinfos_packets: z.number().nullish(),
  first_ts: z.string().nullish(),
  last_ts: z.string().nullish(),
  min_ts: z.string().nullish(),
  max_ts: z.string().nullish(),
  frames_without_timestamp: z.number().nullish(),
  interfaces_used: z.array(z.number()).nullish(),
}).loose();
const ExpectedJson = z.object({ files: z.record(z.string(), Facts) }).loose();
let cache: Record<string, z.infer<typeof Facts>> | undefined;
function expected(): Record<string, z.infer<typeof Facts>> {
  if (!corpusAvailable) return {};
  cache ??= ExpectedJson.parse(JSON.parse(Deno.readTextFileSync(join(CORPUS_DIR, "expected.json")))).files;
  return cache;
}
function corpusFiles(): string[] {
  return Object.keys(expected()).sort();
}

interface Rec {
  data: Uint8Array;
  origLen: number;
  tsSec: number;
  tsNsec: number;
  hasTimestamp: boolean;
  linkType: number;
  interfaceId: number;
  section: number;
  comment: string | undefined;
}

function copy(r: CaptureRecord): Rec {
  return {
    data: r.data.slice(),
    origLen: r.origLen,
    tsSec: r.tsSec,
    tsNsec: r.tsNsec,
    hasTimestamp: r.hasTimestamp,
    linkType: r.linkType,
    interfaceId: r.interfaceId,
    section: r.section,
    comment: r.comment,
  };
}

async function readAll(path: string): Promise<{ recs: Rec[]; result: ReadResult }> {
  const recs: Rec[] = [];
  const result = await readCapture(path, (r) => void recs.push(copy(r)));
  return { recs, result };
}

/** A decimal timestamp string as integer nanoseconds ("0E-9" style included, as expected.json has it). */
function nanos(s: string): bigint {
  const m = /^(\d+)(?:\.(\d*))?(?:[eE](-?\d+))?$/.exec(s);
  if (m === null) throw new Error(`bad timestamp ${s}`);
  const frac = m[2] ?? "";
  let v = BigInt(m[1] + frac);
  let exp = Number(m[3] ?? 0) - frac.length + 9;
  for (; exp > 0; exp--) v *= 10n;
  for (; exp < 0; exp++) v /= 10n;
  return v;
}

const ts = (r: Rec) => `${r.tsSec}.${String(r.tsNsec).padStart(9, "0")}`;

/** The damaged files: good records before the fatal issue and where it is. */
const DAMAGED: Record<string, { good: number; offset: number; message: RegExp }> = {
  "corrupt-record-length.pcap": {
    good: 5,
    offset: 472,
    message: /^record 6 at byte 472 claims 16777215 captured bytes, more than the 262144 maximum$/,
  },
  "truncated-mid-record.pcap": {
    good: 13,
    offset: 1531,
    message: /^truncated record 14 at byte 1531: header says 66 captured bytes, file ends after 46$/,
  },
  "truncated-mid-block.pcapng": {
    good: 5,
    offset: 1132,
    message: /^truncated block at byte 1132: block length says 216 bytes, file ends after 176/,
  },
};

corpusTest(
  "corpus: every file gives tshark's frame count, timestamps, link types and interfaces",
  async () => {
    const files = corpusFiles();
    assert.ok(files.length >= 60, `${files.length} files`);
    for (const name of files) {
      const e = expected()[name];
      const { recs, result } = await readAll(corpusPath(name));
      // tshark 4.0 shows pcapng custom blocks as frames; capinfos counts packets only.
      const want = e.capinfos_packets ?? e.packets;
      assert.equal(recs.length, want, `${name}: frames`);
      assert.equal(result.records, want, `${name}: records`);
      const timed = recs.filter((r) => r.hasTimestamp);
      if (e.frames_without_timestamp != null) {
        const customFrames = e.packets - want;
        assert.equal(
          recs.length - timed.length,
          e.frames_without_timestamp - customFrames,
          `${name}: untimed`,
        );
      }
      assert.equal(timed.length > 0 ? ts(timed[0]) : null, e.first_ts ?? null, `${name}: first_ts`);
      assert.equal(
        timed.length > 0 ? ts(timed[timed.length - 1]) : null,
        e.last_ts ?? null,
        `${name}: last_ts`,
      );
      if (e.min_ts != null && timed.length > 0) {
        const sorted = timed.map((r) => nanos(ts(r))).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        assert.equal(sorted[0], nanos(e.min_ts), `${name}: min_ts`);
        assert.equal(sorted[sorted.length - 1], nanos(e.max_ts!), `${name}: max_ts`);
      }
      assert.deepEqual(
        result.info.interfaces.map((i) => i.linkType),
        e.linktype_values_in_file,
        `${name}: link types`,
      );
      if (e.interfaces_used != null) {
        assert.deepEqual(
          [...new Set(recs.map((r) => r.interfaceId))].sort(),
          e.interfaces_used,
          `${name}: interfaces`,
        );
      }
      const damaged = DAMAGED[name];
      if (damaged === undefined) {
        assert.deepEqual(result.issues, [], `${name}: issues`);
      } else {
        assert.equal(recs.length, damaged.good, `${name}: good records`);
        assert.equal(result.issues.length, 1, `${name}: one issue`);
        assert.equal(result.issues[0].fatal, true);
        assert.equal(result.issues[0].offset, damaged.offset, `${name}: issue offset`);
        assert.match(result.issues[0].message, damaged.message);
      }
      const fmt = e.format ?? "";
      assert.equal(result.info.format, fmt.startsWith("pcapng") ? "pcapng" : "pcap", `${name}: format`);
      if (fmt.startsWith("pcap ")) {
        assert.equal(result.info.byteOrder, fmt.includes("big-endian") ? "be" : "le", `${name}: byte order`);
        assert.equal(result.info.tsPrecision, fmt.includes("nanosecond") ? "ns" : "us", `${name}: precision`);
      }
    }
  },
);

/** Files whose container features tshark checks frame by frame (timestamps, lengths). */
const ORACLE_FILES = [
  "pcap-be-usec-pptp-gre.pcap",
  "pcap-be-nsec-sll-tcp-handshake.pcap",
  "pcap-le-nsec-tcp-rst-ssh.pcap",
  "snaplen-68-truncated-tcp.pcap",
  "pcapng-two-interfaces-ns-us.pcapng",
  "pcapng-spb-nrb-eth-null-le.pcapng",
  "pcapng-multi-section-custom-blocks.pcapng",
  "pcapng-epb-comments-vlan-rtp.pcapng",
  "pcapng-merged-eth-sll2-raw.pcapng",
  "ethercat-twincat-run.pcapng",
];

async function tsharkFrames(path: string): Promise<string[]> {
  const out = await new Deno.Command("tshark", {
    args: [
      "-r",
      path,
      "-T",
      "fields",
      "-e",
      "frame.time_epoch",
      "-e",
      "frame.len",
      "-e",
      "frame.cap_len",
      "-e",
      "frame.interface_id",
    ],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l !== "");
}

testIf(
  haveTool("tshark"),
  "tshark not installed",
  "corpus: per-frame timestamps and lengths equal tshark's",
  async () => {
    if (expected()[ORACLE_FILES[0]] === undefined) return;
    for (const name of ORACLE_FILES) {
      const { recs } = await readAll(corpusPath(name));
      // Custom blocks appear in tshark as frames without an interface; they are not packets.
      const rows = (await tsharkFrames(corpusPath(name))).map((l) => l.split("\t")).filter((f) =>
        name.endsWith(".pcap") || f[3] !== ""
      );
      assert.equal(rows.length, recs.length, `${name}: frames`);
      for (let i = 0; i < rows.length; i++) {
        const [t, len, caplen] = rows[i];
        const r = recs[i];
        assert.equal(r.hasTimestamp ? ts(r) : "", t, `${name} frame ${i + 1}: time`);
        assert.equal(String(r.origLen), len, `${name} frame ${i + 1}: len`);
        assert.equal(String(r.data.length), caplen, `${name} frame ${i + 1}: cap_len`);
      }
    }
  },
);

interface Written {
  name: string;
  pcapng: string;
  /** One pcap per link type (pcap holds a single one). */
  pcaps: { path: string; linkType: number; count: number }[];
  linkTypes: number;
}

async function writeBoth(name: string, recs: Rec[], result: ReadResult, dir: string): Promise<Written> {
  const base = `${dir}/${name.replace(/\.[a-z]+$/, "")}`;
  const ng = await PcapngWriter.create(`${base}.rt.pcapng`);
  const ids = new Map<string, number>();
  for (const i of result.info.interfaces) {
    const spec = { linkType: i.linkType, snaplen: 0, precision: "ns" as const, name: i.name };
    ids.set(`${i.section ?? 0}/${i.id}`, ng.addInterface(spec));
  }
  const pcaps = new Map<number, { w: PcapWriter; path: string; count: number }>();
  for (const r of recs) {
    ng.write(r.data, r.origLen, r.tsSec, r.tsNsec, ids.get(`${r.section}/${r.interfaceId}`)!, r.comment);
    let p = pcaps.get(r.linkType);
    if (p === undefined) {
      const path = `${base}.rt-${r.linkType}.pcap`;
      p = { w: await PcapWriter.create(path, { precision: "ns", linkType: r.linkType }), path, count: 0 };
      pcaps.set(r.linkType, p);
    }
    p.w.write(r.data, r.origLen, r.tsSec, r.tsNsec);
    p.count++;
  }
  await ng.close();
  for (const p of pcaps.values()) await p.w.close();
  return {
    name,
    pcapng: `${base}.rt.pcapng`,
    pcaps: [...pcaps].map(([linkType, p]) => ({ path: p.path, linkType, count: p.count })),
    linkTypes: new Set(result.info.interfaces.map((i) => i.linkType)).size,
  };
}

function sameRecord(a: Rec, b: Rec, what: string): void {
  assert.deepEqual(a.data, b.data, `${what}: bytes`);
  assert.equal(a.origLen, b.origLen, `${what}: origLen`);
  assert.equal(a.tsSec, b.tsSec, `${what}: tsSec`);
  assert.equal(a.tsNsec, b.tsNsec, `${what}: tsNsec`);
  assert.equal(a.linkType, b.linkType, `${what}: linkType`);
}

async function countWith(tool: string, args: string[]): Promise<{ ok: boolean; lines: number; err: string }> {
  const out = await new Deno.Command(tool, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  return {
    ok: out.success,
    lines: text.split("\n").filter((l) => l !== "").length,
    err: new TextDecoder().decode(out.stderr),
  };
}

/** tcpdump --count prints "N packets" without dissecting (its per-packet lines can wrap). */
async function tcpdumpCount(path: string): Promise<{ ok: boolean; count: number; err: string }> {
  const out = await new Deno.Command("tcpdump", {
    args: ["--count", "-r", path],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const m = /^(\d+) packets?/m.exec(new TextDecoder().decode(out.stdout));
  return {
    ok: out.success && m !== null,
    count: m ? Number(m[1]) : -1,
    err: new TextDecoder().decode(out.stderr),
  };
}

corpusTest(
  "corpus: round trip through PcapngWriter and PcapWriter (ns) gives identical records",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "mpp-rt-" });
    const useTcpdump = haveTool("tcpdump");
    const useTshark = haveTool("tshark");
    if (!useTcpdump) console.warn("SKIP tcpdump read-back: tcpdump not installed");
    if (!useTshark) console.warn("SKIP tshark read-back: tshark not installed");
    try {
      for (const name of corpusFiles()) {
        const { recs, result } = await readAll(corpusPath(name));
        const w = await writeBoth(name, recs, result, dir);
        const back = await readAll(w.pcapng);
        assert.deepEqual(back.result.issues, [], `${name}: pcapng issues`);
        assert.equal(back.recs.length, recs.length, `${name}: pcapng count`);
        for (let i = 0; i < recs.length; i++) {
          sameRecord(back.recs[i], recs[i], `${name} pcapng #${i}`);
          assert.equal(back.recs[i].comment, recs[i].comment, `${name} #${i}: comment`);
        }
        for (const p of w.pcaps) {
          const subset = recs.filter((r) => r.linkType === p.linkType);
          const pb = await readAll(p.path);
          assert.equal(pb.result.info.tsPrecision, "ns");
          assert.equal(pb.recs.length, subset.length, `${name}: pcap count`);
          for (let i = 0; i < subset.length; i++) sameRecord(pb.recs[i], subset[i], `${name} pcap #${i}`);
          if (useTcpdump) {
            const t = await tcpdumpCount(p.path);
            assert.ok(t.ok, `${name}: tcpdump -r ${p.path}: ${t.err}`);
            assert.equal(t.count, p.count, `${name}: tcpdump count of pcap`);
          }
        }
        // libpcap reads a pcapng only when all its interfaces share one link type.
        if (useTcpdump && w.linkTypes <= 1 && recs.length > 0) {
          const t = await tcpdumpCount(w.pcapng);
          assert.ok(t.ok, `${name}: tcpdump -r pcapng: ${t.err}`);
          assert.equal(t.count, recs.length, `${name}: tcpdump count of pcapng`);
        }
        if (useTshark) {
          const t = await countWith("tshark", ["-r", w.pcapng, "-T", "fields", "-e", "frame.number"]);
          assert.ok(t.ok, `${name}: tshark -r pcapng: ${t.err}`);
          assert.equal(t.lines, recs.length, `${name}: tshark count of pcapng`);
          if (name.startsWith("pcap") || w.pcaps.length > 1) {
            for (const p of w.pcaps) {
              const tp = await countWith("tshark", ["-r", p.path, "-T", "fields", "-e", "frame.number"]);
              assert.ok(tp.ok, `${name}: tshark -r ${p.path}: ${tp.err}`);
              assert.equal(tp.lines, p.count, `${name}: tshark count of pcap`);
            }
          }
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
