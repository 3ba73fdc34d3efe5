/**
 * Network layer: IPv4, IPv6 with its extension headers, fragment handling and the transport
 * dispatch (IP-in-IP included). Tunnels (tunnels.ts) extend this class and the link layer
 * (decoder.ts) extends those; `ethernet` is the way back into link decoding from a tunnel.
 */
import { FragmentReassembler, type FragmentStats } from "./fragments.ts";
import { Layer } from "./layers.ts";
import { Packet } from "./packet.ts";
import { decodeIcmp, decodeIgmp, decodeTcp, decodeUdp } from "./transport.ts";

/** Encapsulations deeper than this stop decoding (malformed): real traffic nests 2-3 deep. */
const MAX_NEST = 8;

export abstract class NetworkDecoder {
  protected p: Packet = new Packet();
  /** End of the bytes this layer may read: captured data, trimmed by enclosing length fields. */
  protected end = 0;
  /** Wire bytes that lie beyond `end` (capture cut); 0 when `end` is the real end. */
  protected missing = 0;
  /** In a reassembled frame, headers before this offset carry lengths of the first fragment only. */
  protected untrustedBefore = 0;
  protected tunnelLayer = 0;
  protected tunnelId = 0;
  protected tunnelBothWays = true;
  protected nest = 0;
  protected ts = 0;
  /** Set when a fragment completed a datagram: the frame to decode instead, and its IP offset. */
  protected pendingFrame: Uint8Array | null = null;
  protected pendingL3Off = 0;
  protected readonly reasm: FragmentReassembler;

  constructor(reasm: FragmentReassembler) {
    this.reasm = reasm;
  }

  get fragStats(): FragmentStats {
    return this.reasm.stats;
  }

  abstract ethernet(off: number): void;
  protected abstract gre(off: number, capEnd: number, wireEnd: number): void;
  protected abstract vxlan(off: number, capEnd: number): void;
  protected abstract gtpu(off: number, capEnd: number): void;

  /** A header did not fit: truncated when the capture cut it, malformed when the frame really ends. */
  protected short(): void {
    if (this.missing > 0) this.p.truncated = true;
    else this.p.malformed = true;
  }

  /** Bytes after a layer nothing further decodes. */
  protected rest(off: number): void {
    const p = this.p;
    if (off > this.end) return;
    p.payloadOff = off;
    p.payloadLen = this.end - off;
    p.payloadWireLen = p.payloadLen + this.missing;
  }

  /**
   * An inner IP header follows a tunnel: keep the outer addresses (and the outer UDP ports of a
   * tunnel over UDP, which tshark's UDP tables count as their own conversation), forget the rest of
   * the outer transport.
   */
  private enterIp(): void {
    const p = this.p;
    if (p.ipVersion === 0) return;
    p.outerIpVersion = p.ipVersion;
    p.outerSrc.set(p.src);
    p.outerDst.set(p.dst);
    p.routed = false;
    if (p.ipProto === 17 && p.l4Off >= 0) {
      p.outerSrcPort = p.srcPort;
      p.outerDstPort = p.dstPort;
    } else {
      p.outerSrcPort = -1;
      p.outerDstPort = -1;
    }
    p.tunnel = this.tunnelLayer;
    p.tunnelId = this.tunnelId;
    p.tunnelKey = this.tunnelBothWays ? this.tunnelId : 0;
    p.l4Off = -1;
    p.srcPort = 0;
    p.dstPort = 0;
    p.payloadOff = -1;
    p.payloadLen = 0;
    p.payloadWireLen = 0;
    p.src.fill(0);
    p.dst.fill(0);
  }

