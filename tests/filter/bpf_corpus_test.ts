/**
 * The interpreter and the translated function against libpcap's own pcap_offline_filter, on every
 * packet of every corpus file libpcap can read, for a set of filters covering the primitives people
 * use. Return values must be identical (not just match/no-match), and the programs must be the ones
 * libpcap compiles for that file.
 */
import assert from "node:assert/strict";
import { CORPUS_DIR, corpusAvailable, corpusPath, corpusTest, testIf } from "../_util/corpus.ts";
import { libpcapAvailable, offlinePackets, PcapHandle } from "../../ffi/libpcap.ts";
import { type BpfFunction, compileFilter, programInsns, runBpf, translateBpf } from "../../lib/filter/mod.ts";
import { MppError } from "../../lib/errors.ts";

const FILTERS = [
  "host 10.0.2.15",
  "src host 10.35.60.100 or dst host 192.150.187.43",
  "net 192.150.0.0/16",
  "net 10.0.0.0/8 and not net 10.35.0.0/16",
  "port 80",
  "tcp port 80 or tcp port 443",
  "udp port 53",
  "src port 5060 or dst port 5060",
  "portrange 1024-65535",
  "udp portrange 16384-32767",
  "vlan",
  "vlan 123",
  "vlan 1508 or vlan 6",
  "vlan and tcp",
  "ip proto 17",
  "ip proto \\tcp",
  "ip proto 47",
  "tcp[tcpflags] & tcp-syn != 0",
  "tcp[tcpflags] & (tcp-syn|tcp-ack) = tcp-syn",
  "tcp[tcpflags] & tcp-rst != 0 or tcp[tcpflags] & tcp-fin != 0",
  "ip[8] < 64",
  "ip[6:2] & 0x1fff != 0 or ip[6] & 0x20 != 0",
  "udp[8] & 0xc0 = 0x80",
  "ip6",
  "ip6 and udp",
  "ip6 proto 58",
  "icmp6",
  "multicast",
  "ip multicast",
  "ip6 multicast",
  "broadcast",
  "ether broadcast or ether multicast",
  "less 100",
  "greater 1000",
  "len >= 60 and len <= 128",
  "icmp",
  "icmp[icmptype] = icmp-echo",
  "arp",
  "arp or rarp",
  "not ip",
  "not tcp and not udp",
  "ip and not (tcp or udp)",
  "(tcp or udp) and (port 53 or port 123 or port 5060)",
  "ip or ip6",
  "igmp",
  "mpls",
  "proto 47",
  "tcp and tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420",
  "ether proto 0x88f7",
  "ether host ff:ff:ff:ff:ff:ff or ether src 00:00:00:00:00:00",
];

interface Opened {
  name: string;
  linkType: number;
  snaplen: number;
  packets: { data: Uint8Array<ArrayBuffer>; origLen: number }[];
}

function openCorpus(): { files: Opened[]; unreadable: string[] } {
  const files: Opened[] = [];
  const unreadable: string[] = [];
  // Listed from the directory rather than expected.json: this test needs libpcap's view, not tshark's.
  const names = corpusAvailable
    ? [...Deno.readDirSync(CORPUS_DIR)].map((e) => e.name).filter((n) => /\.pcap(ng)?$/.test(n)).sort()
    : [];
  for (const name of names) {
    let h: PcapHandle;
    try {
      h = PcapHandle.openOffline(corpusPath(name));
    } catch (e) {
      unreadable.push(`${name} (${(e as Error).message})`);
      continue;
    }
    const packets: Opened["packets"] = [];
    try {
      for (const r of offlinePackets(h)) packets.push({ data: r.data, origLen: r.origLen });
    } catch {
      // A damaged tail: keep what libpcap delivered before it.
    }
    files.push({ name, linkType: h.datalink(), snaplen: h.snapshot(), packets });
    h.close();
  }
  return { files, unreadable };
}

const haveLib = libpcapAvailable();

if (!haveLib) testIf(false, "libpcap is not installed (apt-get install libpcap0.8)", "bpf corpus", () => {});
else {
  corpusTest("BPF interpreter and translation agree with pcap_offline_filter on the corpus", () => {
    const { files, unreadable } = openCorpus();
    if (unreadable.length) console.warn(`libpcap cannot read: ${unreadable.join("; ")}`);
    assert.ok(files.length >= 40, `only ${files.length} corpus files readable`);
    const hdr = new Uint8Array(24);
    let compared = 0;
    const oneSided: string[] = [];
    for (const expr of FILTERS) {
      let matched = 0, rejected = 0;
      for (const f of files) {
        using h = PcapHandle.openDead(f.linkType, f.snaplen);
        let code;
        try {
          code = h.compile(expr);
        } catch (e) {
          // libpcap refuses this filter for this link type; so must compileFilter.
          assert.throws(() => compileFilter(expr, f.linkType, f.snaplen), (x) => x instanceof MppError);
          assert.ok(e instanceof MppError && e.code === "bad_usage");
          continue;
        }
        using oracle = code;
        const prog = compileFilter(expr, f.linkType, f.snaplen);
        assert.deepEqual(programInsns(prog), oracle.instructions(), `${expr} on ${f.name}: program differs`);
        const fn: BpfFunction | undefined = translateBpf(prog);
        if (!fn) throw new Error("translation failed");
        for (let i = 0; i < f.packets.length; i++) {
          const { data, origLen } = f.packets[i];
          const want = oracle.offlineFilter(hdr, data, origLen) >>> 0;
          const got = runBpf(prog, data, origLen);
          const jit: number = fn(data, origLen);
          if (got !== want || jit !== want) {
            assert.fail(
              `${expr} on ${f.name} packet ${i + 1}: libpcap ${want}, interpreter ${got}, translated ${jit}`,
            );
          }
          if (want) matched++;
          else rejected++;
          compared++;
        }
      }
      if (matched === 0 || rejected === 0) {
        oneSided.push(`${expr} (${matched} matched, ${rejected} rejected)`);
      }
    }
    // Each filter must be exercised both ways somewhere in the corpus, or the comparison proves little.
    assert.deepEqual(oneSided, [], "filters not exercised both ways");
    console.log(`compared ${compared} verdicts (${FILTERS.length} filters x ${files.length} files)`);
  });
}
