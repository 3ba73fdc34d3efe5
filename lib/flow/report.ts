import { VERSION } from "../version.ts";
import { formatIpv4, formatIpv6 } from "../packet/format.ts";
import type { Analyzer } from "./analyzer.ts";
import { type Flow, TrafficType } from "./flow.ts";
import { FlowKind, keyIsIpv6, keyKind, keyProto, keyVlan } from "./key.ts";
import type { PairStats } from "./pair_table.ts";
import type { z } from "zod";
import type {
  AnalyzeReport,
  ConversationReport,
  ConvType,
  EndpointReport,
  FlowReport,
  Timing,
} from "./report_schema.ts";
import { epochString, type TimingStats } from "./timing.ts";
import { udpConnState } from "./tcp_conn.ts";
import { macLabel } from "./pair_table.ts";

export type SortKey = "frames" | "bytes" | "duration";

export interface ReportOptions {
  top?: number;
  sort?: SortKey;
  files: AnalyzeReport["files"];
}

const PROTO_NAMES: Record<number, string> = {
  1: "ICMP",
  2: "IGMP",
  6: "TCP",
  17: "UDP",
  41: "IPv6",
  4: "IPIP",
  47: "GRE",
  50: "ESP",
  51: "AH",
  58: "ICMPv6",
  132: "SCTP",
  255: "IP fragments",
};

const ETHER_NAMES: Record<number, string> = {
  0x0806: "ARP",
  0x88f7: "PTP",
  0x88a4: "EtherCAT",
  0x8892: "PROFINET",
  0x88cc: "LLDP",
};

/** Turns the analyzer's state into the versioned report (schema mpp.analyze/1). */
export function buildReport(a: Analyzer, opts: ReportOptions): AnalyzeReport {
  const base = a.clock.baseSec < 0 ? 0 : a.clock.baseSec;
  const abs = (rel: number) => {
    const whole = Math.floor(rel);
    let ns = Math.round((rel - whole) * 1e9);
    let s = base + whole;
    if (ns >= 1e9) {
      s += 1;
      ns -= 1e9;
    }
    return epochString(s, ns);
  };
  const timing = (t: TimingStats) => ({
    packets: t.packets,
    bytes: t.bytes,
    first: abs(t.first),
    last: abs(t.last),
    duration: t.duration,
    iatMin: t.packets > 1 ? t.iatMin : null,
    iatMean: t.packets > 1 ? t.iatMean : null,
    iatMax: t.packets > 1 ? t.iatMax : null,
    iatStddev: t.packets > 2 ? t.iatStddev : null,
    jitter: t.packets > 2 ? t.jitter : null,
  });

  const sorted = sortFlows(a.flows, opts.sort ?? "frames");
  const shown = opts.top !== undefined && opts.top >= 0 ? sorted.slice(0, opts.top) : sorted;
  const flows: FlowReport[] = shown.map((f) => flowReport(a, f, timing));

  const rtpStreams: AnalyzeReport["rtp"]["streams"] = [];
  for (const f of a.flows) {
    if (f.decoder === null || f.decoder.phsName !== "rtp" || !f.decoder.summarize) continue;
    const s = f.decoder.summarize(f.decoderState);
    const streams = Array.isArray(s?.streams) ? s.streams as Record<string, unknown>[] : [];
    const [src, dst] = endpoints(a, f);
    for (const st of streams) {
      rtpStreams.push({
        ...st,
        flow: f.id,
        src,
        dst,
        ssrc: Number(st.ssrc),
        packets: Number(st.packets),
        lost: Number(st.lost),
      });
    }
  }

  const conv = conversations(a);
  return {
    schema: "mpp.analyze/1",
    generator: { name: "mpp", version: VERSION },
    files: opts.files,
    summary: {
      packets: a.packets,
      bytes: a.bytes,
      first: a.firstSec < 0 ? null : epochString(a.firstSec, a.firstNsec),
      last: a.firstSec < 0 ? null : epochString(a.lastSec, a.lastNsec),
      duration: a.firstSec < 0 ? 0 : (a.maxSec - a.minSec) + (a.maxNsec - a.minNsec) / 1e9,
      flows: a.flows.length,
      flowsShown: flows.length,
      truncated: a.truncated,
      malformed: a.malformed,
      filteredOut: a.filteredOut,
    },
    flows,
    phs: a.phs.entries(),
    conversations: conv,
    endpoints: {
      eth: endpointsOf(conv.eth),
      ip: endpointsOf(conv.ip),
      ipv6: endpointsOf(conv.ipv6),
      tcp: endpointsOf(conv.tcp),
      udp: endpointsOf(conv.udp),
    },
    io: a.io ? { interval: a.io.interval, rows: a.io.rows() } : undefined,
    rtp: { streams: rtpStreams },
  };
}

