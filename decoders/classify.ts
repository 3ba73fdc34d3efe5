/**
 * Per-flow classification: accumulates decoder probes over a flow's first packets until one
 * decoder settles it (see FlowClassifier), and replays the packets probed before that.
 */
import { Packet } from "../lib/packet/packet.ts";
import type { Carrier, Decoder, Evidence, Probe } from "./decoder.ts";
import type { DecoderRegistry } from "./registry.ts";

/** The outcome of classifying a flow (or one packet). */
export interface ClassifyResult {
  decoder: Decoder;
  confidence: number;
  evidence: Evidence;
  detail: string;
}

/** Confidence at which one probe settles a flow at once. */
export const SETTLE_CONFIDENCE = 0.9;
/** Mean confidence over the probed packets a decoder needs to win when no probe settled. */
export const ACCEPT_SCORE = 0.5;
/** Confidence of a match by port alone: never enough to settle, never above a structural match. */
export const PORT_CONFIDENCE = 0.3;
/** Confidence when only the EtherType names the protocol (an IEEE assignment, unlike a port). */
export const ETHERTYPE_CONFIDENCE = 0.9;
export const DEFAULT_MAX_PACKETS = 8;
/** Payload bytes kept per probed packet for the replay after settling. */
export const KEEP_BYTES = 2048;
/** Payload bytes kept per flow in all. */
export const KEEP_BYTES_PER_FLOW = 2048;

/** A packet probed before the flow settled, decoded afterwards by the chosen decoder. */
export interface ReplayedPacket {
  /** Packet type index returned by the decoder (-1: malformed). */
  type: number;
  tsSec: number;
  tsNsec: number;
  origLen: number;
  payloadLen: number;
}

/** What the classifier keeps of a probed packet: enough for an application decoder. */
interface KeptPacket {
  payload: Uint8Array;
  wireLen: number;
  srcPort: number;
  dstPort: number;
  /** The addresses (a routed packet's final destination): a decoder may name a stream's direction. */
  src: Uint32Array;
  dst: Uint32Array;
  ipProto: number;
  ipVersion: number;
  etherType: number;
  tsSec: number;
  tsNsec: number;
  origLen: number;
}

function rankOf(e: Evidence): number {
  return e === "port" ? 0 : 1;
}

export function beats(a: Probe, b: Probe): boolean {
  const ra = rankOf(a.evidence), rb = rankOf(b.evidence);
  return ra !== rb ? ra > rb : a.confidence > b.confidence;
}

export function hintOf(d: Decoder, carrier: Carrier, p: Packet): boolean {
  if (carrier === "ether") return d.etherTypes.includes(p.etherType);
  return d.ports.includes(p.srcPort) || d.ports.includes(p.dstPort);
}

/** The decoder's own probe, or the registry's weak EtherType/port fallback when it declined. */
export function probeWithHints(d: Decoder, carrier: Carrier, p: Packet, state: unknown): Probe | null {
  const pr = d.probe(p, state);
  if (pr !== null) return pr;
  if (carrier === "ether") {
    if (d.etherTypes.includes(p.etherType)) {
      return {
        confidence: ETHERTYPE_CONFIDENCE,
        evidence: "ethertype",
        detail: `ethertype 0x${hex4(p.etherType)}`,
      };
    }
    return null;
  }
  if (d.ports.includes(p.dstPort)) {
    return { confidence: PORT_CONFIDENCE, evidence: "port", detail: `port ${p.dstPort}` };
  }
  if (d.ports.includes(p.srcPort)) {
    return { confidence: PORT_CONFIDENCE, evidence: "port", detail: `port ${p.srcPort}` };
  }
  return null;
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, "0");
}

/**
 * Classification of one flow over its first packets. `offer` each packet with payload until
 * `settled`; then `result` holds the decoder (or null: unknown). It settles on the first probe with
 * confidence >= 0.9 (or a decode-as rule), else after `maxPackets` probed packets on the best mean
 * confidence if that is >= 0.5, else gives up. Port-only evidence never wins over structure or
 * payload evidence. Call `finish()` when the flow ends before settling (end of input).
 */
export class FlowClassifier {
  readonly carrier: Carrier;
  readonly maxPackets: number;
  settled = false;
  result: ClassifyResult | null = null;
  /** Packets offered (probed) so far. */
  probed = 0;
  /**
   * After settling on a decoder: its state, already fed with the packets probed before the one that
   * settled the flow (those the flow table could not decode yet), and what each of them decoded
   * to. Use `primedState` instead of `decoder.createState()` so stream statistics (RTP sequence,
   * DNS response times) include the first packets; count `replayed` under their packet types.
   * With `replay` off (on by default) nothing is kept: `primedState` is a fresh state and
   * `replayed` stays empty.
   */
  primedState: unknown = undefined;
  replayed: ReplayedPacket[] = [];
  private kept: KeptPacket[] | null;
  private keptBytes = 0;
  private readonly registry: DecoderRegistry;
  private readonly decoders: Decoder[];
  private readonly states: unknown[];
  /** Sum of confidences per candidate, and whether it ever had non-port evidence. */
  private readonly sums: number[];
  private readonly strong: number[];
  private readonly best: (Probe | null)[];

  constructor(registry: DecoderRegistry, carrier: Carrier, maxPackets = DEFAULT_MAX_PACKETS, replay = true) {
    this.registry = registry;
    this.kept = replay ? [] : null;
    this.carrier = carrier;
    this.maxPackets = Math.max(1, maxPackets | 0);
    this.decoders = registry.forCarrier(carrier);
    const n = this.decoders.length;
    this.states = new Array(n);
    for (let i = 0; i < n; i++) this.states[i] = this.decoders[i].createProbeState?.();
    // Plain arrays: a flow's classifier is short-lived and small; typed arrays cost more to create.
    this.sums = new Array(n).fill(0);
    this.strong = new Array(n).fill(0);
    this.best = new Array(n).fill(null);
    if (n === 0 && registry.decodeAsRules().length === 0) this.giveUp();
  }

