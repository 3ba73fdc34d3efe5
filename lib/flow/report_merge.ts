/**
 * Partial reports (one per analyzer: the whole input, or one shard of its flows) merged into the
 * versioned report. A single analyzer goes through the same merge, so a sharded run and a
 * one-thread run build their tables with the same code. Shards own disjoint flows and see every
 * frame, so flow-level data is concatenated and re-ranked by first frame, per-packet pair tables
 * and io,phs are summed by key, and frame-level totals (summary, io,stat) come from shard 0.
 */
import { VERSION } from "../version.ts";
import { ns } from "./timing.ts";
import type {
  AnalyzeReport,
  ConversationReport,
  ConvType,
  EndpointReport,
  FlowReport,
} from "./report_schema.ts";

type RtpStreamReport = AnalyzeReport["rtp"]["streams"][number];
import type { PhsEntry } from "./phs.ts";
import type { TcpSection } from "../tcp/report.ts";
import type { HttpSection } from "../../decoders/http_report.ts";
import type { ReportOptions } from "./report.ts";

/** A conversation or address pair in one part; `firstFrame` decides its A side across parts. */
export interface ConvPart {
  /** The address (and port) pair, ordered; shared by a flow's parts. */
  key: string;
  /** Which connection of the pair (TCP rows are per connection, as tshark's); 0 otherwise. */
  conn: number;
  a: string;
  b: string;
  aToBPackets: number;
  aToBBytes: number;
  bToAPackets: number;
  bToABytes: number;
  /** Relative seconds of the first and last packet. */
  first: number;
  last: number;
  firstFrame: number;
}

export interface PartialReport {
  /** Frame-level totals (equal in every shard); `flows` counts this part's flows. */
  summary: AnalyzeReport["summary"];
  /** First frame of every flow of this part, ascending: a flow's global id is its rank. */
  flowFrames: number[];
  /** This part's top flows by the sort key, with their part-local ids. */
  flows: { firstFrame: number; report: FlowReport }[];
  phs: PhsEntry[];
  /** Flow-derived conversations, in order of their first flow. */
  conv: Record<"ip" | "ipv6" | "tcp" | "udp", ConvPart[]>;
  /** MAC pairs and tunnel-outer IP pairs, in order of their first frame. */
  eth: ConvPart[];
  outer: ConvPart[];
  /** Outer UDP pairs of tunnels over UDP (VXLAN, GTP-U), in order of their first frame. */
  outerUdp: ConvPart[];
  io?: AnalyzeReport["io"];
  rtp: { firstFrame: number; stream: RtpStreamReport }[];
  tcp?: TcpSection;
  /** HTTP counts and transactions; `flowFrames[i]` is the first frame of transaction i's flow. */
  http?: { section: HttpSection; flowFrames: number[] };
}

/** Adds `p` to conversation `c` (same key), turning p's directions round when its A is c's B. */
export function addConv(c: ConvPart, p: ConvPart): void {
  const same = c.a === p.a;
  c.aToBPackets += same ? p.aToBPackets : p.bToAPackets;
  c.aToBBytes += same ? p.aToBBytes : p.bToABytes;
  c.bToAPackets += same ? p.bToAPackets : p.aToBPackets;
  c.bToABytes += same ? p.bToABytes : p.aToBBytes;
  if (p.first < c.first) c.first = p.first;
  if (p.last > c.last) c.last = p.last;
}

/** Merges lists of the same kind across parts: by key, A side from the earliest first frame. */
function mergeConvs(lists: ConvPart[][]): ConvPart[] {
  if (lists.length === 1) return lists[0];
  const all = lists.flat().sort((x, y) => x.firstFrame - y.firstFrame);
  const m = new Map<string, ConvPart>();
  for (const p of all) {
    const k = p.conn === 0 ? p.key : `${p.key}#${p.conn}`;
    const c = m.get(k);
    if (c === undefined) m.set(k, { ...p });
    else addConv(c, p);
  }
  return [...m.values()];
}

/**
 * The same number, typed as a small integer when it is one. Counters come out of Float64Arrays as
 * doubles, and V8 then keeps that report field as a boxed double in every object built from the
 * same literal: on a 5M-packet report (170k conversation rows) 24 MB of boxes.
 */
export function smi(x: number): number {
  const i = x | 0;
  return i === x && i <= 0x3fffffff && i >= 0 ? i : x;
}

