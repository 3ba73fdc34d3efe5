import type { CaptureRecord } from "../capture/record.ts";
import { Layer } from "../packet/layers.ts";
import { Packet, TcpFlag } from "../packet/packet.ts";
import { PacketDecoder } from "../packet/decoder.ts";
import { type Carrier, type Decoder, NO_PDU } from "../../decoders/decoder.ts";
import { type DecoderRegistry, defaultRegistry, type FlowClassifier } from "../../decoders/registry.ts";
import { Flow, RoutedFrames, TrafficType } from "./flow.ts";
import { KeyBuilder } from "./key.ts";
import { FlowIndex } from "./table.ts";
import { MAX_HISTORY, TcpConn } from "./tcp_conn.ts";
import { Clock, T_FIRST, T_LAST, timingAdd } from "./timing.ts";
import {
  D_BYTES,
  D_FIRST_NSEC,
  D_FIRST_SEC,
  D_IP,
  D_LAST_NSEC,
  D_LAST_SEC,
  D_PACKETS,
  D_PAYLOAD,
  F_A,
  F_B,
  F_ENCODING,
  F_ETH,
  F_TIMING,
  FlowStore,
} from "./flow_store.ts";
import { type PhsNode, ProtocolHierarchy } from "./phs.ts";
import { PendingFrames } from "./pending.ts";
import { macLabel, macNumber, PairTable } from "./pair_table.ts";
import { IoStat } from "./io_stat.ts";
import { formatIpv4, formatIpv6 } from "../packet/format.ts";

export interface AnalyzerOptions {
  registry?: DecoderRegistry;
  /** `udp.port=5000:rtp` style rules. */
  decodeAs?: string[];
  /** io,stat interval in seconds (0 = off). */
  ioInterval?: number;
  /** Frame filter (e.g. a compiled BPF program); frames it rejects are not analysed at all. */
  filter?: (data: Uint8Array, origLen: number, linkType: number) => boolean;
  /** Called for every TCP segment of a flow after its state update (stream reassembly, lib/tcp). */
  tcpHook?: TcpSegmentHook;
  /** Called at the end of `finish()` (lib/tcp flushes and ends every open stream). */
  tcpFinish?: () => void;
  /**
   * Analyse only the flows whose key hash falls in shard `index` of `count` (frames without a flow
   * go to shard 0). Every shard still decodes every frame, so frame numbers, the clock, the summary
   * and io,stat are those of the whole input; see analyze_shards.ts.
   */
  shard?: { index: number; count: number };
}

/** Receives every TCP segment in arrival order; `p` is only valid during the call. */
export type TcpSegmentHook = (flow: Flow, p: Packet, fromOrig: boolean, t: number) => void;

/**
 * The offline pipeline after the reader: decode each frame into one reused Packet, find its flow,
 * classify and decode the application layer, and update every statistic. `record` is the
 * RecordSink given to the capture reader; it allocates only when a new flow, packet type or
 * address pair appears.
 */
export class Analyzer {
  readonly packet: Packet = new Packet();
  readonly decoder: PacketDecoder = new PacketDecoder();
  readonly registry: DecoderRegistry;
  readonly clock: Clock = new Clock();
  readonly index: FlowIndex = new FlowIndex();
  readonly flows: Flow[] = [];
  readonly store: FlowStore = new FlowStore();
  readonly phs: ProtocolHierarchy = new ProtocolHierarchy();
  readonly ethPairs: PairTable = new PairTable(macLabel);
  readonly outerPairs: PairTable;
  /** The outer UDP pairs of tunnels over UDP (VXLAN, GTP-U): address × 65536 + port. */
  readonly outerUdpPairs: PairTable;
  readonly io: IoStat | null;
  private readonly kb = new KeyBuilder();
  private lastT = 0;
  private readonly filter: AnalyzerOptions["filter"];
  private readonly tcpHook: TcpSegmentHook | null;
  private readonly tcpFinish: (() => void) | null;
  /** The segment waiting for tcpHook: run after classification, before the app decoder. */
  private hookFlow: Flow | null = null;
  private hookFromOrig = false;
  private readonly outerV6 = new Map<string, number>();
  private readonly outerV6Labels: string[] = [];
  private readonly shardIndex: number;
  private readonly shardCount: number;

