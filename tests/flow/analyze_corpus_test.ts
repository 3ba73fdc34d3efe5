import assert from "node:assert/strict";
import {
  corpusFiles,
  corpusPath,
  corpusTest,
  eachCorpusFile,
  expected,
  haveTool,
  testIf,
} from "../_util/corpus.ts";
import { parseConv, parseEndpoints, tshark } from "../_util/tshark.ts";
import { analyzeFiles } from "../../lib/flow/analyze_files.ts";
import { AnalyzeReport } from "../../lib/flow/report_schema.ts";
import { LAYER_NAMES } from "../../lib/packet/layers.ts";
import { defaultRegistry } from "../../decoders/registry.ts";

// Names mpp decodes, so a phs path made only of these must match tshark exactly. RTP/RTCP are left
// out on purpose: tshark recognises RTP only where SDP in the same file announces it, mpp finds it
// heuristically (compared with tshark's heuristic mode in tests/decoders).
const known = new Set<string>([
  ...Object.values(LAYER_NAMES).filter((n) => n !== "data" && n !== "raw" && n !== "fcs"),
  ...defaultRegistry().list().map((d) => d.phsName),
]);
known.delete("rtp");
known.delete("rtcp");
known.add("raw");

/**
 * Where tshark and mpp legitimately disagree on a phs path, with the reason. Keys are
 * `file|path`. Keep this list short and specific.
 */
const PHS_EXCEPTIONS: Record<string, string> = {
  // ICMP errors quote the offending datagram; tshark decodes the quoted DNS, mpp does not decode
  // inside ICMP quotes.
  "gre-tunnel-ip.pcap|eth:ip:gre:ip:icmp:dns": "DNS quoted inside ICMP errors",
  // The server's answer on the VLAN connection carries no HTTP header (the request was 9 bytes);
  // tshark labels its 3 body segments "HTTP Continuation" because of port 80, mpp counts only
  // messages it parses.
  "mpls-vlan-mixed.pcap|eth:vlan:ip:tcp:http": "3 port-80 segments tshark calls HTTP Continuation",
  // The client sends an HTTP GET to an SSH server on port 22: tshark decodes by port (ssh), mpp
  // recognises the HTTP request by its content.
  "pcap-le-nsec-tcp-rst-ssh.pcap|eth:ip:tcp:http": "HTTP request sent to port 22, tshark says ssh",
};

eachCorpusFile(
  "analyze: frames, first/last time and protocol hierarchy equal tshark's",
  corpusFiles(),
  (file) => {
    const exp = expected()[file];
    corpusTest(`analyze ${file}: frames, first/last time and protocol hierarchy equal tshark's`, async () => {
      let report: AnalyzeReport;
      try {
        report = (await analyzeFiles([corpusPath(file)], {})).report;
      } catch (e) {
        // Only a file with no readable frame may fail as a whole.
        assert.equal(exp.packets, 0, `${file}: ${e}`);
        return;
      }
      AnalyzeReport.parse(report);
      assert.equal(report.summary.packets, exp.capinfos_packets ?? exp.packets);
      if (exp.first_ts) assert.equal(report.summary.first, exp.first_ts);
      if (exp.last_ts) assert.equal(report.summary.last, exp.last_ts);
      const ours = new Map(report.phs.map((e) => [e.path, e.packets]));
      // tshark roots frames that carry a pcapng comment under "pkt_comment"; fold them back.
      const theirs = new Map<string, number>();
      for (const [path, n] of Object.entries(exp.phs ?? {})) {
        const p = path.startsWith("pkt_comment:") ? path.slice("pkt_comment:".length) : path;
        if (p !== "pkt_comment") theirs.set(p, (theirs.get(p) ?? 0) + n);
      }
      const comparable = (path: string) =>
        path.split(":").every((n) => known.has(n)) && !PHS_EXCEPTIONS[`${file}|${path}`];
      // tshark counts custom blocks of this file as frames; mpp skips them as the spec says.
      if (file === "pcapng-multi-section-custom-blocks.pcapng") return;
      for (const [path, n] of theirs) {
        if (comparable(path)) {
          assert.equal(ours.get(path), n, `${file}: phs ${path}: mpp ${ours.get(path)} vs tshark ${n}`);
        }
      }
      for (const [path, n] of ours) {
        if (comparable(path)) {
          assert.equal(theirs.get(path), n, `${file}: phs ${path}: mpp ${n} vs tshark ${theirs.get(path)}`);
        }
      }
    });
  },
);

/**
 * Where tshark's conversation tables differ on purpose (docs/conversations.md), by file: the tables
 * left out of the comparison, or Rel Start left out. Every other table of every corpus file must
 * equal tshark's.
 */
