import type { Decoder } from "../../decoders/decoder.ts";
import type { FlowClassifier } from "../../decoders/registry.ts";
import { TimingStats } from "./timing.ts";
import {
  D_BYTES,
  D_PACKETS,
  DirStats,
  F_A,
  F_B,
  F_ENCODING,
  F_TIMING,
  type FlowStore,
} from "./flow_store.ts";
import type { TcpConn } from "./tcp_conn.ts";
import type { PendingFrames } from "./pending.ts";
import type { PairStats } from "./pair_table.ts";

/** Unicast, multicast or broadcast, judged from the destination of the flow's first packet. */
export const TrafficType = { UNICAST: 0, MULTICAST: 1, BROADCAST: 2 } as const;

/**
 * One bidirectional flow: the top of the hierarchy flow → transport → encoding → packet type.
 * Allocated once per new flow (never per packet); the per-packet path only updates numbers.
 */
/** Numbers per entry of Flow.connBreaks. */
export const BREAK_WORDS = 7;

/**
 * An IPv6 flow some of whose frames carry a routing header with segments left: the flow is keyed
 * on their final destination, but their IPv6 conversation is between the header's addresses
 * (counted per frame in the analyzer's outer pairs). This keeps what the flow's own IPv6 row must
 * leave out of them, and the first and last of the other frames. Made at the first such frame.
 */
export class RoutedFrames {
  packetsA = 0;
  bytesA = 0;
  packetsB = 0;
  bytesB = 0;
  /** The frames without a routing header: how many, their first and last time, who sent the first. */
  plainPackets = 0;
  plainFirst = 0;
  plainLast = 0;
  plainFirstFromA = true;
  plainFirstFrame = 0;

  /** One frame of the flow without a routing header. */
  plain(fromA: boolean, t: number, frame: number): void {
    if (this.plainPackets++ === 0) {
      this.plainFirst = this.plainLast = t;
      this.plainFirstFromA = fromA;
      this.plainFirstFrame = frame;
    } else if (t > this.plainLast) this.plainLast = t;
  }
}

export class Flow {
  readonly id: number;
  /** Whether endpoint A of the key is the originator (the first sender; SYN wins for TCP). */
  origIsA = true;
  trafficType = 0;
  /** Absolute time of the first packet (the last is the later of the two directions' last). */
  firstSec = 0;
  firstNsec = 0;
  /** Index (0-based frame number) of the first packet, for --follow and stable ordering. */
  firstFrame = 0;
  /** Whether the first packet was sent by endpoint A (tshark lists that side first). */
  firstSrcIsA = true;
  /** The store holding this flow's counters, and the flow's base offset in it. */
  readonly store: FlowStore;
  readonly base: number;
  tcp: TcpConn | null = null;
  /** Stream reassembly state of a TCP flow, owned by lib/tcp (null until it attaches one). */
  tcpStreams: unknown = null;
  /**
   * Per later connection, BREAK_WORDS numbers taken as its first segment arrived: A's and B's
   * packets and bytes before it, the flow's last time before it, its time, and its direction
   * (0 = originator). Null while the flow holds one connection.
   */
  connBreaks: number[] | null = null;
  /** Null until a frame with an IPv6 routing header (segments left) arrives; see RoutedFrames. */
  routed: RoutedFrames | null = null;

  // --- encoding level ---
  /** The classifier is dropped once settled; unknown after it gives up. */
  classifier: FlowClassifier | null = null;
  /** Frames held back while the classifier is undecided (copied, bounded per flow). */
  pending: PendingFrames | null = null;
  decoder: Decoder | null = null;
  decoderState: unknown = null;
  /** How the decoder was chosen (Evidence) and why. */
  evidence = "";
  evidenceDetail = "";
  confidence = 0;
  /** Per packet type stats (index = decoder's type index); the encoding level is in the store. */
  packetTypes: (TimingStats | undefined)[] = [];
  /** io,phs layer id of the chosen decoder. */
  appLayer = 0;
  /** Packets the chosen decoder could not parse. */
  malformed = 0;
  /** Per direction, the PairStats of the MAC pair cached in the store (see Analyzer.countEth). */
  ethPairA: PairStats | null = null;
  ethPairB: PairStats | null = null;
  ethAIsPairA = false;
  ethBIsPairA = false;
  /** Non-IP flows: the EtherType. IP flows: the transport name is derived from the key. */
  etherType = 0;

  constructor(id: number, store: FlowStore, base: number) {
    this.id = id;
    this.store = store;
    this.base = base;
  }

  // Views for reports (allocate; never used per packet).
  get a(): DirStats {
    return new DirStats(this.store.st, this.base + F_A);
  }
  get b(): DirStats {
    return new DirStats(this.store.st, this.base + F_B);
  }
  /** Flow level (= transport level: a flow is one 5-tuple) timing. */
  get timing(): TimingStats {
    return new TimingStats(this.store.st, this.base + F_TIMING);
  }
  /** Stats of the packets the decoder handled; null until a decoder is chosen. */
  get encoding(): TimingStats | null {
    return this.decoder === null ? null : new TimingStats(this.store.st, this.base + F_ENCODING);
  }
  get packets(): number {
    const st = this.store.st;
    return st[this.base + F_A + D_PACKETS] + st[this.base + F_B + D_PACKETS];
  }
  get bytes(): number {
    const st = this.store.st;
    return st[this.base + F_A + D_BYTES] + st[this.base + F_B + D_BYTES];
  }
  /** Absolute time of the last packet, as [sec, nsec]. */
  get last(): [number, number] {
    const a = this.a, b = this.b;
    if (
      b.packets === 0 ||
      (a.packets > 0 && (a.lastSec > b.lastSec || (a.lastSec === b.lastSec && a.lastNsec > b.lastNsec)))
    ) {
      return [a.lastSec, a.lastNsec];
    }
    return [b.lastSec, b.lastNsec];
  }
  /** The stats node for packet type `i`, created on first use. */
  typeStats(i: number): TimingStats {
    let s = this.packetTypes[i];
    if (s === undefined) {
      s = this.store.typeTiming();
      while (this.packetTypes.length < i) this.packetTypes.push(undefined);
      this.packetTypes[i] = s;
    }
    return s;
  }
}