  // Totals.
  packets = 0;
  bytes = 0;
  filteredOut = 0;
  truncated = 0;
  malformed = 0;
  /** Frames without usable endpoints (no IP and no MAC). */
  unkeyed = 0;
  firstSec = -1;
  firstNsec = 0;
  lastSec = 0;
  lastNsec = 0;
  minSec = 0;
  minNsec = 0;
  maxSec = 0;
  maxNsec = 0;

  constructor(opts: AnalyzerOptions = {}) {
    this.registry = opts.registry ?? defaultRegistry();
    for (const rule of opts.decodeAs ?? []) this.registry.decodeAs(rule);
    this.io = opts.ioInterval && opts.ioInterval > 0 ? new IoStat(opts.ioInterval) : null;
    this.filter = opts.filter;
    this.tcpHook = opts.tcpHook ?? null;
    this.tcpFinish = opts.tcpFinish ?? null;
    this.shardIndex = opts.shard?.index ?? 0;
    this.shardCount = opts.shard?.count ?? 1;
    this.outerPairs = new PairTable((n) =>
      n < 0x100000000 ? formatIpv4(n) : this.outerV6Labels[n - 0x100000000]
    );
    this.outerUdpPairs = new PairTable((n) => {
      const addr = Math.floor(n / 65536), port = n % 65536;
      return addr < 0x100000000
        ? `${formatIpv4(addr)}:${port}`
        : `[${this.outerV6Labels[addr - 0x100000000]}]:${port}`;
    });
  }

  /** The RecordSink: bind once (`a.record.bind(a)` or use `sink`). */
  readonly sink = (rec: CaptureRecord): void => this.record(rec);

  record(rec: CaptureRecord): void {
    if (this.filter !== undefined && !this.filter(rec.data, rec.origLen, rec.linkType)) {
      this.filteredOut++;
      return;
    }
    const p = this.packet;
    this.decoder.decode(rec, p);
    // Frames without a timestamp (pcapng Simple Packet Blocks) take the previous frame's time.
    const t = rec.hasTimestamp ? (this.lastT = this.clock.rel(p.tsSec, p.tsNsec)) : this.lastT;
    this.packets++;
    this.bytes += p.origLen;
    if (rec.hasTimestamp) {
      // first/last in file order (as tshark's frame.time_epoch of the first and last frame);
      // min/max for the duration, since merged captures need not be in time order.
      if (this.firstSec < 0) {
        this.firstSec = this.minSec = this.maxSec = p.tsSec;
        this.firstNsec = this.minNsec = this.maxNsec = p.tsNsec;
      }
      this.lastSec = p.tsSec;
      this.lastNsec = p.tsNsec;
      if (p.tsSec < this.minSec || (p.tsSec === this.minSec && p.tsNsec < this.minNsec)) {
        this.minSec = p.tsSec;
        this.minNsec = p.tsNsec;
      }
      if (p.tsSec > this.maxSec || (p.tsSec === this.maxSec && p.tsNsec > this.maxNsec)) {
        this.maxSec = p.tsSec;
        this.maxNsec = p.tsNsec;
      }
    }
    if (p.truncated) this.truncated++;
    if (p.malformed) this.malformed++;
    // Frames without a timestamp count at the previous frame's time.
    if (this.io !== null) this.io.add(this.lastSec, this.lastNsec, p.origLen);

