import type { Packet } from "../lib/packet/packet.ts";
import type { Carrier, Decoder, Probe } from "./decoder.ts";
import { HEADER_LEN, nameToString, u16, Walk, walk, walkMessage, walkName } from "./dns_wire.ts";

/**
 * DNS (RFC 1035) over UDP and over TCP (2-byte length prefix, RFC 1035 §4.2.2), and the two
 * DNS-shaped protocols tshark names separately: mDNS (RFC 6762, port 5353) and LLMNR (RFC 4795,
 * port 5355). One class, three registered decoders, so io,phs names match tshark ("dns", "mdns",
 * "llmnr"). A TCP segment that does not start with a whole message counts as "Continuation" until
 * stream reassembly feeds whole messages.
 */

export const DNS_TYPES = [
  "Query",
  "Response",
  "Response (NXDOMAIN)",
  "Response (SERVFAIL)",
  "Response (REFUSED)",
  "Response (error)",
  "Notify",
  "Update",
  "Continuation",
] as const;
const T_QUERY = 0, T_RESPONSE = 1, T_NXDOMAIN = 2, T_SERVFAIL = 3, T_REFUSED = 4, T_ERROR = 5;
const T_NOTIFY = 6, T_UPDATE = 7, T_CONT = 8;

const RCODE_NAMES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"];
/** Pending queries per flow awaiting a response (older ones are evicted and count as unanswered). */
export const MAX_PENDING = 64;
/** Distinct query names counted per flow; later names only add to `otherNames`. */
export const MAX_NAMES = 32;

interface NameCount {
  name: string;
  count: number;
}

export class DnsState {
  queries = 0;
  responses = 0;
  readonly rcodes: Uint32Array = new Uint32Array(16);
  readonly opcodes: Uint32Array = new Uint32Array(16);
  /** Responses with the TC (truncated) bit. */
  truncatedFlag = 0;
  continuation = 0;
  malformed = 0;
  /** Messages cut by the capture's snaplen. */
  short = 0;
  /** Responses whose id matched no pending query. */
  unmatchedResponses = 0;
  evicted = 0;
  readonly pendingId: Int32Array = new Int32Array(MAX_PENDING).fill(-1);
  readonly pendingAt: Float64Array = new Float64Array(MAX_PENDING);
  pendingNext = 0;
  rttCount = 0;
  rttMinMs = Infinity;
  rttMaxMs = 0;
  rttSumMs = 0;
  readonly names: Map<number, NameCount> = new Map();
  otherNames = 0;
}

export interface DnsVariant {
  name: string;
  phsName: string;
  label: string;
  ports: number[];
  carriers: Carrier[];
  /** Match responses to queries by id (not for mDNS, whose ids are 0). */
  matchIds: boolean;
  /** NetBIOS Name Service (RFC 1002): DNS-shaped, its own opcodes (5-8 registration, release, WACK, refresh). */
  nbns?: boolean;
}

/** Ports that belong to another DNS-shaped variant: the plain DNS decoder leaves them alone. */
const VARIANT_PORTS = [5353, 5355, 137];

export class DnsDecoder implements Decoder<DnsState> {
  readonly name: string;
  readonly phsName: string;
  readonly label: string;
  readonly carriers: readonly Carrier[];
  readonly ports: readonly number[];
  readonly etherTypes: readonly number[] = [];
  readonly packetTypes: string[] = [...DNS_TYPES];
  private readonly matchIds: boolean;
  private readonly generic: boolean;
  private readonly nbns: boolean;

  constructor(v: DnsVariant) {
    this.name = v.name;
    this.phsName = v.phsName;
    this.label = v.label;
    this.carriers = v.carriers;
    this.ports = v.ports;
    this.matchIds = v.matchIds;
    this.generic = v.phsName === "dns";
    this.nbns = v.nbns === true;
  }

  private portHint(p: Packet): boolean {
    return this.ports.includes(p.dstPort) || this.ports.includes(p.srcPort);
  }