export function sortFlows(flows: Flow[], key: SortKey): Flow[] {
  const arr = flows.slice();
  const dur = (f: Flow) => f.timing.duration;
  if (key === "bytes") arr.sort((x, y) => y.bytes - x.bytes || x.id - y.id);
  else if (key === "duration") arr.sort((x, y) => dur(y) - dur(x) || x.id - y.id);
  else arr.sort((x, y) => y.packets - x.packets || x.id - y.id);
  return arr;
}

function addrOf(key: Uint32Array, second: boolean): string {
  const o = second ? 5 : 1;
  const meta = key[0];
  if (keyKind(meta) === FlowKind.L2) return macLabel(key[o] * 65536 + key[o + 1]);
  return keyIsIpv6(meta) ? formatIpv6(key.subarray(o, o + 4)) : formatIpv4(key[o]);
}

/** [A side, B side] labels of a flow as `addr` or `addr:port` / `[v6]:port`. */
function endpoints(a: Analyzer, f: Flow): [string, string] {
  const key = a.index.key(f.id);
  const [pa, pb] = [key[9] >>> 16, key[9] & 0xffff];
  const hasPorts = keyKind(key[0]) === FlowKind.IP && (keyProto(key[0]) === 6 || keyProto(key[0]) === 17);
  const fmt = (addr: string, port: number) =>
    !hasPorts ? addr : addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`;
  return [fmt(addrOf(key, false), pa), fmt(addrOf(key, true), pb)];
}

function transportName(key: Uint32Array, f: Flow): string {
  if (keyKind(key[0]) === FlowKind.L2) {
    return ETHER_NAMES[f.etherType] ?? `EtherType 0x${f.etherType.toString(16).padStart(4, "0")}`;
  }
  const p = keyProto(key[0]);
  return PROTO_NAMES[p] ?? `IP proto ${p}`;
}

type TimingJson = z.infer<typeof Timing>;

function flowReport(
  a: Analyzer,
  f: Flow,
  timing: (t: TimingStats) => TimingJson,
): FlowReport {
  const key = a.index.key(f.id);
  const isIp = keyKind(key[0]) === FlowKind.IP;
  const proto = keyProto(key[0]);
  const hasPorts = isIp && (proto === 6 || proto === 17);
  const side = (second: boolean, d: Flow["a"]) => ({
    address: addrOf(key, second),
    port: hasPorts ? (second ? key[9] & 0xffff : key[9] >>> 16) : null,
    packets: d.packets,
    bytes: d.bytes,
    payloadBytes: d.payloadBytes,
    ipBytes: d.ipBytes,
  });
  const sa = side(false, f.a), sb = side(true, f.b);
  const orig = f.origIsA ? sa : sb, resp = f.origIsA ? sb : sa;
  const [la, lb] = endpoints(a, f);
  const label = f.origIsA ? `${la} → ${lb}` : `${lb} → ${la}`;
  const t = timing(f.timing);
  const transport = { ...t, name: transportName(key, f) } as FlowReport["transport"];
  if (f.tcp !== null) {
    transport.connState = f.tcp.connState();
    transport.history = f.tcp.history;
  } else if (proto === 17 && isIp) {
    transport.connState = udpConnState(orig.packets, resp.packets);
  }
  const encodings: FlowReport["encodings"] = [];
  if (f.decoder !== null && f.encoding !== null) {
    const d = f.decoder;
    const types = [];
    for (let i = 0; i < f.packetTypes.length; i++) {
      const s = f.packetTypes[i];
      if (s !== undefined) types.push({ ...timing(s), name: d.packetTypes[i] ?? `type ${i}` });
    }
    types.sort((x, y) => y.packets - x.packets);
    encodings.push({
      ...timing(f.encoding),
      name: d.name,
      label: d.label,
      confidence: f.confidence,
      evidence: f.evidence,
      detail: f.evidenceDetail,
      malformed: f.malformed,
      packetTypes: types,
      session: d.summarize ? d.summarize(f.decoderState) : undefined,
    });
  }
  const vlan = keyVlan(key[0]);
  return {
    id: f.id,
    label,
    traffic: f.trafficType === TrafficType.MULTICAST
      ? "multicast"
      : f.trafficType === TrafficType.BROADCAST
      ? "broadcast"
      : "unicast",
    vlan: vlan === 0 ? null : vlan,
    tunnelId: key[10] === 0 ? null : key[10],
    orig,
    resp,
    packets: f.packets,
    bytes: f.bytes,
    first: epochString(f.firstSec, f.firstNsec),
    last: epochString(...f.last),
    duration: f.timing.duration,
    transport,
    encodings,
  };
}

interface ConvAcc {
  a: string;
  b: string;
  aToBPackets: number;
  aToBBytes: number;
  bToAPackets: number;
  bToABytes: number;
  first: number;
  last: number;
  order: number;
}

/**
 * Conversation tables as `tshark -z conv,TYPE` builds them: A is the source of the first packet,
 * frames and bytes are counted per direction, sorted by total frames. TCP/UDP and IP tables are
 * derived from the flow table at the end (no per-packet cost); Ethernet and tunnel-outer IP pairs
 * are counted per packet in PairTables.
 */
function conversations(a: Analyzer): Record<ConvType, ConversationReport[]> {
  const byType: Record<ConvType, Map<string, ConvAcc>> = {
    eth: new Map(),
    ip: new Map(),
    ipv6: new Map(),
    tcp: new Map(),
    udp: new Map(),
  };
  const flows = a.flows.slice().sort((x, y) => x.firstFrame - y.firstFrame);
  for (const f of flows) {
    const key = a.index.key(f.id);
    if (keyKind(key[0]) !== FlowKind.IP) continue;
    const [la, lb] = endpoints(a, f);
    const first = f.firstSrcIsA;
    const addOne = (map: Map<string, ConvAcc>, x: string, y: string) => {
      const ax = first ? x : y, bx = first ? y : x;
      const k = x < y ? `${x}|${y}` : `${y}|${x}`;
      let c = map.get(k);
      const fromA = first ? f.a : f.b, fromB = first ? f.b : f.a;
      if (c === undefined) {
        map.set(
          k,
          c = {
            a: ax,
            b: bx,
            aToBPackets: 0,
            aToBBytes: 0,
            bToAPackets: 0,
            bToABytes: 0,
            first: f.timing.first,
            last: f.timing.last,
            order: map.size,
          },
        );
      }
      if (x === y) {
        // Both ends are the same address (loopback): tshark counts every frame as A→B.
        c.aToBPackets += f.a.packets + f.b.packets;
        c.aToBBytes += f.a.bytes + f.b.bytes;
        c.first = Math.min(c.first, f.timing.first);
        c.last = Math.max(c.last, f.timing.last);
        return;
      }
      // The conversation's A may be this flow's B when an earlier flow started the other way.
      const same = c.a === ax;
      c.aToBPackets += same ? fromA.packets : fromB.packets;
      c.aToBBytes += same ? fromA.bytes : fromB.bytes;
      c.bToAPackets += same ? fromB.packets : fromA.packets;
      c.bToABytes += same ? fromB.bytes : fromA.bytes;
      c.first = Math.min(c.first, f.timing.first);
      c.last = Math.max(c.last, f.timing.last);
    };
    const proto = keyProto(key[0]);
    if (proto === 6) addOne(byType.tcp, la, lb);
    else if (proto === 17) addOne(byType.udp, la, lb);
    // tshark taps an IPv6 conversation only for frames that carry or complete a datagram; IPv6
    // fragments that complete nothing are left out (IPv4 fragments are counted).
    const v6 = keyIsIpv6(key[0]);
    if (!(v6 && proto === 255)) addOne(v6 ? byType.ipv6 : byType.ip, addrOf(key, false), addrOf(key, true));
  }
  const pairRows = (pairs: PairStats[], pick?: (p: PairStats) => boolean): ConversationReport[] =>
    pairs.filter((p) => pick === undefined || pick(p)).map((p) => row({ ...p, order: 0 }));
  const row = (c: Omit<ConvAcc, "order"> & { order: number }): ConversationReport => ({
    a: c.a,
    b: c.b,
    aToBPackets: c.aToBPackets,
    aToBBytes: c.aToBBytes,
    bToAPackets: c.bToAPackets,
    bToABytes: c.bToABytes,
    packets: c.aToBPackets + c.bToAPackets,
    bytes: c.aToBBytes + c.bToABytes,
    relStart: c.first,
    duration: c.last - c.first,
  });
  const out = {} as Record<ConvType, ConversationReport[]>;
  for (const t of ["ip", "ipv6", "tcp", "udp"] as const) out[t] = [...byType[t].values()].map(row);
  out.eth = pairRows(a.ethPairs.pairs);
  // Outer IP pairs of tunnelled packets join the IP tables, as tshark taps every IP layer.
  for (const p of a.outerPairs.pairs) {
    const t = p.a.includes(":") ? "ipv6" : "ip";
    const existing = out[t].find((r) => (r.a === p.a && r.b === p.b) || (r.a === p.b && r.b === p.a));
    if (existing === undefined) out[t].push(row({ ...p, order: 0 }));
    else {
      const same = existing.a === p.a;
      existing.aToBPackets += same ? p.aToBPackets : p.bToAPackets;
      existing.aToBBytes += same ? p.aToBBytes : p.bToABytes;
      existing.bToAPackets += same ? p.bToAPackets : p.aToBPackets;
      existing.bToABytes += same ? p.bToABytes : p.aToBBytes;
      existing.packets = existing.aToBPackets + existing.bToAPackets;
      existing.bytes = existing.aToBBytes + existing.bToABytes;
    }
  }
  for (const t of Object.keys(out) as ConvType[]) {
    out[t].sort((x, y) => y.packets - x.packets || x.relStart - y.relStart);
  }
  return out;
}

function endpointsOf(rows: ConversationReport[]): EndpointReport[] {
  const m = new Map<string, EndpointReport>();
  const get = (addr: string) => {
    let e = m.get(addr);
    if (e === undefined) {
      m.set(
        addr,
        e = { address: addr, packets: 0, bytes: 0, txPackets: 0, txBytes: 0, rxPackets: 0, rxBytes: 0 },
      );
    }
    return e;
  };
  for (const r of rows) {
    const ea = get(r.a), eb = get(r.b);
    ea.txPackets += r.aToBPackets;
    ea.txBytes += r.aToBBytes;
    ea.rxPackets += r.bToAPackets;
    ea.rxBytes += r.bToABytes;
    eb.txPackets += r.bToAPackets;
    eb.txBytes += r.bToABytes;
    eb.rxPackets += r.aToBPackets;
    eb.rxBytes += r.aToBBytes;
  }
  for (const e of m.values()) {
    e.packets = e.txPackets + e.rxPackets;
    e.bytes = e.txBytes + e.rxBytes;
  }
  return [...m.values()].sort((x, y) => y.packets - x.packets || x.address.localeCompare(y.address));
}