    const kb = this.kb;
    let flow: Flow | null = null;
    if (kb.build(p)) {
      // The shard comes from the hash's high bits; the flow index uses its low bits.
      if (this.shardCount > 1 && Math.floor(kb.hash * this.shardCount / 4294967296) !== this.shardIndex) {
        return;
      }
      let id = this.index.find(kb);
      if (id < 0) {
        id = this.index.add(kb);
        flow = this.newFlow(id, p);
      } else flow = this.flows[id];
      const fromA = kb.srcIsA;
      const st = this.store.st;
      const base = flow.base;
      const d = base + (fromA ? F_A : F_B);
      st[d + D_PACKETS]++;
      st[d + D_BYTES] += p.origLen;
      st[d + D_PAYLOAD] += p.payloadLen;
      st[d + D_IP] += p.ipTotalLen;
      if (st[d + D_FIRST_SEC] < 0) {
        st[d + D_FIRST_SEC] = p.tsSec;
        st[d + D_FIRST_NSEC] = p.tsNsec;
      }
      st[d + D_LAST_SEC] = p.tsSec;
      st[d + D_LAST_NSEC] = p.tsNsec;
      if (flow.tcp !== null && p.l4Off >= 0) {
        const fromOrig = fromA === flow.origIsA;
        // Without reassembly, the Zeek view also marks where a reused 4-tuple's next connection begins.
        if (flow.tcp.update(fromOrig, p.tcpFlags, p.tcpSeq, p.tcpWindow, p.payloadLen)) {
          this.connectionBreak(flow, fromA, fromOrig, p.origLen, t);
        }
        if (this.tcpHook !== null) {
          this.hookFlow = flow;
          this.hookFromOrig = fromOrig;
        }
      }
      if (p.routed) this.routedFrame(flow, fromA, p, t);
      else if (flow.routed !== null) flow.routed.plain(fromA, t, this.packets);
      timingAdd(st, base + F_TIMING, t, p.origLen);
    } else {
      if (this.shardIndex !== 0) return;
      this.unkeyed++;
    }

    const leaf = this.phs.add(p, 0);
    if (flow !== null && p.payloadLen > 0 && !p.isFragment) this.application(flow, p, t, leaf);
    if (this.hookFlow !== null) this.runTcpHook(p, t);
    if (p.hasMac && p.srcMacOff >= 0 && p.dstMacOff >= 0) this.countEth(p, flow, kb.srcIsA, t);
    if (p.outerSrcMacOff >= 0 && p.outerDstMacOff >= 0) {
      const b = p.data;
      this.ethPairs.add(
        macNumber(b, p.outerSrcMacOff),
        macNumber(b, p.outerDstMacOff),
        p.origLen,
        t,
        this.packets,
      );
    }
    if (p.tunnel !== 0 && p.outerIpVersion !== 0) this.addOuter(p, t);
  }

  /**
   * Ethernet conversations. A flow's frames nearly always carry the same MAC pair per direction,
   * so each flow caches, per direction, the 12 MAC bytes (three int32 words) with their PairStats;
   * only a change of MACs costs a table lookup.
   */
  private countEth(p: Packet, flow: Flow | null, fromA: boolean, t: number): void {
    const b = p.data, s = p.srcMacOff, d = p.dstMacOff;
    const w0 = (b[s] << 24) | (b[s + 1] << 16) | (b[s + 2] << 8) | b[s + 3];
    const w1 = (b[s + 4] << 24) | (b[s + 5] << 16) | (b[d] << 8) | b[d + 1];
    const w2 = (b[d + 2] << 24) | (b[d + 3] << 16) | (b[d + 4] << 8) | b[d + 5];
    const st = this.store.st;
    const o = flow === null ? 0 : flow.base + F_ETH + (fromA ? 0 : 3);
    if (flow !== null) {
      const ps = fromA ? flow.ethPairA : flow.ethPairB;
      if (ps !== null && st[o] === w0 && st[o + 1] === w1 && st[o + 2] === w2) {
        if (fromA ? flow.ethAIsPairA : flow.ethBIsPairA) {
          ps.aToBPackets++;
          ps.aToBBytes += p.origLen;
        } else {
          ps.bToAPackets++;
          ps.bToABytes += p.origLen;
        }
        if (t > ps.last) ps.last = t;
        return;
      }
    }
    const src = macNumber(b, s);
    const ps = this.ethPairs.add(src, macNumber(b, d), p.origLen, t, this.packets);
    if (flow !== null && ps !== null) {
      st[o] = w0;
      st[o + 1] = w1;
      st[o + 2] = w2;
      if (fromA) {
        flow.ethPairA = ps;
        flow.ethAIsPairA = ps.aKey === src;
      } else {
        flow.ethPairB = ps;
        flow.ethBIsPairA = ps.aKey === src;
      }
    }
  }

