/**
 * Hostile capture files through the whole offline pipeline: reader, decoders, flows, TCP
 * reassembly with HTTP transactions and --follow, io,stat, the report and every renderer. Seeds
 * are captures the project makes itself (the shipped sample and the bench generator's mix), with
 * the shared corpus added when present; each case flips bits, stamps bytes or cuts the file. A
 * case must end in a report that passes the schema and renders, or in one MppError of one line:
 * any other exception is a crash a user would see as a stack trace.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { analyzeFiles } from "../../lib/flow/analyze_files.ts";
import { isMppError } from "../../lib/errors.ts";
import { AnalyzeReport } from "../../lib/flow/report_schema.ts";
import { renderTree } from "../../cli/render/tree.ts";
import { renderCsv } from "../../cli/render/csv.ts";
import { renderConversations, renderEndpoints, renderIo, renderPhs } from "../../cli/render/stats.ts";
import { JsonWriter } from "../../cli/render/json_out.ts";
import { renderHttp } from "../../decoders/http_report.ts";
import { Follower } from "../../lib/tcp/follow.ts";
import { generate, prng } from "../../bench/gen/traffic.ts";
import { PcapWriter } from "../../lib/capture/mod.ts";
import { corpusPath, corpusTest } from "../_util/corpus.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const ALL = ["eth", "ip", "ipv6", "tcp", "udp"] as const;

interface Outcome {
  reports: number;
  errors: number;
}

/** Runs `cases` mutants of the seeds; throws on the first crash, naming the case. */
async function fuzz(seeds: Uint8Array[], cases: number, seed: number): Promise<Outcome> {
  const dir = await Deno.makeTempDir({ prefix: "mpp-fuzz-" });
  const rnd = prng(seed);
  const out: Outcome = { reports: 0, errors: 0 };
  try {
    for (let i = 0; i < cases; i++) {
      const b = seeds[i % seeds.length].slice();
      // 0: a few bit flips, 1: stamped bytes, 2: many bit flips, 3: flips then a cut, 4: flips in
      // the first 64 bytes (file header, section and interface blocks).
      const kind = i % 5;
      const n = 1 + Math.floor(rnd() * (kind === 0 || kind === 4 ? 4 : 40));
      for (let k = 0; k < n; k++) {
        const o = Math.floor(rnd() * (kind === 4 ? Math.min(64, b.length) : b.length));
        if (kind === 1) b[o] = [0, 0xff, 0x7f, 0x80][Math.floor(rnd() * 4)];
        else b[o] ^= 1 << Math.floor(rnd() * 8);
      }
      const data = kind === 3 ? b.subarray(0, Math.floor(rnd() * b.length)) : b;
      const path = join(dir, `case-${i}.pcap`);
      await Deno.writeFile(path, data);
      try {
        const follower = new Follower({ index: i % 3 });
        const { report, warnings } = await analyzeFiles([path], {
          tcp: {},
          httpTransactions: true,
          tcpListeners: [follower],
          ioInterval: 0.25,
          threads: 1,
        });
        AnalyzeReport.parse(report);
        let json = "";
        const dec = new TextDecoder();
        new JsonWriter((c) => json += dec.decode(c, { stream: true })).write(report);
        JSON.parse(json + dec.decode());
        renderTree(report);
        renderCsv(report);
        renderPhs(report);
        renderIo(report);
        renderHttp(report.http);
        renderConversations(report, [...ALL]);
        renderEndpoints(report, [...ALL]);
        if (follower.stream !== null) {
          for (const f of ["ascii", "hex", "raw"] as const) follower.render(f);
        }
        for (const w of warnings) assert.ok(!w.includes("\n"), `case ${i}: warning of several lines: ${w}`);
        out.reports++;
      } catch (e) {
        if (isMppError(e) && !e.message.includes("\n")) {
          out.errors++;
          continue;
        }
        // Keep the file: the message names it so the crash can be replayed with `mpp analyze`.
        const keep = await Deno.makeTempFile({ prefix: "mpp-fuzz-crash-", suffix: ".pcap" });
        await Deno.writeFile(keep, data);
        throw new Error(`case ${i} (seed ${seed}) crashed, input kept in ${keep}: ${(e as Error).stack}`);
      } finally {
        await Deno.remove(path);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return out;
}

/** The bench generator's mix (TCP/HTTP with reordering, RTP, DNS, PTP, VLAN, IPv6), small. */
async function generated(): Promise<Uint8Array> {
  const path = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    const w = await PcapWriter.create(path, { linkType: 1, precision: "us" });
    generate(
      { packets: 1500, seed: 3, tcpSlots: 12, rtpStreams: 2, dnsShare: 0.05, ptpShare: 0.05 },
      (fr, s, ns) => {
        w.write(fr, fr.length, s, ns, 0);
      },
    );
    await w.close();
    return await Deno.readFile(path);
  } finally {
    await Deno.remove(path);
  }
}

Deno.test("pipeline fuzz: mutated own captures end in a report or a one-line error", async () => {
  const seeds = [await Deno.readFile(`${root}samples/demo.pcapng`), await generated()];
  const r = await fuzz(seeds, 240, 0x5eed);
  // Both outcomes must occur, or the mutations are too weak (all parse) or too strong (none do).
  assert.ok(r.reports > 100, `only ${r.reports} of 240 mutants gave a report`);
  assert.ok(r.errors > 0, "no mutant was rejected: the mutations do not reach the headers");
});

corpusTest("pipeline fuzz: mutated corpus captures end in a report or a one-line error", async () => {
  const names = [
    "dns-tcp.pcap",
    "ipv4-frag-icmp-echo.pcap",
    "pcap-be-usec-pptp-gre.pcap",
    "pcapng-merged-eth-sll2-raw.pcapng",
    "pcapng-multi-section-custom-blocks.pcapng",
    "pcapng-spb-nrb-eth-null-le.pcapng",
    "rtcp-compound-sll.pcap",
    "tcp-overlap-partial.pcap",
    "tcp-simultaneous-close-http.pcap",
    "vxlan-icmp-arp.pcap",
    "http-keepalive-chunked.pcap",
    "gtp-u-http-ipv4-frag.pcap",
  ];
  const seeds = await Promise.all(names.map((n) => Deno.readFile(corpusPath(n))));
  const r = await fuzz(seeds, 360, 0xc0de);
  assert.ok(r.reports > 100, `only ${r.reports} of 360 mutants gave a report`);
});