function row(c: ConvPart): ConversationReport {
  return {
    a: c.a,
    b: c.b,
    aToBPackets: smi(c.aToBPackets),
    aToBBytes: smi(c.aToBBytes),
    bToAPackets: smi(c.bToAPackets),
    bToABytes: smi(c.bToABytes),
    packets: smi(c.aToBPackets + c.bToAPackets),
    bytes: smi(c.aToBBytes + c.bToABytes),
    relStart: ns(c.first),
    duration: ns(c.last - c.first),
  };
}

/** The same key for both orders of an address pair (IPv4 and IPv6 labels never collide). */
function pairKey(a: string, b: string): string {
  return a < b ? `${a} ${b}` : `${b} ${a}`;
}

function conversations(parts: PartialReport[]): Record<ConvType, ConversationReport[]> {
  const merged = {} as Record<"ip" | "ipv6" | "tcp" | "udp", ConvPart[]>;
  for (const t of ["ip", "ipv6", "tcp", "udp"] as const) {
    merged[t] = mergeConvs(parts.map((p) => p.conv[t]));
    // Consumed: a capture of many connections holds a part and a row per connection, not both.
    for (const p of parts) p.conv[t] = [];
  }
  // The outer IP pairs of tunnelled packets join the IP tables and the outer UDP pairs of tunnels
  // over UDP the UDP table, as tshark taps every IP and UDP layer: a pair that is also a flow's own
  // conversation becomes one row, its A side and times from the earlier frame. Looked up by pair:
  // a scan of the table per outer pair was quadratic on a mobile core's GTP-U capture (thousands
  // of tunnel endpoints and inner addresses).
  const joins: ["ip" | "udp", ConvPart[]][] = [
    ["ip", mergeConvs(parts.map((x) => x.outer))],
    ["udp", mergeConvs(parts.map((x) => x.outerUdp))],
  ];
  for (const [kind, outer] of joins) {
    if (outer.length === 0) continue;
    const tables = kind === "ip" ? [merged.ip, merged.ipv6] : [merged.udp];
    const byPair = new Map<string, [ConvPart[], number]>();
    for (const list of tables) list.forEach((c, i) => byPair.set(pairKey(c.a, c.b), [list, i]));
    for (const p of outer) {
      const k = pairKey(p.a, p.b);
      const at = byPair.get(k);
      if (at === undefined) {
        // IPv6 labels hold colons; IPv6 UDP labels are bracketed and stay in the UDP table.
        const list = kind === "ip" && p.a.includes(":") ? merged.ipv6 : tables[0];
        byPair.set(k, [list, list.length]);
        list.push(p);
        continue;
      }
      const [list, i] = at;
      if (p.firstFrame < list[i].firstFrame) {
        const c = { ...p };
        addConv(c, list[i]);
        list[i] = c;
      } else addConv(list[i], p);
    }
  }
  const out = {} as Record<ConvType, ConversationReport[]>;
  for (const t of ["ip", "ipv6", "tcp", "udp"] as const) out[t] = merged[t].map(row);
  out.eth = mergeConvs(parts.map((p) => p.eth)).map(row);
  for (const t of Object.keys(out) as ConvType[]) {
    out[t].sort((x, y) => y.packets - x.packets || x.relStart - y.relStart);
  }
  return out;
}

/** io,phs summed by path, then laid out depth-first with children by frames as ProtocolHierarchy does. */
function mergePhs(parts: PartialReport[]): PhsEntry[] {
  if (parts.length === 1) return parts[0].phs;
  const sum = new Map<string, PhsEntry>();
  for (const p of parts) {
    for (const e of p.phs) {
      const s = sum.get(e.path);
      if (s === undefined) sum.set(e.path, { ...e });
      else {
        s.packets += e.packets;
        s.bytes += e.bytes;
      }
    }
  }
  const kids = new Map<string, PhsEntry[]>();
  for (const e of sum.values()) {
    const cut = e.path.lastIndexOf(":");
    const parent = cut < 0 ? "" : e.path.slice(0, cut);
    const l = kids.get(parent);
    if (l === undefined) kids.set(parent, [e]);
    else l.push(e);
  }
  const name = (e: PhsEntry) => e.path.slice(e.path.lastIndexOf(":") + 1);
  const out: PhsEntry[] = [];
  const walk = (parent: string) => {
    const l = kids.get(parent);
    if (l === undefined) return;
    l.sort((x, y) => y.packets - x.packets || name(x).localeCompare(name(y)));
    for (const e of l) {
      out.push(e);
      walk(e.path);
    }
  };
  walk("");
  return out;
}