  probe(p: Packet): Probe | null {
    if (p.payloadOff < 0 || p.payloadLen < HEADER_LEN) return null;
    const hint = this.portHint(p);
    if (this.generic) {
      if (!hint && (VARIANT_PORTS.includes(p.dstPort) || VARIANT_PORTS.includes(p.srcPort))) return null;
    } else if (!hint) return null;
    const b = p.data;
    let base = p.payloadOff;
    let len = p.payloadWireLen > p.payloadLen ? p.payloadWireLen : p.payloadLen;
    const capEnd = p.payloadOff + p.payloadLen;
    const tcp = p.ipProto === 6;
    if (tcp) {
      const l = u16(b, base);
      if (l < HEADER_LEN || l + 2 > len) return null;
      base += 2;
      len = l;
    }
    const flags = u16(b, base + 2);
    const opcode = (flags >> 11) & 0xf;
    if (this.nbns ? opcode !== 0 && (opcode < 5 || opcode > 8) : opcode === 3 || opcode > 6) return null;
    const w = walkMessage(b, base, len, capEnd);
    const where = hint ? `, port ${this.ports.includes(p.dstPort) ? p.dstPort : p.srcPort}` : "";
    const qd = u16(b, base + 4);
    const counts = `qd ${qd} an ${u16(b, base + 6)} ns ${u16(b, base + 8)} ar ${u16(b, base + 10)}`;
    const framing = tcp ? `length prefix ${len}, ` : "";
    if (w === Walk.EXACT) {
      return {
        confidence: hint ? 0.95 : qd > 0 ? 0.6 : 0.5,
        evidence: "structure",
        detail: `${framing}${counts}, all names and records end at byte ${len}${where}`,
      };
    }
    if (w === Walk.SHORT) {
      return {
        confidence: hint ? 0.9 : 0.5,
        evidence: "structure",
        detail: `${framing}${counts}, names valid up to the snaplen${where}`,
      };
    }
    if (w === Walk.TRAILING) {
      return {
        confidence: hint ? 0.9 : 0.4,
        evidence: "structure",
        detail: `${framing}${counts}, ${len - (walk.end - base)} bytes after the last record${where}`,
      };
    }
    return null;
  }

  createState(): DnsState {
    return new DnsState();
  }

  decode(p: Packet, s: DnsState): number {
    if (p.payloadOff < 0) {
      s.malformed++;
      return -1;
    }
    const b = p.data;
    const capEnd = p.payloadOff + p.payloadLen;
    if (p.ipProto === 6) {
      let i = p.payloadOff;
      const wireEnd = p.payloadOff + (p.payloadWireLen > p.payloadLen ? p.payloadWireLen : p.payloadLen);
      if (i + 2 > capEnd) {
        s.continuation++;
        return T_CONT;
      }
      const l = u16(b, i);
      if (l < HEADER_LEN || i + 2 + l > wireEnd) {
        s.continuation++;
        return T_CONT;
      }
      // One segment may carry several length-prefixed messages; the first one names the type.
      let first = -2;
      while (i + 2 <= capEnd) {
        const ml = u16(b, i);
        if (ml < HEADER_LEN || i + 2 + ml > wireEnd) break;
        const t = this.message(p, s, i + 2, ml, capEnd);
        if (first === -2) first = t;
        i += 2 + ml;
      }
      return first === -2 ? -1 : first;
    }
    const len = p.payloadWireLen > p.payloadLen ? p.payloadWireLen : p.payloadLen;
    return this.message(p, s, p.payloadOff, len, capEnd);
  }

  /** Account one message at [base, base + len); returns its packet type or -1 when malformed. */
  private message(p: Packet, s: DnsState, base: number, len: number, capEnd: number): number {
    const b = p.data;
    if (len < HEADER_LEN || base + HEADER_LEN > capEnd) {
      s.malformed++;
      return -1;
    }
    const w = walkMessage(b, base, len, capEnd);
    if (w === Walk.BAD) {
      s.malformed++;
      return -1;
    }
    if (w === Walk.SHORT) s.short++;
    const id = u16(b, base);
    const flags = u16(b, base + 2);
    const qr = flags >> 15;
    const opcode = (flags >> 11) & 0xf;
    const rcode = flags & 0xf;
    s.opcodes[opcode]++;
    const t = p.tsSec + p.tsNsec / 1e9;
    if (qr === 0) {
      s.queries++;
      this.countNames(p, s, base, len, capEnd);
      if (this.matchIds) this.remember(s, id, t);
      if (this.nbns) return T_QUERY;
      return opcode === 4 ? T_NOTIFY : opcode === 5 ? T_UPDATE : T_QUERY;
    }
    s.responses++;
    s.rcodes[rcode]++;
    if ((flags & 0x0200) !== 0) s.truncatedFlag++;
    if (this.matchIds) this.answer(s, id, t);
    if (this.nbns) return rcode === 0 ? T_RESPONSE : rcode === 3 ? T_NXDOMAIN : T_ERROR;
    if (opcode === 4) return T_NOTIFY;
    if (opcode === 5) return T_UPDATE;
    if (rcode === 0) return T_RESPONSE;
    if (rcode === 3) return T_NXDOMAIN;
    if (rcode === 2) return T_SERVFAIL;
    if (rcode === 5) return T_REFUSED;
    return T_ERROR;
  }