  ipv4(off: number): void {
    const p = this.p;
    const b = p.data;
    const end = this.end;
    p.etherType = 0x0800;
    if (off >= end) return this.short();
    p.pushLayer(Layer.IPV4);
    if (b[off] >> 4 !== 4) {
      p.malformed = true;
      return;
    }
    if (off + 20 > end) return this.short();
    const ihl = (b[off] & 0x0f) * 4;
    const total = (b[off + 2] << 8) | b[off + 3];
    this.enterIp();
    p.l3Off = off;
    p.ipVersion = 4;
    p.ipHdrLen = ihl;
    p.ipTotalLen = total;
    p.ttl = b[off + 8];
    p.ipProto = b[off + 9];
    p.src[0] = ((b[off + 12] << 24) >>> 0) + (b[off + 13] << 16) + (b[off + 14] << 8) + b[off + 15];
    p.dst[0] = ((b[off + 16] << 24) >>> 0) + (b[off + 17] << 16) + (b[off + 18] << 8) + b[off + 19];
    // Total length 0 is what TSO-offloaded sends look like in a capture: the frame gives the length
    // (tshark's default "support TSO" behaviour).
    const trusted = off >= this.untrustedBefore && total !== 0;
    if (ihl < 20 || (trusted && total < ihl)) {
      p.malformed = true;
      return;
    }
    if (off + ihl > end) return this.short();
    let wireEnd = trusted ? off + total : end + this.missing;
    if (wireEnd > end + this.missing) {
      // The header claims more than the frame carried on the wire.
      p.malformed = true;
      wireEnd = end + this.missing;
    }
    const capEnd = wireEnd < end ? wireEnd : end;
    if (capEnd < wireEnd) p.truncated = true;
    const frag = (b[off + 6] << 8) | b[off + 7];
    if ((frag & 0x3fff) !== 0) {
      const k = this.reasm.key;
      k.fill(0);
      k[0] = 4;
      k[1] = (b[off + 4] << 8) | b[off + 5];
      k[2] = p.ipProto;
      k[4] = p.src[0];
      k[8] = p.dst[0];
      this.fragment(off, off + ihl, capEnd, wireEnd, (frag & 0x1fff) * 8, (frag & 0x2000) !== 0, 0, 0);
      return;
    }
    this.transport(p.ipProto, off + ihl, capEnd, wireEnd);
  }

  ipv6(off: number): void {
    const p = this.p;
    const b = p.data;
    const end = this.end;
    p.etherType = 0x86dd;
    if (off >= end) return this.short();
    p.pushLayer(Layer.IPV6);
    if (b[off] >> 4 !== 6) {
      p.malformed = true;
      return;
    }
    if (off + 40 > end) return this.short();
    const plen = (b[off + 4] << 8) | b[off + 5];
    let nh = b[off + 6];
    this.enterIp();
    p.l3Off = off;
    p.ipVersion = 6;
    p.ipTotalLen = 40 + plen;
    p.ttl = b[off + 7];
    for (let w = 0; w < 4; w++) {
      const s = off + 8 + 4 * w;
      const d = s + 16;
      p.src[w] = ((b[s] << 24) >>> 0) + (b[s + 1] << 16) + (b[s + 2] << 8) + b[s + 3];
      p.dst[w] = ((b[d] << 24) >>> 0) + (b[d + 1] << 16) + (b[d + 2] << 8) + b[d + 3];
    }
    const trusted = off >= this.untrustedBefore && !(plen === 0 && nh === 0);
    let wireEnd = trusted ? off + 40 + plen : end + this.missing;
    if (wireEnd > end + this.missing) {
      p.malformed = true;
      wireEnd = end + this.missing;
    }
    const capEnd = wireEnd < end ? wireEnd : end;
    if (capEnd < wireEnd) p.truncated = true;
    let i = off + 40;
    let nhOff = off + 6;
    // Each extension header is at least 8 bytes, so the walk ends with the packet.
    while (nh === 0 || nh === 43 || nh === 60 || nh === 51 || nh === 44) {
      if (nh === 44) {
        p.pushLayer(Layer.IPV6_FRAG);
        if (i + 8 > capEnd) return this.extCut(off, i, nh, capEnd, wireEnd);
        const fo = ((b[i + 2] << 8) | b[i + 3]) & 0xfff8;
        const more = (b[i + 3] & 1) !== 0;
        if (fo !== 0 || more) {
          p.ipProto = b[i];
          p.ipHdrLen = i + 8 - off;
          const k = this.reasm.key;
          k[0] = 6;
          k[1] = ((b[i + 4] << 24) >>> 0) + (b[i + 5] << 16) + (b[i + 6] << 8) + b[i + 7];
          k[2] = b[i];
          k[3] = ((b[off + 1] & 0x0f) << 16) | (b[off + 2] << 8) | b[off + 3];
          for (let w = 0; w < 4; w++) {
            k[4 + w] = p.src[w];
            k[8 + w] = p.dst[w];
          }
          this.fragment(off, i + 8, capEnd, wireEnd, fo, more, i, nhOff);
          return;
        }
        // An atomic fragment (offset 0, no more) is a whole datagram.
        nhOff = i;
        nh = b[i];
        i += 8;
        continue;
      }
      if (i + 2 > capEnd) return this.extCut(off, i, nh, capEnd, wireEnd);
      const len = nh === 51 ? (b[i + 1] + 2) * 4 : (b[i + 1] + 1) * 8;
      if (nh === 43) this.finalDestination(i, len, capEnd);
      nhOff = i;
      nh = b[i];
      i += len;
    }
    p.ipProto = nh;
    p.ipHdrLen = i - off;
    if (i > capEnd) {
      if (i > wireEnd) p.malformed = true;
      else p.truncated = true;
      return;
    }
    this.transport(nh, i, capEnd, wireEnd);
  }