/** Number of values below `v` in an ascending array. */
function rankIn(sorted: number[], v: number): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function mergeTcp(parts: PartialReport[]): TcpSection | undefined {
  const secs = parts.map((p) => p.tcp).filter((t): t is TcpSection => t !== undefined);
  if (secs.length === 0) return undefined;
  if (secs.length === 1) return secs[0];
  const counters = { ...secs[0].counters };
  const keys = Object.keys(counters) as (keyof typeof counters)[];
  for (const s of secs.slice(1)) for (const k of keys) counters[k] += s.counters[k];
  // Each shard held its own share of the global cap: the total cap is their sum, and the sum of
  // their peaks bounds what was held at once.
  return {
    counters,
    limits: { ...secs[0].limits, globalLimit: secs.reduce((n, s) => n + s.limits.globalLimit, 0) },
    peakBuffered: secs.reduce((n, s) => n + s.peakBuffered, 0),
  };
}

/** Merges `parts` into the report; it consumes them (their flow objects become the report's). */
export function mergeReports(parts: PartialReport[], opts: ReportOptions): AnalyzeReport {
  if (parts.length === 0) throw new Error("mergeReports: no parts");
  const globalId = parts.length === 1
    ? (_f: number, local: number) => local
    : (firstFrame: number) => parts.reduce((n, p) => n + rankIn(p.flowFrames, firstFrame), 0);

  const sort = opts.sort ?? "frames";
  // The parts are consumed: their objects take their global ids in place (no copy per flow).
  const flows: FlowReport[] = [];
  for (const p of parts) {
    for (const f of p.flows) {
      f.report.id = globalId(f.firstFrame, f.report.id);
      flows.push(f.report);
    }
  }
  if (parts.length > 1) {
    if (sort === "bytes") flows.sort((x, y) => y.bytes - x.bytes || x.id - y.id);
    else if (sort === "duration") flows.sort((x, y) => y.duration - x.duration || x.id - y.id);
    else flows.sort((x, y) => y.packets - x.packets || x.id - y.id);
  }
  const shown = opts.top !== undefined && opts.top >= 0 ? flows.slice(0, opts.top) : flows;

  const rtp = parts.flatMap((p) => p.rtp);
  if (parts.length > 1) rtp.sort((x, y) => x.firstFrame - y.firstFrame);

  let http: HttpSection | undefined;
  for (const p of parts) {
    if (p.http === undefined) continue;
    const s = p.http.section, frames = p.http.flowFrames;
    const txs = s.transactions.map((t, i) => ({ ...t, flow: globalId(frames[i], t.flow) }));
    if (http === undefined) http = { ...s, transactions: txs };
    else {
      http.requests += s.requests;
      http.responses += s.responses;
      http.count += s.count;
      http.dropped += s.dropped;
      for (const t of txs) http.transactions.push(t);
    }
  }
  if (http !== undefined && parts.length > 1) {
    http.transactions.sort((a, b) => (a.start ?? 0) - (b.start ?? 0) || a.flow - b.flow);
  }

  const conv = conversations(parts);
  const report: AnalyzeReport = {
    schema: "mpp.analyze/1",
    generator: { name: "mpp", version: VERSION },
    files: opts.files,
    summary: {
      ...parts[0].summary,
      flows: parts.reduce((n, p) => n + p.summary.flows, 0),
      flowsShown: shown.length,
    },
    flows: shown,
    phs: mergePhs(parts),
    conversations: conv,
    endpoints: {
      eth: endpointsOf(conv.eth),
      ip: endpointsOf(conv.ip),
      ipv6: endpointsOf(conv.ipv6),
      tcp: endpointsOf(conv.tcp),
      udp: endpointsOf(conv.udp),
    },
    io: parts[0].io,
    rtp: { streams: rtp.map((r) => ({ ...r.stream, flow: globalId(r.firstFrame, r.stream.flow) })) },
  };
  const tcp = mergeTcp(parts);
  if (tcp !== undefined) report.tcp = tcp;
  if (http !== undefined) report.http = http;
  return report;
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
