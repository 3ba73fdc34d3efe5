import { formatIpv4, formatIpv6 } from "../packet/format.ts";
import type { Analyzer } from "./analyzer.ts";
import { BREAK_WORDS, type Flow, type RoutedFrames, TrafficType } from "./flow.ts";
import { FlowKind, keyIsIpv6, keyKind, keyProto, keyVlan } from "./key.ts";
import type { PairStats } from "./pair_table.ts";
import { addConv, type ConvPart, mergeReports, type PartialReport, smi } from "./report_merge.ts";
import {
  C_FIRST_DIR,
  C_FIRST_T,
  C_FRAMES0,
  C_FRAMES1,
  C_LAST_T,
  C_WIRE0,
  C_WIRE1,
  CONN_WORDS,
  type TcpReassembly,
} from "../tcp/reassembly.ts";
import { countersByFlow, streamsByFlow, tcpSection } from "../tcp/report.ts";
import { httpSection } from "../../decoders/http_report.ts";
import type { z } from "zod";
import type { AnalyzeReport, FlowReport, Timing } from "./report_schema.ts";
import { epochString, ns, type TimingStats } from "./timing.ts";
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
export function buildReport(
  a: Analyzer,
  opts: ReportOptions,
  tcp: TcpReassembly | null = null,
): AnalyzeReport {
  return mergeReports([partialReport(a, opts, tcp)], opts);
}

/**
 * One analyzer's share of a report (the whole input, or one shard of its flows): plain data that
 * crosses a Worker boundary and merges exactly (report_merge.ts). Only the `top` flows by `sort`
 * are built, since the global top N are among every shard's top N.
 */
export function partialReport(
  a: Analyzer,
  opts: ReportOptions,
  tcp: TcpReassembly | null = null,
): PartialReport {
  const timing = timingFormatter(a);
  const names = new FlowNames(a);
  const sorted = sortFlows(a.flows, opts.sort ?? "frames");
  const shown = opts.top !== undefined && opts.top >= 0 ? sorted.slice(0, opts.top) : sorted;
  const counters = tcp === null ? null : countersByFlow(tcp);
  const flows = shown.map((f) => {
    const report = flowReport(a, f, timing, names);
    const c = counters?.get(f);
    if (c !== undefined) report.tcpStreams = c;
    return { firstFrame: f.firstFrame, report };
  });
  const flowFrames = a.flows.map((f) => f.firstFrame).sort((x, y) => x - y);

  const rtp: PartialReport["rtp"] = [];
  for (const f of a.flows) {
    if (f.decoder === null || f.decoder.phsName !== "rtp" || !f.decoder.summarize) continue;
    const s = f.decoder.summarize(f.decoderState);
    const streams = Array.isArray(s?.streams) ? s.streams as Record<string, unknown>[] : [];
    const [la, lb] = names.endpoints(f);
    for (const st of streams) {
      // Each stream runs its own way (a call's two directions share one flow).
      const fromB = st.src === lb && st.dst === la;
      rtp.push({
        firstFrame: f.firstFrame,
        stream: {
          ...st,
          flow: f.id,
          src: fromB ? lb : la,
          dst: fromB ? la : lb,
          ssrc: Number(st.ssrc),
          packets: Number(st.packets),
          lost: Number(st.lost),
        },
      });
    }
  }

  let http: PartialReport["http"];
  if (tcp !== null) {
    const section = httpSection(a.flows, streamsByFlow(tcp));
    if (section !== undefined) {
      const frameOf = new Map(a.flows.map((f) => [f.id, f.firstFrame]));
      http = { section, flowFrames: section.transactions.map((t) => frameOf.get(t.flow) ?? 0) };
    }
  }

  return {
    summary: {
      packets: a.packets,
      bytes: a.bytes,
      first: a.firstSec < 0 ? null : epochString(a.firstSec, a.firstNsec),
      last: a.firstSec < 0 ? null : epochString(a.lastSec, a.lastNsec),
      duration: a.firstSec < 0 ? 0 : ns((a.maxSec - a.minSec) + (a.maxNsec - a.minNsec) / 1e9),
      flows: a.flows.length,
      flowsShown: flows.length,
      truncated: a.truncated,
      malformed: a.malformed,
      filteredOut: a.filteredOut,
    },
    flowFrames,
    flows,
    phs: a.phs.entries(),
    conv: flowConversations(a, names, tcp === null ? null : tcp.connectionsByFlow()),
    eth: a.ethPairs.pairs.map(pairPart),
    outer: a.outerPairs.pairs.map(pairPart),
    outerUdp: a.outerUdpPairs.pairs.map(pairPart),
    io: a.io ? { interval: a.io.interval, rows: a.io.rows(), outOfRange: a.io.overflow } : undefined,
    rtp,
    tcp: tcp === null ? undefined : tcpSection(tcp),
    http,
  };
}

