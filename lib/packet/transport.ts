/**
 * Transport headers (TCP with options, UDP, ICMP, ICMPv6, IGMP) read into a Packet. Each function
 * gets the header offset, `capEnd` (end of captured bytes of the IP payload) and `wireEnd` (end
 * of the IP payload as the IP header states it) and returns false when decoding must stop.
 */
import { Layer } from "./layers.ts";
import type { Packet } from "./packet.ts";

/**
 * Common start of TCP and UDP: records the layer and its offset and reads the ports, which come
 * first in both, even from a header cut short by the snaplen (flows still key on them). False
 * when fewer than `minLen` header bytes were captured.
 */
function l4Header(
  p: Packet,
  layer: number,
  off: number,
  minLen: number,
  capEnd: number,
  wireEnd: number,
): boolean {
  const b = p.data;
  p.pushLayer(layer);
  p.l4Off = off;
  if (off + 4 <= capEnd) {
    p.srcPort = (b[off] << 8) | b[off + 1];
    p.dstPort = (b[off + 2] << 8) | b[off + 3];
  }
  if (off + minLen > capEnd) {
    markShort(p, off, capEnd, wireEnd);
    return false;
  }
  return true;
}

export function decodeTcp(p: Packet, off: number, capEnd: number, wireEnd: number): boolean {
  const b = p.data;
  if (!l4Header(p, Layer.TCP, off, 20, capEnd, wireEnd)) return false;
  p.tcpSeq = ((b[off + 4] << 24) >>> 0) + (b[off + 5] << 16) + (b[off + 6] << 8) + b[off + 7];
  p.tcpAck = ((b[off + 8] << 24) >>> 0) + (b[off + 9] << 16) + (b[off + 10] << 8) + b[off + 11];
  const hl = (b[off + 12] >> 4) * 4;
  p.tcpFlags = b[off + 13];
  p.tcpWindow = (b[off + 14] << 8) | b[off + 15];
  p.tcpHdrLen = hl;
  if (hl < 20 || off + hl > wireEnd) {
    p.malformed = true;
    return false;
  }
  const optEnd = off + hl > capEnd ? capEnd : off + hl;
  if (hl > 20) tcpOptions(p, b, off + 20, optEnd);
  if (off + hl > capEnd) {
    p.truncated = true;
    return false;
  }
  p.payloadOff = off + hl;
  p.payloadLen = capEnd - off - hl;
  p.payloadWireLen = wireEnd - off - hl;
  if (wireEnd > capEnd) p.truncated = true;
  return true;
}

/** Walks TCP options; a bad length ends the walk (RFC 9293: the rest cannot be parsed). */
function tcpOptions(p: Packet, b: Uint8Array, i: number, end: number): void {
  while (i < end) {
    const kind = b[i];
    if (kind === 0) return;
    if (kind === 1) {
      i++;
      continue;
    }
    if (i + 1 >= end) return;
    const len = b[i + 1];
    if (len < 2 || i + len > end) return;
    if (kind === 2 && len === 4) p.tcpMss = (b[i + 2] << 8) | b[i + 3];
    else if (kind === 3 && len === 3) p.tcpWscale = b[i + 2];
    else if (kind === 4 && len === 2) p.tcpSackPermitted = true;
    else if (kind === 8 && len === 10) {
      p.tcpTsVal = ((b[i + 2] << 24) >>> 0) + (b[i + 3] << 16) + (b[i + 4] << 8) + b[i + 5];
      p.tcpTsEcr = ((b[i + 6] << 24) >>> 0) + (b[i + 7] << 16) + (b[i + 8] << 8) + b[i + 9];
    } else if (kind === 5 && len >= 10 && (len - 2) % 8 === 0) {
      let n = 0;
      for (let j = i + 2; j + 8 <= i + len && n < 4; j += 8, n++) {
        p.tcpSack[2 * n] = ((b[j] << 24) >>> 0) + (b[j + 1] << 16) + (b[j + 2] << 8) + b[j + 3];
        p.tcpSack[2 * n + 1] = ((b[j + 4] << 24) >>> 0) + (b[j + 5] << 16) + (b[j + 6] << 8) + b[j + 7];
      }
      p.tcpSackCount = n;
    }
    i += len;
  }
}

/** UDP header; payload bounds come from the UDP length, trimmed to what was captured. */
export function decodeUdp(p: Packet, off: number, capEnd: number, wireEnd: number, trust: boolean): boolean {
  const b = p.data;
  if (!l4Header(p, Layer.UDP, off, 8, capEnd, wireEnd)) return false;
  const ulen = (b[off + 4] << 8) | b[off + 5];
  let uEnd = off + ulen;
  if (!trust) uEnd = wireEnd; // inside a reassembled frame, outer lengths describe the first fragment only
  else if (ulen < 8 || uEnd > wireEnd) {
    // UDP length 0 is legal for jumbograms; otherwise this is inconsistent with the IP length.
    if (ulen !== 0) p.malformed = true;
    uEnd = wireEnd;
  }
  p.payloadOff = off + 8;
  p.payloadWireLen = uEnd - off - 8;
  p.payloadLen = (uEnd < capEnd ? uEnd : capEnd) - off - 8;
  if (uEnd > capEnd) p.truncated = true;
  return !p.malformed;
}

/** ICMP and ICMPv6: type and code; the payload is what follows the 4-byte type/code/checksum. */
export function decodeIcmp(p: Packet, layer: number, off: number, capEnd: number, wireEnd: number): void {
  const b = p.data;
  p.pushLayer(layer);
  p.l4Off = off;
  if (off + 4 > capEnd) {
    markShort(p, off, capEnd, wireEnd);
    if (off < capEnd) p.icmpType = b[off];
    return;
  }
  p.icmpType = b[off];
  p.icmpCode = b[off + 1];
  p.payloadOff = off + 4;
  p.payloadLen = capEnd - off - 4;
  p.payloadWireLen = wireEnd - off - 4;
  if (wireEnd > capEnd) p.truncated = true;
}

/** IGMP: type, and the group of v1/v2 messages and v3 queries, or of the first v3 report record. */
export function decodeIgmp(p: Packet, off: number, capEnd: number, wireEnd: number): void {
  const b = p.data;
  p.pushLayer(Layer.IGMP);
  p.l4Off = off;
  if (off + 8 > capEnd) {
    markShort(p, off, capEnd, wireEnd);
    if (off < capEnd) p.igmpType = b[off];
    return;
  }
  p.igmpType = b[off];
  let g = off + 4;
  if (b[off] === 0x22) {
    // v3 report: reserved(2) records(2), then records of type, auxlen, nsrc(2), group.
    g = (b[off + 6] << 8 | b[off + 7]) > 0 ? off + 12 : -1;
  }
  if (g >= 0 && g + 4 <= capEnd) {
    p.igmpGroup = ((b[g] << 24) >>> 0) + (b[g + 1] << 16) + (b[g + 2] << 8) + b[g + 3];
  } else if (g >= 0) p.truncated = true;
  p.payloadOff = off + 8;
  p.payloadLen = capEnd - off - 8;
  p.payloadWireLen = wireEnd - off - 8;
  if (wireEnd > capEnd) p.truncated = true;
}

/** A header that does not fit: truncated when capture ended first, malformed when the IP length did. */
function markShort(p: Packet, _off: number, capEnd: number, wireEnd: number): void {
  if (capEnd < wireEnd) p.truncated = true;
  else p.malformed = true;
}
