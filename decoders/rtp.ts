import type { Packet } from "../lib/packet/packet.ts";
import type { Carrier, Decoder, Probe } from "./decoder.ts";
import { COMMON_RATES, PT_CLOCK_RATE, PT_NAMES } from "./rtp_payload_types.ts";
import { RtpStream } from "./rtp_stream.ts";
import { formatIpv4, formatIpv6 } from "../lib/packet/format.ts";

/**
 * RTP version 2 (RFC 3550) found heuristically on any UDP port. One packet can only look like RTP
 * (version 2, no RTCP payload type, header fits); continuity over packets of the same SSRC (small
 * sequence steps, forward timestamps) is what makes it RTP, so the probe keeps per-flow memory.
 */

export const RTP_HEADER_LEN = 12;
/** Streams (SSRCs) tracked per flow; further SSRCs are counted in `droppedStreams`. */
export const MAX_STREAMS = 16;
const PROBE_SSRCS = 4;
/** Largest sequence step still read as continuity while probing. */
const PROBE_MAX_STEP = 100;

/** Index of the packet type for RTCP multiplexed on the RTP flow (RFC 5761). */
export const T_RTCP_MUX = 128;

/**
 * Length of the RTP header (fixed + CSRC + extension) at `o`, or -1 when the bytes cannot be an
 * RTP v2 packet of `len` bytes. Payload types 72-76 (RTCP 200-204 with the marker bit) are refused.
 */
export function rtpHeaderLen(b: Uint8Array, o: number, len: number): number {
  if (len < RTP_HEADER_LEN) return -1;
  const b0 = b[o];
  if ((b0 >> 6) !== 2) return -1;
  const pt = b[o + 1] & 0x7f;
  if (pt >= 72 && pt <= 76) return -1;
  let h = RTP_HEADER_LEN + (b0 & 0x0f) * 4;
  if (h > len) return -1;
  if ((b0 & 0x10) !== 0) {
    if (h + 4 > len) return -1;
    h += 4 + ((b[o + h + 2] << 8) | b[o + h + 3]) * 4;
    if (h > len) return -1;
  }
  if ((b0 & 0x20) !== 0) {
    const pad = b[o + len - 1];
    if (pad === 0 || h + pad > len) return -1;
  }
  return h;
}

function ssrcAt(b: Uint8Array, o: number): number {
  return ((b[o + 8] << 24) >>> 0) + ((b[o + 9] << 16) | (b[o + 10] << 8) | b[o + 11]);
}
function tsAt(b: Uint8Array, o: number): number {
  return ((b[o + 4] << 24) >>> 0) + ((b[o + 5] << 16) | (b[o + 6] << 8) | b[o + 7]);
}

/** Per-flow probe memory: the last sequence and timestamp of up to 4 SSRCs. */
export class RtpProbeState {
  n = 0;
  next = 0;
  // Plain arrays: one of these exists per UDP flow being classified, and typed arrays cost more to create.
  readonly ssrc: number[] = [0, 0, 0, 0];
  readonly seq: number[] = [0, 0, 0, 0];
  readonly ts: number[] = [0, 0, 0, 0];
  readonly run: number[] = [0, 0, 0, 0];
}

export class RtpState {
  readonly streams: RtpStream[] = [];
  droppedStreams = 0;
  malformed = 0;
  rtcpMux = 0;
  /** Last stream hit: consecutive packets mostly belong to the same SSRC. */
  last: RtpStream | null = null;
  /** Origin of the arrival clock (seconds), so float arrival times keep sub-µs precision. */
  t0 = -1;
}

export class RtpDecoder implements Decoder<RtpState> {
  readonly name = "RTP";
  readonly phsName = "rtp";
  readonly label = "RTP";
  readonly carriers: readonly Carrier[] = ["udp"];
  readonly ports: readonly number[] = [];
  readonly etherTypes: readonly number[] = [];
  readonly packetTypes: string[] = [...PT_NAMES, "RTCP (mux)"];

  createProbeState(): RtpProbeState {
    return new RtpProbeState();
  }