function timingFormatter(a: Analyzer): (t: TimingStats) => TimingJson {
  const baseSec = a.clock.baseSec < 0 ? 0 : a.clock.baseSec, baseNsec = a.clock.baseNsec;
  // Relative seconds back to the exact epoch: whole seconds and nanoseconds kept apart.
  const abs = (rel: number) => {
    const whole = Math.floor(rel);
    let ns = Math.round((rel - whole) * 1e9) + baseNsec;
    let s = baseSec + whole;
    if (ns >= 1e9) {
      s += 1;
      ns -= 1e9;
    }
    return epochString(s, ns);
  };
  return (t: TimingStats) => ({
    packets: smi(t.packets),
    bytes: smi(t.bytes),
    first: abs(t.first),
    last: abs(t.last),
    duration: ns(t.duration),
    iatMin: t.packets > 1 ? ns(t.iatMin) : null,
    iatMean: t.packets > 1 ? ns(t.iatMean) : null,
    iatMax: t.packets > 1 ? ns(t.iatMax) : null,
    iatStddev: t.packets > 2 ? ns(t.iatStddev) : null,
    jitter: t.packets > 2 ? ns(t.jitter) : null,
  });
}

function pairPart(p: PairStats): ConvPart {
  return {
    key: p.a < p.b ? `${p.a}|${p.b}` : `${p.b}|${p.a}`,
    conn: 0,
    a: p.a,
    b: p.b,
    aToBPackets: p.aToBPackets,
    aToBBytes: p.aToBBytes,
    bToAPackets: p.bToAPackets,
    bToABytes: p.bToABytes,
    first: p.first,
    last: p.last,
    firstFrame: p.firstFrame,
  };
}

