import type { Packet } from "../lib/packet/packet.ts";
import type { Carrier, Decoder, Probe } from "./decoder.ts";

/**
 * RTCP (RFC 3550 §6) over UDP on any port: a datagram is a compound of RTCP packets, each with
 * version 2 and a length in 32-bit words minus one; the lengths must add up to the datagram. RFC
 * 3550 compounds start with SR or RR; reduced-size RTCP (RFC 5506) may start with anything, which
 * the probe accepts with less confidence. A compound datagram counts as its first packet's type;
 * every contained packet is counted per type in the flow summary.
 */

/** Packet type names indexed by PT − 192 (192..223). */
export const RTCP_TYPE_NAMES: readonly string[] = Array.from({ length: 32 }, (_, i) => {
  const pt = 192 + i;
  const known: Record<number, string> = {
    192: "FIR",
    193: "NACK",
    195: "IJ",
    200: "SR",
    201: "RR",
    202: "SDES",
    203: "BYE",
    204: "APP",
    205: "RTPFB",
    206: "PSFB",
    207: "XR",
    208: "AVB",
    209: "RSI",
    210: "TOKEN",
  };
  return known[pt] ?? `Unknown (${pt})`;
});

/** Report blocks (per reported SSRC) remembered per flow. */
export const MAX_REPORTS = 16;
/** Packets walked in one datagram at most (a compound is small; this bounds hostile input). */
const MAX_PARTS = 64;

/** Scratch results of the last walk (no allocation). */
export const rtcpWalk = { parts: 0, firstPt: 0, why: "" };

/**
 * Walk the compound at [o, o + len): returns true when every packet has version 2, a PT in
 * 192..223, padding only on the last, and the lengths add up exactly to `len`.
 */
export function walkCompound(b: Uint8Array, o: number, len: number): boolean {
  let i = o;
  const end = o + len;
  let parts = 0;
  rtcpWalk.parts = 0;
  if (len < 4) {
    rtcpWalk.why = "shorter than an RTCP header";
    return false;
  }
  rtcpWalk.firstPt = b[o + 1];
  while (i < end) {
    if (i + 4 > end) {
      rtcpWalk.why = `packet ${parts + 1} header cut`;
      return false;
    }
    if ((b[i] >> 6) !== 2) {
      rtcpWalk.why = `packet ${parts + 1} version is not 2`;
      return false;
    }
    const pt = b[i + 1];
    if (pt < 192 || pt > 223) {
      rtcpWalk.why = `packet ${parts + 1} type ${pt} outside 192..223`;
      return false;
    }
    const bytes = (((b[i + 2] << 8) | b[i + 3]) + 1) * 4;
    if (i + bytes > end) {
      rtcpWalk.why = `packet ${parts + 1} length ${bytes} runs past the datagram`;
      return false;
    }
    if ((b[i] & 0x20) !== 0 && i + bytes !== end) {
      rtcpWalk.why = `padding on packet ${parts + 1}, not the last`;
      return false;
    }
    // SR: 24 bytes of sender info + 24 per report block; RR: 24 per block.
    const rc = b[i] & 0x1f;
    if ((pt === 200 && bytes < 28 + rc * 24) || (pt === 201 && bytes < 8 + rc * 24)) {
      rtcpWalk.why = `packet ${parts + 1} too short for ${rc} report blocks`;
      return false;
    }
    i += bytes;
    if (++parts > MAX_PARTS) {
      rtcpWalk.why = "more than 64 packets in one datagram";
      return false;
    }
  }
  rtcpWalk.parts = parts;
  return true;
}

export class RtcpState {
  datagrams = 0;
  compound = 0;
  malformed = 0;
  /** Packets per type, all packets of every compound, indexed by PT − 192. */
  readonly parts: Uint32Array = new Uint32Array(32);
  /** Sender SSRCs of SR packets, with the last packet/octet counts they reported. */
  senderCount = 0;
  readonly senderSsrc: Float64Array = new Float64Array(MAX_REPORTS);
  readonly senderPackets: Float64Array = new Float64Array(MAX_REPORTS);
  readonly senderOctets: Float64Array = new Float64Array(MAX_REPORTS);
  /** Last report block per reported SSRC: fraction lost (/256), cumulative lost, jitter (ts units). */
  reportCount = 0;
  readonly reportSsrc: Float64Array = new Float64Array(MAX_REPORTS);
  readonly fractionLost: Uint8Array = new Uint8Array(MAX_REPORTS);
  readonly cumulativeLost: Int32Array = new Int32Array(MAX_REPORTS);
  readonly jitter: Float64Array = new Float64Array(MAX_REPORTS);
}