  /**
   * A frame with an IPv6 routing header: its flow is keyed on the final destination, as its
   * transport conversation is, while its IPv6 conversation is between the header's addresses.
   */
  private routedFrame(flow: Flow, fromA: boolean, p: Packet, t: number): void {
    let r = flow.routed;
    if (r === null) {
      r = flow.routed = new RoutedFrames();
      // Every earlier frame of the flow had no routing header (the timing does not hold this one yet).
      const st = this.store.st, n = st[flow.base + F_A + D_PACKETS] + st[flow.base + F_B + D_PACKETS] - 1;
      if (n > 0) {
        r.plainPackets = n;
        r.plainFirst = st[flow.base + F_TIMING + T_FIRST];
        r.plainLast = st[flow.base + F_TIMING + T_LAST];
        r.plainFirstFromA = flow.firstSrcIsA;
        r.plainFirstFrame = flow.firstFrame;
      }
    }
    if (fromA) {
      r.packetsA++;
      r.bytesA += p.origLen;
    } else {
      r.packetsB++;
      r.bytesB += p.origLen;
    }
    this.outerPairs.add(this.internV6(p.src), this.internV6(p.dst), p.origLen, t, this.packets);
  }

  /** A later connection on this flow's 4-tuple began with this packet (see Flow.connBreaks). */
  private connectionBreak(
    flow: Flow,
    fromA: boolean,
    fromOrig: boolean,
    origLen: number,
    t: number,
  ): void {
    const st = this.store.st, a = flow.base + F_A, b = flow.base + F_B;
    // The flow's timing does not hold this packet yet: its last time closes the previous connection.
    const prevLast = st[flow.base + F_TIMING + T_LAST];
    (flow.connBreaks ??= []).push(
      st[a + D_PACKETS] - (fromA ? 1 : 0),
      st[a + D_BYTES] - (fromA ? origLen : 0),
      st[b + D_PACKETS] - (fromA ? 0 : 1),
      st[b + D_BYTES] - (fromA ? 0 : origLen),
      prevLast,
      t,
      fromOrig ? 0 : 1,
    );
  }

  /** Settles every flow still being classified (end of input) and decodes what it held back. */
  finish(): void {
    for (const f of this.flows) {
      const c = f.classifier;
      if (c === null) continue;
      c.finish();
      this.settle(f, c);
    }
    if (this.tcpFinish !== null) this.tcpFinish();
  }

  /**
   * Stream reassembly sees the segment after the flow's classification (so a stream decoder
   * chosen on this very segment gets its bytes) and before the decoder counts its messages.
   */
  private runTcpHook(p: Packet, t: number): void {
    const f = this.hookFlow!;
    this.hookFlow = null;
    this.tcpHook!(f, p, this.hookFromOrig, t);
  }

  private application(flow: Flow, p: Packet, t: number, leaf: PhsNode): void {
    let dec = flow.decoder;
    if (dec === null) {
      const c = flow.classifier;
      if (c === null) return;
      const kept = c.keptCount;
      c.offer(p);
      if (!c.settled) {
        // Track exactly the frames the classifier kept for its replay.
        if (c.keptCount > kept) (flow.pending ??= new PendingFrames()).keep(t, leaf);
        return;
      }
      dec = this.settle(flow, c);
      if (dec === null) return;
    }
    if (this.hookFlow !== null) this.runTcpHook(p, t);
    this.decodeApp(flow, dec, p, t, leaf);
  }

  private decodeApp(flow: Flow, dec: Decoder, p: Packet, t: number, leaf: PhsNode): void {
    const idx = dec.decode(p, flow.decoderState);
    if (idx < 0) {
      // A stream decoder's segment that completed no message is counted under TCP only.
      if (idx !== NO_PDU) flow.malformed++;
      return;
    }
    timingAdd(this.store.st, flow.base + F_ENCODING, t, p.origLen);
    flow.typeStats(idx).add(t, p.origLen);
    if (dec.nextPdu !== undefined) {
      // Pipelined messages completed by the same segment: one count per message, as tshark.
      for (let k = dec.nextPdu(flow.decoderState); k >= 0; k = dec.nextPdu(flow.decoderState)) {
        flow.typeStats(k).add(t, p.origLen);
      }
    }
    this.phs.addApp(leaf, flow.appLayer, p.origLen);
  }

