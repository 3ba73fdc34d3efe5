import type { Packet } from "../lib/packet/packet.ts";
import { MppError } from "../lib/errors.ts";
import type { Carrier, Decoder } from "./decoder.ts";
import {
  beats,
  type ClassifyResult,
  DEFAULT_MAX_PACKETS,
  FlowClassifier,
  hintOf,
  probeWithHints,
} from "./classify.ts";
import { dnsDecoder, llmnrDecoder, mdnsDecoder, nbnsDecoder } from "./dns.ts";
import { ptpDecoder } from "./ptp.ts";
import { rtpDecoder } from "./rtp.ts";
import { rtcpDecoder } from "./rtcp.ts";
import { httpDecoder } from "./http.ts";

export {
  ACCEPT_SCORE,
  type ClassifyResult,
  DEFAULT_MAX_PACKETS,
  ETHERTYPE_CONFIDENCE,
  FlowClassifier,
  KEEP_BYTES,
  PORT_CONFIDENCE,
  type ReplayedPacket,
  SETTLE_CONFIDENCE,
} from "./classify.ts";

/** A parsed `--decode-as` rule: `udp.port=5000:rtp`, `tcp.port=8080:http`, `ether.type=0x88b5:iena`. */
export interface DecodeAsRule {
  carrier: Carrier;
  /** Port (udp/tcp) or EtherType (ether). */
  value: number;
  decoder: Decoder;
  text: string;
}

const RULE = /^(udp\.port|tcp\.port|ether\.type)=(0x[0-9a-f]+|\d+):([a-z0-9_.+-]+)$/i;

/**
 * All application decoders, with a stable numeric id per decoder (ids are never reused, so the flow
 * table's typed arrays stay valid when a plugin unregisters one). Per carrier it keeps a cached
 * candidate list so classifying allocates nothing once the lists are built.
 */
export class DecoderRegistry {
  private readonly decoders: Decoder[] = [];
  private readonly ids = new Map<Decoder, number>();
  private readonly byId: (Decoder | undefined)[] = [];
  private readonly rules: DecodeAsRule[] = [];
  private readonly perCarrier = new Map<Carrier, Decoder[]>();
  private nextId = 0;

  register(d: Decoder): void {
    if (this.byName(d.name) !== undefined) {
      throw new MppError(
        "bad_usage",
        `decoder "${d.name}" is already registered`,
        "unregister the existing decoder first, or give the plugin's decoder another name",
      );
    }
    this.decoders.push(d);
    this.ids.set(d, this.nextId);
    this.byId[this.nextId++] = d;
    this.perCarrier.clear();
  }

  unregister(name: string): boolean {
    const d = this.byName(name);
    if (d === undefined) return false;
    this.decoders.splice(this.decoders.indexOf(d), 1);
    this.byId[this.ids.get(d)!] = undefined;
    this.ids.delete(d);
    for (let i = this.rules.length - 1; i >= 0; i--) if (this.rules[i].decoder === d) this.rules.splice(i, 1);
    this.perCarrier.clear();
    return true;
  }

  list(): Decoder[] {
    return this.decoders.slice();
  }

  /** By display name or io,phs name, case-insensitive. */
  byName(name: string): Decoder | undefined {
    const n = name.toLowerCase();
    for (const d of this.decoders) if (d.name.toLowerCase() === n || d.phsName.toLowerCase() === n) return d;
    return undefined;
  }

  /** The decoder's stable id (0, 1, 2 ... in registration order); -1 when not registered. */
  idOf(d: Decoder): number {
    return this.ids.get(d) ?? -1;
  }

  decoderById(id: number): Decoder | undefined {
    return this.byId[id];
  }

  /** Decoders that may apply on `carrier`, those hinted by the packet's port or EtherType first. */
  candidates(carrier: Carrier, p: Packet): Decoder[] {
    const all = this.forCarrier(carrier);
    const hinted: Decoder[] = [];
    const rest: Decoder[] = [];
    for (const d of all) (hintOf(d, carrier, p) ? hinted : rest).push(d);
    return hinted.concat(rest);
  }

