import type { Packet } from "../lib/packet/packet.ts";
import type { Carrier, Decoder, Probe } from "./decoder.ts";

/**
 * PTP version 2 (IEEE 1588-2008/2019, and 802.1AS gPTP) over UDP 319/320 and Ethernet 0x88F7.
 * Common header: 34 bytes, big-endian (layout in field-notes §5.1). Ethernet frames are padded to
 * 60 bytes, so the payload may exceed messageLength; messageLength never exceeds the payload.
 */

/** Packet type names, indexed by messageType (holes for reserved values are never returned). */
export const PTP_TYPE_NAMES: readonly string[] = [
  "Sync",
  "Delay_Req",
  "Pdelay_Req",
  "Pdelay_Resp",
  "",
  "",
  "",
  "",
  "Follow_Up",
  "Delay_Resp",
  "Pdelay_Resp_Follow_Up",
  "Announce",
  "Signaling",
  "Management",
  "",
  "",
];

/** Minimum messageLength per messageType (header + body); 0 = reserved type. */
export const PTP_MIN_LENGTH: readonly number[] = [44, 44, 54, 54, 0, 0, 0, 0, 44, 54, 54, 64, 44, 48, 0, 0];

export const PTP_HEADER_LEN = 34;
export const PTP_ETHERTYPE = 0x88f7;
/** Source/type entries tracked per flow for sequence gaps and Sync intervals. */
export const MAX_SOURCES = 64;
/** Clock identities and grandmasters listed per flow. */
export const MAX_CLOCKS = 16;

/** What is wrong with a PTP header, or "" when it is well formed. Allocation-free. */
export function ptpProblem(b: Uint8Array, off: number, len: number): string {
  if (len < PTP_HEADER_LEN) return "shorter than the 34-byte header";
  if ((b[off + 1] & 0x0f) !== 2) return "versionPTP is not 2";
  const type = b[off] & 0x0f;
  const min = PTP_MIN_LENGTH[type];
  if (min === 0) return "reserved messageType";
  const ml = (b[off + 2] << 8) | b[off + 3];
  if (ml < min) return "messageLength below the body length for its type";
  if (ml > len) return "messageLength beyond the payload";
  return "";
}

export class PtpState {
  readonly counts: Uint32Array = new Uint32Array(16);
  malformed = 0;
  /** Bitmap of domainNumbers seen. */
  readonly domains: Uint8Array = new Uint8Array(256);
  /** Sync messages with the twoStep flag, and without. */
  twoStep = 0;
  oneStep = 0;
  // Clock identities as (high, low) 32-bit words; grandmasters from Announce likewise.
  clockCount = 0;
  clocksDropped = 0;
  readonly clockHi: Uint32Array = new Uint32Array(MAX_CLOCKS);
  readonly clockLo: Uint32Array = new Uint32Array(MAX_CLOCKS);
  gmCount = 0;
  readonly gmHi: Uint32Array = new Uint32Array(MAX_CLOCKS);
  readonly gmLo: Uint32Array = new Uint32Array(MAX_CLOCKS);
  readonly gmPriority1: Uint8Array = new Uint8Array(MAX_CLOCKS);
  readonly gmClass: Uint8Array = new Uint8Array(MAX_CLOCKS);
  // Per (messageType, sourcePortIdentity): sequence tracking and timing.
  srcCount = 0;
  srcDropped = 0;
  readonly srcType: Uint8Array = new Uint8Array(MAX_SOURCES);
  readonly srcHi: Uint32Array = new Uint32Array(MAX_SOURCES);
  readonly srcLo: Uint32Array = new Uint32Array(MAX_SOURCES);
  readonly srcPort: Uint16Array = new Uint16Array(MAX_SOURCES);
  readonly lastSeq: Uint16Array = new Uint16Array(MAX_SOURCES);
  readonly packets: Float64Array = new Float64Array(MAX_SOURCES);
  /** Jumps forward by more than one, and the sequenceIds they skipped. */
  readonly gaps: Float64Array = new Float64Array(MAX_SOURCES);
  readonly missing: Float64Array = new Float64Array(MAX_SOURCES);
  /** Same or earlier sequenceId than the last one (duplicate, reorder or restart). */
  readonly backwards: Float64Array = new Float64Array(MAX_SOURCES);
  readonly firstT: Float64Array = new Float64Array(MAX_SOURCES);
  readonly lastT: Float64Array = new Float64Array(MAX_SOURCES);
  readonly logInterval: Int8Array = new Int8Array(MAX_SOURCES);
  // correctionField in ns (float: a derived quantity).
  corrCount = 0;
  corrNonZero = 0;
  corrMin = Infinity;
  corrMax = -Infinity;
  corrSum = 0;
}