export class RtcpDecoder implements Decoder<RtcpState> {
  readonly name = "RTCP";
  readonly phsName = "rtcp";
  readonly label = "RTCP";
  readonly carriers: readonly Carrier[] = ["udp"];
  readonly ports: readonly number[] = [];
  readonly etherTypes: readonly number[] = [];
  readonly packetTypes: string[] = [...RTCP_TYPE_NAMES];

  probe(p: Packet): Probe | null {
    if (p.payloadOff < 0 || p.ipProto !== 17) return null;
    if (!walkCompound(p.data, p.payloadOff, p.payloadLen)) return null;
    const first = rtcpWalk.firstPt;
    const names = `${rtcpWalk.parts} packet${rtcpWalk.parts === 1 ? "" : "s"}, first ${
      RTCP_TYPE_NAMES[first - 192]
    }`;
    if (first === 200 || first === 201) {
      return {
        confidence: 0.9,
        evidence: "structure",
        detail: `version 2, ${names}, lengths add up to ${p.payloadLen}`,
      };
    }
    return {
      confidence: 0.6,
      evidence: "structure",
      detail: `version 2, ${names} (reduced-size?), lengths add up`,
    };
  }

  createState(): RtcpState {
    return new RtcpState();
  }

  decode(p: Packet, s: RtcpState): number {
    if (p.payloadOff < 0 || !walkCompound(p.data, p.payloadOff, p.payloadLen)) {
      s.malformed++;
      return -1;
    }
    s.datagrams++;
    if (rtcpWalk.parts > 1) s.compound++;
    const b = p.data;
    const end = p.payloadOff + p.payloadLen;
    let i = p.payloadOff;
    while (i < end) {
      const pt = b[i + 1];
      const bytes = (((b[i + 2] << 8) | b[i + 3]) + 1) * 4;
      s.parts[pt - 192]++;
      const rc = b[i] & 0x1f;
      if (pt === 200) {
        this.sender(s, read32(b, i + 4), read32(b, i + 20), read32(b, i + 24));
        this.blocks(s, b, i + 28, rc);
      } else if (pt === 201) this.blocks(s, b, i + 8, rc);
      i += bytes;
    }
    return rtcpWalk.firstPt - 192;
  }

  private sender(s: RtcpState, ssrc: number, packets: number, octets: number): void {
    let k = 0;
    while (k < s.senderCount && s.senderSsrc[k] !== ssrc) k++;
    if (k === s.senderCount) {
      if (k === MAX_REPORTS) return;
      s.senderCount++;
      s.senderSsrc[k] = ssrc;
    }
    s.senderPackets[k] = packets;
    s.senderOctets[k] = octets;
  }

  private blocks(s: RtcpState, b: Uint8Array, o: number, rc: number): void {
    for (let r = 0; r < rc; r++, o += 24) {
      const ssrc = read32(b, o);
      let k = 0;
      while (k < s.reportCount && s.reportSsrc[k] !== ssrc) k++;
      if (k === s.reportCount) {
        if (k === MAX_REPORTS) continue;
        s.reportCount++;
        s.reportSsrc[k] = ssrc;
      }
      s.fractionLost[k] = b[o + 4];
      // Cumulative lost is a signed 24-bit number.
      s.cumulativeLost[k] = ((b[o + 5] << 24) | (b[o + 6] << 16) | (b[o + 7] << 8)) >> 8;
      s.jitter[k] = read32(b, o + 12);
    }
  }

  summarize(s: RtcpState): Record<string, unknown> {
    const packets: Record<string, number> = {};
    for (let i = 0; i < 32; i++) if (s.parts[i] > 0) packets[RTCP_TYPE_NAMES[i]] = s.parts[i];
    const senders = [];
    for (let k = 0; k < s.senderCount; k++) {
      senders.push({ ssrc: s.senderSsrc[k], packets: s.senderPackets[k], octets: s.senderOctets[k] });
    }
    const reports = [];
    for (let k = 0; k < s.reportCount; k++) {
      reports.push({
        ssrc: s.reportSsrc[k],
        fractionLost: s.fractionLost[k] / 256,
        cumulativeLost: s.cumulativeLost[k],
        jitter: s.jitter[k],
      });
    }
    return {
      datagrams: s.datagrams,
      compound: s.compound,
      malformed: s.malformed,
      packets,
      senders,
      reports,
    };
  }
}

function read32(b: Uint8Array, i: number): number {
  return ((b[i] << 24) >>> 0) + ((b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]);
}

export function rtcpDecoder(): RtcpDecoder {
  return new RtcpDecoder();
}