  /** Records the classifier's verdict on the flow and counts the frames it held back. */
  private settle(flow: Flow, c: FlowClassifier): Decoder | null {
    flow.classifier = null;
    const pending = flow.pending;
    flow.pending = null;
    const r = c.result;
    if (r === null) return null;
    const dec = flow.decoder = r.decoder;
    flow.decoderState = c.primedState ?? dec.createState();
    flow.evidence = r.evidence;
    flow.evidenceDetail = r.detail;
    flow.confidence = r.confidence;
    // The decoder's registry id names its io,phs layer; stable even when plugins come and go.
    const app = flow.appLayer = Layer.APP_BASE + this.registry.idOf(dec);
    this.phs.setAppName(app, dec.phsName);
    const replayed = c.replayed;
    // The classifier kept exactly the frames this flow held back, in the same order.
    const n = pending === null ? 0 : Math.min(pending.times.length, replayed.length);
    for (let i = 0; i < n; i++) {
      const rp = replayed[i];
      if (rp.type === NO_PDU) continue;
      if (rp.type < 0) {
        flow.malformed++;
        continue;
      }
      const t = pending!.times[i];
      timingAdd(this.store.st, flow.base + F_ENCODING, t, rp.origLen);
      flow.typeStats(rp.type).add(t, rp.origLen);
      this.phs.addApp(pending!.phsNodes[i], app, rp.origLen);
    }
    return dec;
  }

  private newFlow(id: number, p: Packet): Flow {
    const f = new Flow(id, this.store, this.store.init(id));
    this.flows.push(f);
    f.firstSec = p.tsSec;
    f.firstNsec = p.tsNsec;
    f.firstFrame = this.packets;
    f.firstSrcIsA = this.kb.srcIsA;
    // The originator is the first sender, except that a SYN-ACK seen first was sent by the responder.
    f.origIsA = this.kb.srcIsA;
    let carrier: Carrier | null = null;
    if (p.ipVersion !== 0 && !p.isFragment) {
      if (p.ipProto === 6) {
        carrier = "tcp";
        // lib/tcp splits connections itself when it runs.
        f.tcp = new TcpConn(this.store.historyBytes(MAX_HISTORY), this.tcpHook === null);
        if ((p.tcpFlags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK)) {
          f.origIsA = !f.origIsA;
        }
      } else if (p.ipProto === 17) carrier = "udp";
    } else if (p.ipVersion === 0) {
      carrier = "ether";
      f.etherType = p.etherType;
    }
    if (carrier !== null) f.classifier = this.registry.classifier(carrier);
    f.trafficType = trafficType(p);
    return f;
  }

  private addOuter(p: Packet, t: number): void {
    let s: number, d: number;
    if (p.outerIpVersion === 4) {
      s = p.outerSrc[0];
      d = p.outerDst[0];
    } else {
      s = this.internV6(p.outerSrc);
      d = this.internV6(p.outerDst);
    }
    this.outerPairs.add(s, d, p.origLen, t, this.packets);
    if (p.outerSrcPort >= 0) {
      this.outerUdpPairs.add(
        s * 65536 + p.outerSrcPort,
        d * 65536 + p.outerDstPort,
        p.origLen,
        t,
        this.packets,
      );
    }
  }

  private internV6(w: Uint32Array): number {
    const label = formatIpv6(w);
    let n = this.outerV6.get(label);
    if (n === undefined) {
      n = 0x100000000 + this.outerV6Labels.length;
      this.outerV6Labels.push(label);
      this.outerV6.set(label, n);
    }
    return n;
  }
}

function trafficType(p: Packet): number {
  if (p.ipVersion === 4) {
    const d = p.dst[0];
    if (d === 0xffffffff) return TrafficType.BROADCAST;
    if ((d >>> 28) === 0xe) return TrafficType.MULTICAST;
  } else if (p.ipVersion === 6) {
    if ((p.dst[0] >>> 24) === 0xff) return TrafficType.MULTICAST;
    return TrafficType.UNICAST;
  }
  if (p.dstMacOff >= 0 && p.dstMacOff + 6 <= p.data.length) {
    const b = p.data, o = p.dstMacOff;
    if ((b[o] & b[o + 1] & b[o + 2] & b[o + 3] & b[o + 4] & b[o + 5]) === 0xff) return TrafficType.BROADCAST;
    if ((b[o] & 1) === 1) return TrafficType.MULTICAST;
  }
  return TrafficType.UNICAST;
}