  probe(p: Packet, state?: unknown): Probe | null {
    if (p.payloadOff < 0 || p.ipProto !== 17) return null;
    const b = p.data, o = p.payloadOff;
    if (rtpHeaderLen(b, o, p.payloadLen) < 0) return null;
    const pt = b[o + 1] & 0x7f;
    const seq = (b[o + 2] << 8) | b[o + 3];
    const ts = tsAt(b, o);
    const ssrc = ssrcAt(b, o);
    const st = state instanceof RtpProbeState ? state : null;
    const one = `version 2, PT ${pt}, SSRC 0x${hex8(ssrc)}`;
    if (st === null) return { confidence: 0.4, evidence: "structure", detail: one };
    let k = 0;
    while (k < st.n && st.ssrc[k] !== ssrc) k++;
    if (k === st.n) {
      if (st.n < PROBE_SSRCS) st.n++;
      else {
        k = st.next;
        st.next = (st.next + 1) % PROBE_SSRCS;
      }
      st.ssrc[k] = ssrc;
      st.seq[k] = seq;
      st.ts[k] = ts;
      st.run[k] = 0;
      return { confidence: 0.4, evidence: "structure", detail: one };
    }
    const dSeq = (seq - st.seq[k]) & 0xffff;
    const dTs = (ts - st.ts[k]) >>> 0;
    st.seq[k] = seq;
    st.ts[k] = ts;
    // Continuity: the next few sequence numbers, and a timestamp that did not run backwards far.
    if (dSeq >= 1 && dSeq <= PROBE_MAX_STEP && dTs < 0x01000000) {
      st.run[k]++;
      return {
        confidence: 0.9,
        evidence: "payload",
        detail: `SSRC 0x${hex8(ssrc)}: ${
          st.run[k] + 1
        } packets in sequence (seq +${dSeq}, timestamp +${dTs}), PT ${pt}`,
      };
    }
    st.run[k] = 0;
    return { confidence: 0.4, evidence: "structure", detail: one };
  }

  createState(): RtpState {
    return new RtpState();
  }

  decode(p: Packet, s: RtpState): number {
    if (p.payloadOff < 0) {
      s.malformed++;
      return -1;
    }
    const b = p.data, o = p.payloadOff, len = p.payloadLen;
    if (len >= 8 && (b[o] >> 6) === 2 && (b[o + 1] & 0x7f) >= 72 && (b[o + 1] & 0x7f) <= 76) {
      s.rtcpMux++;
      return T_RTCP_MUX;
    }
    const h = rtpHeaderLen(b, o, len);
    if (h < 0) {
      s.malformed++;
      return -1;
    }
    const ssrc = ssrcAt(b, o);
    let st = s.last;
    if (st === null || st.ssrc !== ssrc) {
      st = null;
      for (let i = 0; i < s.streams.length; i++) {
        if (s.streams[i].ssrc === ssrc) {
          st = s.streams[i];
          break;
        }
      }
      if (st === null) {
        if (s.streams.length >= MAX_STREAMS) {
          s.droppedStreams++;
          return b[o + 1] & 0x7f;
        }
        // The stream's own direction, once per stream: a flow's two streams run opposite ways.
        st = new RtpStream(
          ssrc,
          p.srcPort,
          p.dstPort,
          endpoint(p, p.src, p.srcPort),
          endpoint(p, p.transportDst, p.dstPort),
        );
        s.streams.push(st);
      }
      s.last = st;
    }
    if (s.t0 < 0) s.t0 = p.tsSec;
    const pt = b[o + 1] & 0x7f;
    const arrival = (p.tsSec - s.t0) + p.tsNsec / 1e9;
    st.add(pt, (b[o + 2] << 8) | b[o + 3], tsAt(b, o), arrival, (b[o + 1] & 0x80) !== 0, len - h);
    return pt;
  }

  summarize(s: RtpState): Record<string, unknown> {
    return {
      streams: s.streams.map((st) => st.summary()),
      droppedStreams: s.droppedStreams,
      malformed: s.malformed,
      rtcpMux: s.rtcpMux,
    };
  }
}

export function hex8(n: number): string {
  return n.toString(16).padStart(8, "0");
}

export { COMMON_RATES, PT_CLOCK_RATE, PT_NAMES };

export function rtpDecoder(): RtpDecoder {
  return new RtpDecoder();
}

/** `addr:port`, IPv6 in brackets, as the report labels endpoints. */
function endpoint(p: Packet, addr: Uint32Array, port: number): string {
  return p.ipVersion === 6 ? `[${formatIpv6(addr)}]:${port}` : `${formatIpv4(addr[0])}:${port}`;
}