const CONV_EXCEPTIONS: Record<string, { tables?: string[]; noRelStart?: true; why: string }> = {
  "sip-rtp-fax-call-t38.pcap": { tables: ["udp"], why: "tshark splits UDP rows at SDP-announced ports" },
  "snaplen-68-truncated-tcp.pcap": {
    tables: ["tcp"],
    why: "tshark's TCP tap skips the SYN cut in its options",
  },
  "pcapng-spb-nrb-eth-null-le.pcapng": { noRelStart: true, why: "tshark times a Simple Packet Block at 0" },
  "pcapng-multi-section-custom-blocks.pcapng": {
    noRelStart: true,
    why: "tshark times a Simple Packet Block at 0",
  },
};

eachCorpusFile("conversations and endpoints equal tshark -z conv and -z endpoints", corpusFiles(), (file) => {
  const except = CONV_EXCEPTIONS[file] ?? { why: "" };
  testIf(
    haveTool("tshark") && expected()[file] !== undefined,
    "needs tshark and the shared corpus",
    `conversations and endpoints of ${file} equal tshark -z conv and -z endpoints (tcp/udp/ip/ipv6/eth)${
      except.why ? `; left out: ${except.tables?.join(", ") ?? "Rel Start"} (${except.why})` : ""
    }`,
    async () => {
      let report: AnalyzeReport;
      try {
        report = (await analyzeFiles([corpusPath(file)], {})).report;
      } catch (e) {
        // Only a file with no readable frame may fail as a whole (the phs test checks that).
        assert.equal(expected()[file].packets, 0, `${file}: ${e}`);
        return;
      }
      const out = await tshark([
        "-r",
        corpusPath(file),
        "-q",
        "-z",
        "conv,tcp",
        "-z",
        "conv,udp",
        "-z",
        "conv,ip",
        "-z",
        "conv,ipv6",
        "-z",
        "endpoints,ip",
        "-z",
        "endpoints,ipv6",
        "-z",
        "endpoints,tcp",
        "-z",
        "endpoints,udp",
        "-z",
        "conv,eth",
        "-z",
        "endpoints,eth",
      ]);
      const types = [
        ["tcp", "TCP Conversations"],
        ["udp", "UDP Conversations"],
        ["ip", "IPv4 Conversations"],
        ["ipv6", "IPv6 Conversations"],
        ["eth", "Ethernet Conversations"],
      ] as const;
      for (const [t, title] of types) {
        if (except.tables?.includes(t)) continue;
        const theirs = parseConv(out, title);
        const ours = report.conversations[t];
        const norm = (a: string) => a.replace(/^\[(.*)\]:(\d+)$/, "$1:$2");
        const key = (a: string, b: string) => [norm(a), norm(b)].sort().join(" ");
        const m = new Map(ours.map((c) => [key(c.a, c.b), c]));
        assert.equal(
          ours.length,
          theirs.length,
          `${file} ${t}: ${ours.length} conversations, tshark ${theirs.length}`,
        );
        for (const c of theirs) {
          const o = m.get(key(c.a, c.b));
          assert.ok(o, `${file} ${t}: tshark has ${c.a} <-> ${c.b}, mpp does not`);
          assert.equal(o.packets, c.frames, `${file} ${t} ${c.a} <-> ${c.b} frames`);
          const aSame = norm(o.a) === c.a;
          assert.equal(aSame ? o.aToBPackets : o.bToAPackets, c.aToBFrames, `${file} ${t} ${c.a} -> ${c.b}`);
          if (c.bytes !== null) assert.equal(o.bytes, c.bytes, `${file} ${t} ${c.a} <-> ${c.b} bytes`);
          // Times from the capture's first frame, as tshark's Rel Start (9 decimals) and Duration (4).
          if (except.noRelStart) continue;
          assert.ok(
            Math.abs(o.relStart - c.relStart) < 1e-9,
            `${file} ${t} ${c.a}: start ${o.relStart} vs ${c.relStart}`,
          );
          assert.ok(
            Math.abs(o.duration - c.duration) <= 5e-5,
            `${file} ${t} ${c.a}: duration ${o.duration} vs ${c.duration}`,
          );
        }
      }
      const epTypes = [
        ["ip", "IPv4 Endpoints", false],
        ["ipv6", "IPv6 Endpoints", false],
        ["tcp", "TCP Endpoints", true],
        ["udp", "UDP Endpoints", true],
        ["eth", "Ethernet Endpoints", false],
      ] as const;
      for (const [t, title, withPort] of epTypes) {
        if (except.tables?.includes(t)) continue;
        const theirs = parseEndpoints(out, title, withPort);
        const ours = new Map(
          report.endpoints[t].map((e) => [e.address.replace(/^\[(.*)\]:(\d+)$/, "$1:$2"), e]),
        );
        assert.equal(
          ours.size,
          theirs.length,
          `${file} ${t}: ${ours.size} endpoints, tshark ${theirs.length}`,
        );
        for (const e of theirs) {
          const o = ours.get(e.address);
          assert.ok(o, `${file} ${t}: tshark has ${e.address}, mpp does not`);
          assert.deepEqual(
            [o.packets, o.bytes, o.txPackets, o.rxPackets],
            [e.packets, e.bytes, e.txPackets, e.rxPackets],
            `${file} ${t} ${e.address}: packets, bytes, tx, rx`,
          );
        }
      }
    },
  );
});