export function sortFlows(flows: Flow[], key: SortKey): Flow[] {
  const arr = flows.slice();
  // The duration as reported (to the nanosecond), so ties break by id in every thread's order.
  const dur = (f: Flow) => ns(f.timing.duration);
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

/**
 * A flow's address and endpoint labels, each made once per report: they appear in its row, its
 * conversations and its RTP streams (formatting them anew each time cost a tenth of the report).
 */
class FlowNames {
  private readonly addrs: (string | undefined)[];
  private readonly ends: ([string, string] | undefined)[];
  constructor(private readonly a: Analyzer) {
    this.addrs = new Array(2 * a.flows.length);
    this.ends = new Array(a.flows.length);
  }

  /** Endpoint A's (or B's) address. */
  addr(f: Flow, second: boolean): string {
    const i = 2 * f.id + (second ? 1 : 0);
    return this.addrs[i] ??= addrOf(this.a.index.key(f.id), second);
  }

  /** [A side, B side] as `addr` or `addr:port` / `[v6]:port`. */
  endpoints(f: Flow): [string, string] {
    let e = this.ends[f.id];
    if (e === undefined) {
      const key = this.a.index.key(f.id);
      const hasPorts = keyKind(key[0]) === FlowKind.IP && (keyProto(key[0]) === 6 || keyProto(key[0]) === 17);
      const fmt = (addr: string, port: number) =>
        !hasPorts ? addr : addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`;
      e = this.ends[f.id] = [
        fmt(this.addr(f, false), key[9] >>> 16),
        fmt(this.addr(f, true), key[9] & 0xffff),
      ];
    }
    return e;
  }
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
  names: FlowNames,
): FlowReport {
  const key = a.index.key(f.id);
  const isIp = keyKind(key[0]) === FlowKind.IP;
  const proto = keyProto(key[0]);
  const hasPorts = isIp && (proto === 6 || proto === 17);
  const side = (second: boolean, d: Flow["a"]) => ({
    address: names.addr(f, second),
    port: hasPorts ? (second ? key[9] & 0xffff : key[9] >>> 16) : null,
    packets: smi(d.packets),
    bytes: smi(d.bytes),
    payloadBytes: smi(d.payloadBytes),
    ipBytes: smi(d.ipBytes),
  });
  const sa = side(false, f.a), sb = side(true, f.b);
  const orig = f.origIsA ? sa : sb, resp = f.origIsA ? sb : sa;
  const [la, lb] = names.endpoints(f);
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
    const et = timing(f.encoding);
    encodings.push({
      ...et,
      // A decoder chosen for the flow that counted no message (a stream decoder without
      // reassembly) has no first or last packet: null rather than a time no packet had.
      first: et.packets === 0 ? null : et.first,
      last: et.packets === 0 ? null : et.last,
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
    packets: smi(f.packets),
    bytes: smi(f.bytes),
    first: epochString(f.firstSec, f.firstNsec),
    last: epochString(...f.last),
    duration: ns(f.timing.duration),
    transport,
    encodings,
  };
}

/**
 * The TCP, UDP, IP and IPv6 conversations of `tshark -z conv,TYPE`, derived from the flow table
 * (no per-packet cost): A is the source of the first packet, frames and bytes are counted per
 * direction. Listed in order of their first flow; report_merge.ts adds the Ethernet and
 * tunnel-outer pairs (counted per packet in PairTables), merges shards and sorts. A TCP flow is
 * one row per connection, as tshark's rows are per tcp.stream (a 4-tuple reused after close is a
 * new row): `conns` holds lib/tcp's connections when it ran, else the flow's own connection breaks.
 */
function flowConversations(
  a: Analyzer,
  names: FlowNames,
  conns: Map<unknown, number[]> | null,
): PartialReport["conv"] {
  const byType: Record<"ip" | "ipv6" | "udp", Map<string, ConvPart>> = {
    ip: new Map(),
    ipv6: new Map(),
    udp: new Map(),
  };
  // TCP: each pair's connections by ordinal (no key string per connection: a capture with
  // hundreds of thousands of connections keeps one row each and nothing more).
  const tcp = new Map<string, ConvPart[]>();
  const add = (map: Map<string, ConvPart>, part: ConvPart) => {
    const c = map.get(part.key);
    if (c === undefined) map.set(part.key, part);
    else addConv(c, part);
  };
  const addTcp = (part: ConvPart) => {
    let l = tcp.get(part.key);
    if (l === undefined) tcp.set(part.key, l = []);
    const c = l[part.conn];
    if (c === undefined) l[part.conn] = part;
    else addConv(c, part);
  };
  const flows = a.flows.slice().sort((x, y) => x.firstFrame - y.firstFrame);
  for (const f of flows) {
    const key = a.index.key(f.id);
    if (keyKind(key[0]) !== FlowKind.IP) continue;
    const [la, lb] = names.endpoints(f);
    const fa = f.a, fb = f.b, ft = f.timing;
    // `r`: leave out the frames with an IPv6 routing header (see RoutedFrames).
    const flowPart = (x: string, y: string, r: RoutedFrames | null = null) =>
      convPart(
        x < y ? `${x}|${y}` : `${y}|${x}`,
        0,
        x,
        y,
        r === null ? f.firstSrcIsA : r.plainFirstFromA,
        fa.packets - (r?.packetsA ?? 0),
        fa.bytes - (r?.bytesA ?? 0),
        fb.packets - (r?.packetsB ?? 0),
        fb.bytes - (r?.bytesB ?? 0),
        r === null ? ft.first : r.plainFirst,
        r === null ? ft.last : r.plainLast,
        r === null ? f.firstFrame : r.plainFirstFrame,
      );
    const proto = keyProto(key[0]);
    if (proto === 6) {
      const rows = conns?.get(f) ?? breakRows(f);
      if (rows === undefined || rows.length < 2 * CONN_WORDS) addTcp(flowPart(la, lb));
      else connectionParts(f, la, lb, rows, addTcp);
    } else if (proto === 17) add(byType.udp, flowPart(la, lb));
    // tshark taps an IPv6 conversation only for frames that carry or complete a datagram; IPv6
    // fragments that complete nothing are left out (IPv4 fragments are counted).
    const v6 = keyIsIpv6(key[0]);
    // Frames with a routing header are in the IPv6 table by their header's addresses (counted per
    // frame with the outer pairs); the flow's own row holds the others.
    const r = f.routed;
    if (r === null ? !(v6 && proto === 255) : r.plainPackets > 0) {
      add(v6 ? byType.ipv6 : byType.ip, flowPart(names.addr(f, false), names.addr(f, true), r));
    }
  }
  const tcpParts: ConvPart[] = [];
  for (const l of tcp.values()) for (const p of l) if (p !== undefined) tcpParts.push(p);
  return {
    ip: [...byType.ip.values()],
    ipv6: [...byType.ipv6.values()],
    tcp: tcpParts,
    udp: [...byType.udp.values()],
  };
}

/** One conversation part; A is whichever of x, y sent the first frame. */
function convPart(
  key: string,
  conn: number,
  x: string,
  y: string,
  firstFromX: boolean,
  xPackets: number,
  xBytes: number,
  yPackets: number,
  yBytes: number,
  first: number,
  last: number,
  firstFrame: number,
): ConvPart {
  // Both ends the same address (loopback): tshark counts every frame as A→B.
  const same = x === y;
  return {
    key,
    conn,
    a: firstFromX ? x : y,
    b: firstFromX ? y : x,
    aToBPackets: smi(same ? xPackets + yPackets : firstFromX ? xPackets : yPackets),
    aToBBytes: smi(same ? xBytes + yBytes : firstFromX ? xBytes : yBytes),
    bToAPackets: smi(same ? 0 : firstFromX ? yPackets : xPackets),
    bToABytes: smi(same ? 0 : firstFromX ? yBytes : xBytes),
    first,
    last,
    firstFrame: smi(firstFrame),
  };
}

/**
 * Without reassembly: a flow's connections as CONN_WORDS rows from its connection breaks (the
 * last row's counts are left to connectionParts, which gives it the flow's remainder).
 */
function breakRows(f: Flow): number[] | undefined {
  const br = f.connBreaks;
  if (br === null) return undefined;
  const rows: number[] = [];
  const oa = f.origIsA;
  let pA = 0, bA = 0, pB = 0, bB = 0;
  let first = f.timing.first, dir = f.firstSrcIsA === oa ? 0 : 1;
  for (let i = 0; i < br.length; i += BREAK_WORDS) {
    const dPA = br[i] - pA, dBA = br[i + 1] - bA, dPB = br[i + 2] - pB, dBB = br[i + 3] - bB;
    rows.push(dir, oa ? dPA : dPB, oa ? dBA : dBB, oa ? dPB : dPA, oa ? dBB : dBA, first, br[i + 4]);
    pA = br[i];
    bA = br[i + 1];
    pB = br[i + 2];
    bB = br[i + 3];
    first = br[i + 5];
    dir = br[i + 6];
  }
  rows.push(dir, 0, 0, 0, 0, first, f.timing.last);
  return rows;
}

/**
 * A TCP flow's connections (CONN_WORDS numbers each, see TcpReassembly.connectionsByFlow) as
 * conversation parts, the k-th with `conn` k. Frames the reassembler did not see (a TCP header cut
 * by the snapshot length) go to the last connection, so the rows always add up to the flow.
 */
function connectionParts(f: Flow, la: string, lb: string, w: number[], out: (p: ConvPart) => void): void {
  const orig = f.origIsA ? f.a : f.b, resp = f.origIsA ? f.b : f.a;
  let f0 = orig.packets, w0 = orig.bytes, f1 = resp.packets, w1 = resp.bytes;
  for (let i = 0; i < w.length; i += CONN_WORDS) {
    f0 -= w[i + C_FRAMES0];
    w0 -= w[i + C_WIRE0];
    f1 -= w[i + C_FRAMES1];
    w1 -= w[i + C_WIRE1];
  }
  const pair = la < lb ? `${la}|${lb}` : `${lb}|${la}`;
  const lo = f.origIsA ? la : lb, hi = f.origIsA ? lb : la;
  for (let i = 0, k = 0; i < w.length; i += CONN_WORDS, k++) {
    const last = i + CONN_WORDS >= w.length;
    out(convPart(
      pair,
      k,
      lo,
      hi,
      w[i + C_FIRST_DIR] === 0,
      w[i + C_FRAMES0] + (last ? f0 : 0),
      w[i + C_WIRE0] + (last ? w0 : 0),
      w[i + C_FRAMES1] + (last ? f1 : 0),
      w[i + C_WIRE1] + (last ? w1 : 0),
      w[i + C_FIRST_T],
      w[i + C_LAST_T],
      f.firstFrame,
    ));
  }
}