  private countNames(p: Packet, s: DnsState, base: number, len: number, capEnd: number): void {
    const b = p.data;
    const end = Math.min(base + len, capEnd);
    const qd = u16(b, base + 4);
    let i = base + HEADER_LEN;
    for (let q = 0; q < qd; q++) {
      if (!walkName(b, base, end, i, true)) return;
      const e = s.names.get(walk.nameHash);
      if (e !== undefined) e.count++;
      else if (s.names.size < MAX_NAMES) {
        s.names.set(walk.nameHash, { name: nameToString(b, base, end, i), count: 1 });
      } else s.otherNames++;
      i = walk.nameEnd + 4;
    }
  }

  private remember(s: DnsState, id: number, t: number): void {
    // A retransmitted query keeps its first time: the response time is measured from the first try.
    for (let k = 0; k < MAX_PENDING; k++) if (s.pendingId[k] === id) return;
    const k = s.pendingNext;
    if (s.pendingId[k] >= 0) s.evicted++;
    s.pendingId[k] = id;
    s.pendingAt[k] = t;
    s.pendingNext = (k + 1) % MAX_PENDING;
  }

  private answer(s: DnsState, id: number, t: number): void {
    for (let k = 0; k < MAX_PENDING; k++) {
      if (s.pendingId[k] !== id) continue;
      s.pendingId[k] = -1;
      const ms = (t - s.pendingAt[k]) * 1000;
      s.rttCount++;
      s.rttSumMs += ms;
      if (ms < s.rttMinMs) s.rttMinMs = ms;
      if (ms > s.rttMaxMs) s.rttMaxMs = ms;
      return;
    }
    s.unmatchedResponses++;
  }

  summarize(s: DnsState): Record<string, unknown> {
    let pending = 0;
    for (let k = 0; k < MAX_PENDING; k++) if (s.pendingId[k] >= 0) pending++;
    const rcodes: Record<string, number> = {};
    for (let r = 0; r < 16; r++) if (s.rcodes[r] > 0) rcodes[RCODE_NAMES[r] ?? `RCODE${r}`] = s.rcodes[r];
    const names = [...s.names.values()].sort((a, b) => b.count - a.count || (a.name < b.name ? -1 : 1));
    return {
      queries: s.queries,
      responses: s.responses,
      unanswered: this.matchIds ? pending + s.evicted : null,
      unmatchedResponses: this.matchIds ? s.unmatchedResponses : null,
      rcodes,
      truncatedResponses: s.truncatedFlag,
      continuation: s.continuation,
      malformed: s.malformed,
      snaplenCut: s.short,
      responseTimeMs: s.rttCount === 0 ? null : {
        count: s.rttCount,
        min: round3(s.rttMinMs),
        mean: round3(s.rttSumMs / s.rttCount),
        max: round3(s.rttMaxMs),
      },
      topNames: names.map((n) => ({ name: n.name, count: n.count })),
      otherNames: s.otherNames,
    };
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

export function dnsDecoder(): DnsDecoder {
  return new DnsDecoder({
    name: "DNS",
    phsName: "dns",
    label: "DNS",
    ports: [53],
    carriers: ["udp", "tcp"],
    matchIds: true,
  });
}

export function mdnsDecoder(): DnsDecoder {
  return new DnsDecoder({
    name: "mDNS",
    phsName: "mdns",
    label: "mDNS (multicast DNS)",
    ports: [5353],
    carriers: ["udp"],
    matchIds: false,
  });
}

export function llmnrDecoder(): DnsDecoder {
  return new DnsDecoder({
    name: "LLMNR",
    phsName: "llmnr",
    label: "LLMNR",
    ports: [5355],
    carriers: ["udp", "tcp"],
    matchIds: true,
  });
}

export function nbnsDecoder(): DnsDecoder {
  return new DnsDecoder({
    name: "NBNS",
    phsName: "nbns",
    label: "NBNS (NetBIOS Name Service)",
    ports: [137],
    carriers: ["udp"],
    matchIds: true,
    nbns: true,
  });
}
