import type { Packet } from "../lib/packet/packet.ts";

/** How a decoder was chosen for a flow (nDPI's distinction between guessing and knowing). */
export type Evidence =
  | "decode-as" // the user said so (--decode-as)
  | "structure" // the payload parsed as this protocol's structure (lengths, versions, magic agree)
  | "payload" // a signature or stateful check over several packets (e.g. RTP sequence continuity)
  | "port" // only the port matched a registered/well-known port
  | "ethertype"; // the EtherType itself names the protocol

export interface Probe {
  /** 0..1. >= 0.9 settles the flow immediately; lower values are accumulated over a few packets. */
  confidence: number;
  evidence: Evidence;
  /** A short reason a human can read, e.g. "version 2, messageLength 44 = payload, port 319". */
  detail: string;
}

/** Where a decoder may apply. */
export type Carrier = "udp" | "tcp" | "ether";

/**
 * An application decoder. The registry ranks decoders per flow with `probe` until the flow's
 * classification settles, then calls only the chosen decoder's `decode` for the flow's packets.
 *
 * `decode` reads the payload at `p.data[p.payloadOff .. p.payloadOff + p.payloadLen)` and returns
 * the index of the packet type in `packetTypes` (or -1 when this packet does not parse as the
 * protocol: it is then counted as "malformed" under the encoding). It must not allocate on the
 * common path: per-flow state lives in the object `createState` made once per flow.
 */
export interface Decoder<S = unknown> {
  /** Display name, e.g. "PTP". */
  readonly name: string;
  /** Protocol short name as tshark's io,phs uses it ("ptp", "dns", "rtp", "rtcp"). */
  readonly phsName: string;
  /** Longer label for the hierarchy, e.g. "PTP (v2)". */
  readonly label: string;
  readonly carriers: readonly Carrier[];
  /** Port hints (either side). Used for ranking and as the weakest evidence. */
  readonly ports: readonly number[];
  /** EtherType hints, for carrier "ether". */
  readonly etherTypes: readonly number[];
  /** Packet type names; decode returns an index into this list. Registries may extend it at run time. */
  readonly packetTypes: string[];
  /**
   * Judge one packet. `probeState`, when the decoder defines `createProbeState`, is that per-flow
   * memory (made once per flow by the classifier) for heuristics that need several packets, such as
   * RTP sequence continuity; stateless probes ignore it.
   */
  probe(p: Packet, probeState?: unknown): Probe | null;
  /** Optional per-flow memory for `probe` (kept only while the flow is being classified). */
  createProbeState?(): unknown;
  createState(): S;
  decode(p: Packet, state: S): number;
  /** Per-flow session facts for the report (e.g. RTP stream stats), JSON-safe; undefined if none. */
  summarize?(state: S): Record<string, unknown> | undefined;
  /** Stream protocols: fed with reassembled bytes by lib/tcp; `decode` then reports completed messages. */
  stream?: StreamInput<S>;
  /**
   * Stream protocols: after `decode` returned a type, further messages the same segment completed
   * (pipelining); -1 when none is left.
   */
  nextPdu?(state: S): number;
}

/**
 * Reassembled-stream input for decoders of stream protocols (HTTP over TCP). lib/tcp calls these
 * for the flow's chosen decoder with in-order bytes per direction (`fromOrig`: from the
 * connection's originator); views are only valid during the call.
 */
export interface StreamInput<S = unknown> {
  data(state: S, fromOrig: boolean, b: Uint8Array, off: number, len: number, t: number): void;
  /** `len` bytes of this direction were never captured. */
  gap(state: S, fromOrig: boolean, len: number, t: number): void;
  /**
   * The connection ended (close, reset, idle timeout or end of input). `next` is the ordinal of the
   * flow's next connection (a reused 4-tuple); a connection revived by late segments ends again
   * with the same `next`.
   */
  end(state: S, t: number, next: number): void;
}

/** `decode` result of a stream decoder for a segment that completed no message (tshark counts none). */
export const NO_PDU = -2;