  /**
   * A routing header with segments left names the packet's final destination: type 0's last
   * address, type 2's one address (Mobile IPv6 home address) or type 4's segment list[0] (SRv6,
   * RFC 8754, whose list is in reverse order). Other types, or an address cut by the snaplen, leave
   * the header's destination as the transport's.
   */
  private finalDestination(i: number, len: number, capEnd: number): void {
    const p = this.p;
    const b = p.data;
    if (i + 4 > capEnd || b[i + 3] === 0) return;
    const type = b[i + 2];
    let a: number;
    if (type === 0) a = i + 8 + 16 * ((b[i + 1] >> 1) - 1);
    else if (type === 2 || type === 4) a = i + 8;
    else return;
    if (a < i + 8 || a + 16 > i + len || a + 16 > capEnd) return;
    const f = p.finalDst;
    let same = true;
    for (let w = 0; w < 4; w++) {
      const o = a + 4 * w;
      f[w] = ((b[o] << 24) >>> 0) + (b[o + 1] << 16) + (b[o + 2] << 8) + b[o + 3];
      if (f[w] !== p.dst[w]) same = false;
    }
    p.routed = !same;
  }

  private extCut(off: number, i: number, nh: number, capEnd: number, wireEnd: number): void {
    this.p.ipProto = nh;
    this.p.ipHdrLen = i - off;
    this.cut(capEnd, wireEnd);
  }

  /** A fragment: show its bytes as data and hand it to the reassembler (key already filled). */
  private fragment(
    l3: number,
    payOff: number,
    capEnd: number,
    wireEnd: number,
    fo: number,
    more: boolean,
    fragHdrOff: number,
    nhOff: number,
  ): void {
    const p = this.p;
    p.isFragment = true;
    p.payloadOff = payOff;
    p.payloadLen = capEnd - payOff;
    p.payloadWireLen = wireEnd - payOff;
    if (p.truncated || p.malformed || payOff > capEnd) return;
    const head = fragHdrOff > 0 ? fragHdrOff : payOff;
    const frame = this.reasm.add(
      this.ts,
      p.data,
      payOff,
      capEnd - payOff,
      fo,
      more,
      head,
      l3,
      nhOff,
      p.ipProto,
    );
    if (frame !== null) {
      this.pendingFrame = frame;
      this.pendingL3Off = l3;
    }
  }

  protected transport(proto: number, off: number, capEnd: number, wireEnd: number): void {
    const p = this.p;
    switch (proto) {
      case 6:
        decodeTcp(p, off, capEnd, wireEnd);
        return;
      case 17:
        if (decodeUdp(p, off, capEnd, wireEnd, off >= this.untrustedBefore)) {
          if (p.dstPort === 4789 || p.srcPort === 4789) this.vxlan(p.payloadOff, p.payloadOff + p.payloadLen);
          else if (p.dstPort === 2152 || p.srcPort === 2152) {
            this.gtpu(p.payloadOff, p.payloadOff + p.payloadLen);
          }
        }
        return;
      case 1:
        decodeIcmp(p, Layer.ICMP, off, capEnd, wireEnd);
        return;
      case 58:
        decodeIcmp(p, Layer.ICMPV6, off, capEnd, wireEnd);
        return;
      case 2:
        decodeIgmp(p, off, capEnd, wireEnd);
        return;
      case 47:
        this.gre(off, capEnd, wireEnd);
        return;
      case 4:
      case 41:
        if (!this.enterTunnel(Layer.IPIP, 0, capEnd, wireEnd)) return;
        if (proto === 4) this.ipv4(off);
        else this.ipv6(off);
        return;
      case 132:
      case 50: {
        p.pushLayer(proto === 132 ? Layer.SCTP : Layer.ESP);
        p.l4Off = off;
        if (proto === 132 && off + 4 <= capEnd) {
          p.srcPort = (p.data[off] << 8) | p.data[off + 1];
          p.dstPort = (p.data[off + 2] << 8) | p.data[off + 3];
        }
        break;
      }
    }
    p.payloadOff = off;
    p.payloadLen = capEnd - off;
    p.payloadWireLen = wireEnd - off;
  }

  /** Narrows the readable bytes to a tunnel's payload; false when nested too deep. */
  protected enterTunnel(
    layer: number,
    id: number,
    capEnd: number,
    wireEnd: number,
    bothWays = true,
  ): boolean {
    if (++this.nest > MAX_NEST) {
      this.p.malformed = true;
      return false;
    }
    this.tunnelLayer = layer;
    this.tunnelId = id;
    this.tunnelBothWays = bothWays;
    this.end = capEnd;
    this.missing = wireEnd - capEnd;
    return true;
  }

  protected cut(capEnd: number, wireEnd: number): void {
    if (capEnd < wireEnd) this.p.truncated = true;
    else this.p.malformed = true;
  }
}
