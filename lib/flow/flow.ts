import type { Decoder } from "../../decoders/decoder.ts";
import type { FlowClassifier } from "../../decoders/registry.ts";
import { TimingStats } from "./timing.ts";
import type { TcpConn } from "./tcp_conn.ts";
import type { PendingFrames } from "./pending.ts";
import type { PairStats } from "./pair_table.ts";

/** Unicast, multicast or broadcast, judged from the destination of the flow's first packet. */
export const TrafficType = { UNICAST: 0, MULTICAST: 1, BROADCAST: 2 } as const;
export const TRAFFIC_NAMES = ["Uni", "Multi", "Broad"] as const;

/** Per-direction counters (A→B or B→A in key order; the flow knows which one is the originator). */
export class DirStats {
  packets = 0;
  /** Frame bytes on the wire (origLen), as tshark's conversation tables count them. */
  bytes = 0;
  /** Transport payload bytes (Zeek's orig_bytes/resp_bytes before sequence-number refinement). */
  payloadBytes = 0;
  /** IP total length sum (Zeek's orig_ip_bytes). */
  ipBytes = 0;
  firstSec = -1;
  firstNsec = 0;
  lastSec = 0;
  lastNsec = 0;
}

/**
 * One bidirectional flow: the top of the hierarchy flow → transport → encoding → packet type.
 * Allocated once per new flow (never per packet); the per-packet path only updates numbers.
 */
export class Flow {
  readonly id: number;
  /** Whether endpoint A of the key is the originator (the first sender; SYN wins for TCP). */
  origIsA = true;
  trafficType = 0;
  /** Absolute time of the first and last packet. */
  firstSec = 0;
  firstNsec = 0;
  lastSec = 0;
  lastNsec = 0;
  /** Index (0-based frame number) of the first packet, for --follow and stable ordering. */
  firstFrame = 0;
  /** Whether the first packet was sent by endpoint A (tshark lists that side first). */
  firstSrcIsA = true;
  readonly a: DirStats = new DirStats();
  readonly b: DirStats = new DirStats();
  /** Flow level (= transport level: a flow is one 5-tuple) timing. */
  readonly timing: TimingStats = new TimingStats();
  tcp: TcpConn | null = null;
  /** Stream reassembly state of a TCP flow, owned by lib/tcp (null until it attaches one). */
  tcpStreams: unknown = null;

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
  /** Stats of the packets the decoder handled, and per packet type (index = decoder's type index). */
  encoding: TimingStats | null = null;
  packetTypes: (TimingStats | undefined)[] = [];
  /** Packets the chosen decoder could not parse. */
  malformed = 0;
  /** Per direction, the MAC pair this flow's frames carried last (see Analyzer.countEth). */
  ethCache: Int32Array | null = null;
  ethPairA: PairStats | null = null;
  ethPairB: PairStats | null = null;
  ethAIsPairA = false;
  ethBIsPairA = false;
  /** Non-IP flows: the EtherType. IP flows: the transport name is derived from the key. */
  etherType = 0;

  constructor(id: number) {
    this.id = id;
  }

  get packets(): number {
    return this.a.packets + this.b.packets;
  }
  get bytes(): number {
    return this.a.bytes + this.b.bytes;
  }
  get orig(): DirStats {
    return this.origIsA ? this.a : this.b;
  }
  get resp(): DirStats {
    return this.origIsA ? this.b : this.a;
  }

  /** The stats node for packet type `i`, created on first use. */
  typeStats(i: number): TimingStats {
    let s = this.packetTypes[i];
    if (s === undefined) {
      s = new TimingStats();
      while (this.packetTypes.length < i) this.packetTypes.push(undefined);
      this.packetTypes[i] = s;
    }
    return s;
  }
}