  get decoder(): Decoder | null {
    return this.result?.decoder ?? null;
  }
  get confidence(): number {
    return this.result?.confidence ?? 0;
  }
  get evidence(): Evidence | null {
    return this.result?.evidence ?? null;
  }
  get detail(): string {
    return this.result?.detail ?? (this.settled ? `no decoder matched ${this.probed} packets` : "");
  }

  /** Probe one packet of the flow; a no-op once settled. */
  offer(p: Packet): void {
    if (this.settled) return;
    const rule = this.registry.ruleFor(this.carrier, p);
    if (rule !== null) {
      this.settle(rule.decoder, 1, "decode-as", `rule ${rule.text}`);
      return;
    }
    this.probed++;
    const ds = this.decoders;
    let top = -1;
    let topProbe: Probe | null = null;
    for (let i = 0; i < ds.length; i++) {
      const pr = probeWithHints(ds[i], this.carrier, p, this.states[i]);
      if (pr === null) continue;
      this.sums[i] += pr.confidence;
      if (pr.evidence !== "port") this.strong[i] = 1;
      const b = this.best[i];
      if (b === null || beats(pr, b)) this.best[i] = pr;
      if (
        pr.evidence !== "port" && pr.confidence >= SETTLE_CONFIDENCE &&
        (topProbe === null || beats(pr, topProbe))
      ) {
        top = i;
        topProbe = pr;
      }
    }
    if (topProbe !== null) {
      this.settle(ds[top], topProbe.confidence, topProbe.evidence, topProbe.detail);
      return;
    }
    if (this.probed >= this.maxPackets) this.finish();
    else this.keep(p);
  }

  /** Packets kept so far for the replay (the flow table aligns its own bookkeeping on it). */
  get keptCount(): number {
    return this.kept === null ? 0 : this.kept.length;
  }

  private keep(p: Packet): void {
    if (this.kept === null || p.payloadOff < 0) return;
    const n = Math.min(p.payloadLen, KEEP_BYTES);
    // Bounded per flow: thousands of new TCP flows that never classify must not each copy
    // maxPackets full segments (that was 180 MB of copies per million packets).
    if (this.keptBytes + n > KEEP_BYTES_PER_FLOW) return;
    this.keptBytes += n;
    this.kept.push({
      payload: p.data.slice(p.payloadOff, p.payloadOff + n),
      wireLen: Math.max(p.payloadWireLen, p.payloadLen),
      srcPort: p.srcPort,
      dstPort: p.dstPort,
      src: p.src.slice(),
      dst: p.transportDst.slice(),
      ipProto: p.ipProto,
      ipVersion: p.ipVersion,
      etherType: p.etherType,
      tsSec: p.tsSec,
      tsNsec: p.tsNsec,
      origLen: p.origLen,
    });
  }

  /** Feed the kept packets to the chosen decoder's fresh state. */
  private replay(d: Decoder): void {
    const state = d.createState();
    this.primedState = state;
    if (this.kept === null || this.kept.length === 0) return;
    const q = scratch;
    for (const k of this.kept) {
      q.data = k.payload;
      q.payloadOff = 0;
      q.payloadLen = k.payload.length;
      q.payloadWireLen = k.wireLen;
      q.caplen = k.payload.length;
      q.origLen = k.origLen;
      q.srcPort = k.srcPort;
      q.dstPort = k.dstPort;
      q.src.set(k.src);
      q.dst.set(k.dst);
      q.routed = false;
      q.ipProto = k.ipProto;
      q.ipVersion = k.ipVersion;
      q.etherType = k.etherType;
      q.tsSec = k.tsSec;
      q.tsNsec = k.tsNsec;
      const type = d.decode(q, state);
      this.replayed.push({
        type,
        tsSec: k.tsSec,
        tsNsec: k.tsNsec,
        origLen: k.origLen,
        payloadLen: k.wireLen,
      });
    }
    this.primedState = state;
  }

  /** Settle now on what was seen (best mean >= 0.5, non-port evidence first), else unknown. */
  finish(): void {
    if (this.settled) return;
    let top = -1;
    let topScore = 0;
    const n = this.probed > 0 ? this.probed : 1;
    for (let i = 0; i < this.decoders.length; i++) {
      if (this.strong[i] === 0) continue;
      const s = this.sums[i] / n;
      if (s > topScore) {
        top = i;
        topScore = s;
      }
    }
    if (top >= 0 && topScore >= ACCEPT_SCORE) {
      const b = this.best[top]!;
      const detail = `${b.detail}; mean ${topScore.toFixed(2)} over ${this.probed} packets`;
      this.settle(this.decoders[top], topScore, b.evidence, detail);
    } else this.giveUp();
  }

  private settle(d: Decoder, confidence: number, evidence: Evidence, detail: string): void {
    this.result = { decoder: d, confidence, evidence, detail };
    this.settled = true;
    this.replay(d);
    this.release();
  }

  private giveUp(): void {
    this.result = null;
    this.settled = true;
    this.release();
  }

  private release(): void {
    if (this.kept !== null) this.kept = [];
    for (let i = 0; i < this.states.length; i++) this.states[i] = undefined;
  }
}

/** One Packet for all replays (decoders copy what they keep, so sharing it is safe). */
const scratch = new Packet();