export class PtpDecoder implements Decoder<PtpState> {
  readonly name = "PTP";
  readonly phsName = "ptp";
  readonly label = "PTP (v2)";
  readonly carriers: readonly Carrier[] = ["udp", "ether"];
  readonly ports: readonly number[] = [319, 320];
  readonly etherTypes: readonly number[] = [PTP_ETHERTYPE];
  readonly packetTypes: string[] = PTP_TYPE_NAMES.map((n, i) => n === "" ? `Reserved (${i})` : n);

  probe(p: Packet): Probe | null {
    if (p.payloadOff < 0) return null;
    const b = p.data, o = p.payloadOff, len = p.payloadLen;
    const hinted = p.ipVersion === 0
      ? p.etherType === PTP_ETHERTYPE
      : p.ipProto === 17 && (this.ports.includes(p.dstPort) || this.ports.includes(p.srcPort));
    if (p.ipVersion !== 0 && p.ipProto !== 17) return null;
    if (ptpProblem(b, o, len) !== "") return null;
    const type = b[o] & 0x0f;
    const ml = (b[o + 2] << 8) | b[o + 3];
    const exact = ml === len;
    const via = p.ipVersion === 0
      ? "ethertype 0x88f7"
      : `port ${this.ports.includes(p.dstPort) ? p.dstPort : p.srcPort}`;
    const detail =
      `version 2, ${PTP_TYPE_NAMES[type]}, messageLength ${ml} ${exact ? "=" : "<"} payload ${len}` +
      (hinted ? `, ${via}` : "");
    if (hinted) return { confidence: 0.95, evidence: "structure", detail };
    // Without a port or EtherType hint a 34-byte header with two matching fields is a weak sign.
    return { confidence: exact ? 0.6 : 0.35, evidence: "structure", detail };
  }

  createState(): PtpState {
    return new PtpState();
  }

  decode(p: Packet, s: PtpState): number {
    if (p.payloadOff < 0) {
      s.malformed++;
      return -1;
    }
    const b = p.data, o = p.payloadOff, len = p.payloadLen;
    if (ptpProblem(b, o, len) !== "") {
      s.malformed++;
      return -1;
    }
    const type = b[o] & 0x0f;
    s.counts[type]++;
    s.domains[b[o + 4]] = 1;
    const flags = (b[o + 6] << 8) | b[o + 7];
    if (type === 0) {
      if ((flags & 0x0200) !== 0) s.twoStep++;
      else s.oneStep++;
    }
    // correctionField: signed 64-bit ns * 2^16.
    const hi = (b[o + 8] << 24) | (b[o + 9] << 16) | (b[o + 10] << 8) | b[o + 11];
    const lo = ((b[o + 12] << 24) >>> 0) + ((b[o + 13] << 16) | (b[o + 14] << 8) | b[o + 15]);
    const corr = (hi * 4294967296 + lo) / 65536;
    s.corrCount++;
    if (corr !== 0) s.corrNonZero++;
    if (corr < s.corrMin) s.corrMin = corr;
    if (corr > s.corrMax) s.corrMax = corr;
    s.corrSum += corr;
    const cHi = read32(b, o + 20), cLo = read32(b, o + 24);
    addClock(s.clockHi, s.clockLo, s, cHi, cLo, false);
    const port = (b[o + 28] << 8) | b[o + 29];
    const seq = (b[o + 30] << 8) | b[o + 31];
    this.sequence(s, type, cHi, cLo, port, seq, p.tsSec + p.tsNsec / 1e9, (b[o + 33] << 24) >> 24);
    if (type === 11) {
      const g = addClock(s.gmHi, s.gmLo, s, read32(b, o + 53), read32(b, o + 57), true);
      if (g >= 0) {
        s.gmPriority1[g] = b[o + 47];
        s.gmClass[g] = b[o + 48];
      }
    }
    return type;
  }