  /** Cached, registration-ordered list for a carrier (do not modify). */
  forCarrier(carrier: Carrier): Decoder[] {
    let l = this.perCarrier.get(carrier);
    if (l === undefined) {
      l = this.decoders.filter((d) => d.carriers.includes(carrier));
      this.perCarrier.set(carrier, l);
    }
    return l;
  }

  /**
   * Add a decode-as rule; it wins over every heuristic for flows it matches. Throws a bad_usage
   * MppError naming the rule when it is malformed or names an unknown decoder.
   */
  decodeAs(rule: string): DecodeAsRule {
    const m = RULE.exec(rule.trim());
    if (m === null) {
      throw new MppError(
        "bad_usage",
        `bad decode-as rule "${rule}"`,
        'write it as udp.port=N:decoder, tcp.port=N:decoder or ether.type=0xNNNN:decoder, e.g. "udp.port=5000:rtp"',
      );
    }
    const carrier: Carrier = m[1].toLowerCase() === "udp.port"
      ? "udp"
      : m[1].toLowerCase() === "tcp.port"
      ? "tcp"
      : "ether";
    const value = m[2].toLowerCase().startsWith("0x") ? parseInt(m[2].slice(2), 16) : parseInt(m[2], 10);
    const max = carrier === "ether" ? 0xffff : 65535;
    if (!(value >= 0 && value <= max)) {
      throw new MppError("bad_usage", `decode-as rule "${rule}": ${m[2]} is out of range`, `use 0..${max}`);
    }
    const d = this.byName(m[3]);
    const names = this.decoders.map((x) => x.phsName).join(", ");
    if (d === undefined) {
      throw new MppError(
        "bad_usage",
        `decode-as rule "${rule}": no decoder named "${m[3]}"`,
        `known: ${names}`,
      );
    }
    if (!d.carriers.includes(carrier)) {
      throw new MppError(
        "bad_usage",
        `decode-as rule "${rule}": ${d.name} does not run over ${carrier}`,
        `${d.name} runs over ${d.carriers.join(", ")}`,
      );
    }
    const r: DecodeAsRule = { carrier, value, decoder: d, text: rule.trim() };
    this.rules.push(r);
    return r;
  }

  decodeAsRules(): readonly DecodeAsRule[] {
    return this.rules;
  }

  /** The decode-as rule matching this packet, or null. */
  ruleFor(carrier: Carrier, p: Packet): DecodeAsRule | null {
    for (const r of this.rules) {
      if (r.carrier !== carrier) continue;
      if (carrier === "ether" ? p.etherType === r.value : p.srcPort === r.value || p.dstPort === r.value) {
        return r;
      }
    }
    return null;
  }

  /**
   * Classify from one packet alone: a decode-as rule, else the best probe (structure and payload
   * evidence rank above EtherType and port). Null when nothing matched at all.
   */
  classify(p: Packet, carrier: Carrier): ClassifyResult | null {
    const r = this.ruleFor(carrier, p);
    if (r !== null) {
      return { decoder: r.decoder, confidence: 1, evidence: "decode-as", detail: `rule ${r.text}` };
    }
    let best: ClassifyResult | null = null;
    for (const d of this.forCarrier(carrier)) {
      const pr = probeWithHints(d, carrier, p, d.createProbeState?.());
      if (pr === null) continue;
      if (best === null || beats(pr, best)) {
        best = { decoder: d, confidence: pr.confidence, evidence: pr.evidence, detail: pr.detail };
      }
    }
    return best;
  }

  /** A new per-flow classifier (the flow table makes one for each new flow). */
  classifier(carrier: Carrier, maxPackets = DEFAULT_MAX_PACKETS, replay = true): FlowClassifier {
    return new FlowClassifier(this, carrier, maxPackets, replay);
  }
}

/** A registry with all built-in decoders. */
export function defaultRegistry(): DecoderRegistry {
  const r = new DecoderRegistry();
  r.register(dnsDecoder());
  r.register(mdnsDecoder());
  r.register(llmnrDecoder());
  r.register(nbnsDecoder());
  r.register(ptpDecoder());
  r.register(rtcpDecoder());
  r.register(rtpDecoder());
  r.register(httpDecoder());
  return r;
}