  private sequence(
    s: PtpState,
    type: number,
    hi: number,
    lo: number,
    port: number,
    seq: number,
    t: number,
    logInterval: number,
  ): void {
    let k = 0;
    for (; k < s.srcCount; k++) {
      if (s.srcType[k] === type && s.srcLo[k] === lo && s.srcHi[k] === hi && s.srcPort[k] === port) break;
    }
    if (k === s.srcCount) {
      if (k === MAX_SOURCES) {
        s.srcDropped++;
        return;
      }
      s.srcCount++;
      s.srcType[k] = type;
      s.srcHi[k] = hi;
      s.srcLo[k] = lo;
      s.srcPort[k] = port;
      s.firstT[k] = t;
    } else {
      const d = (seq - s.lastSeq[k]) & 0xffff;
      if (d === 0 || d >= 0x8000) s.backwards[k]++;
      else if (d > 1) {
        s.gaps[k]++;
        s.missing[k] += d - 1;
      }
    }
    s.lastSeq[k] = seq;
    s.packets[k]++;
    s.lastT[k] = t;
    s.logInterval[k] = logInterval;
  }

  summarize(s: PtpState): Record<string, unknown> {
    const messages: Record<string, number> = {};
    for (let t = 0; t < 16; t++) if (s.counts[t] > 0) messages[this.packetTypes[t]] = s.counts[t];
    const domains: number[] = [];
    for (let d = 0; d < 256; d++) if (s.domains[d] !== 0) domains.push(d);
    const sequences = [];
    for (let k = 0; k < s.srcCount; k++) {
      const n = s.packets[k];
      const measured = n > 1 ? (s.lastT[k] - s.firstT[k]) / (n - 1) : null;
      sequences.push({
        messageType: this.packetTypes[s.srcType[k]],
        sourcePortIdentity: `${clockId(s.srcHi[k], s.srcLo[k])}-${s.srcPort[k]}`,
        packets: n,
        gaps: s.gaps[k],
        missing: s.missing[k],
        backwards: s.backwards[k],
        logMessageInterval: s.logInterval[k],
        nominalIntervalS: Math.pow(2, s.logInterval[k]),
        measuredIntervalS: measured === null ? null : Math.round(measured * 1e6) / 1e6,
      });
    }
    const clocks = [];
    for (let i = 0; i < s.clockCount; i++) clocks.push(clockId(s.clockHi[i], s.clockLo[i]));
    const grandmasters = [];
    for (let i = 0; i < s.gmCount; i++) {
      grandmasters.push({
        identity: clockId(s.gmHi[i], s.gmLo[i]),
        priority1: s.gmPriority1[i],
        clockClass: s.gmClass[i],
      });
    }
    return {
      messages,
      malformed: s.malformed,
      domains,
      twoStepSync: s.twoStep,
      oneStepSync: s.oneStep,
      clockIdentities: clocks,
      clockIdentitiesDropped: s.clocksDropped,
      grandmasters,
      sequences,
      sequencesDropped: s.srcDropped,
      correctionNs: s.corrCount === 0 ? null : {
        count: s.corrCount,
        nonZero: s.corrNonZero,
        min: s.corrMin,
        max: s.corrMax,
        mean: s.corrSum / s.corrCount,
      },
    };
  }
}

function read32(b: Uint8Array, i: number): number {
  return ((b[i] << 24) >>> 0) + ((b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]);
}

/** Index of the identity in the bounded list (added when new), or -1 when the list is full. */
function addClock(
  his: Uint32Array,
  los: Uint32Array,
  s: PtpState,
  hi: number,
  lo: number,
  gm: boolean,
): number {
  const n = gm ? s.gmCount : s.clockCount;
  for (let i = 0; i < n; i++) if (his[i] === hi && los[i] === lo) return i;
  if (n === MAX_CLOCKS) {
    if (!gm) s.clocksDropped++;
    return -1;
  }
  his[n] = hi;
  los[n] = lo;
  if (gm) s.gmCount++;
  else s.clockCount++;
  return n;
}

/** Wireshark's notation for a clockIdentity: 0x plus 16 hex digits. */
export function clockId(hi: number, lo: number): string {
  return "0x" + hi.toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0");
}

export function ptpDecoder(): PtpDecoder {
  return new PtpDecoder();
}
