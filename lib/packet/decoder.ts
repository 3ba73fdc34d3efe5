/**
 * PacketDecoder: one CaptureRecord in, one reused Packet filled with offsets and numbers out.
 * This file holds the link layer (Ethernet, 802.3/LLC, VLAN stacks, MPLS, Linux SLL/SLL2, BSD
 * NULL/LOOP, raw IP, ARP); tunnels.ts GRE/PPP/VXLAN/GTP-U; network.ts the IP layers;
 * transport.ts TCP/UDP/ICMP/IGMP.
 * Nothing here throws on packet content: short or inconsistent headers set `truncated` or
 * `malformed` and decoding stops at that layer.
 */
import type { CaptureRecord } from "../capture/record.ts";
import { type FragmentOptions, FragmentReassembler } from "./fragments.ts";
import { Layer } from "./layers.ts";
import type { Packet } from "./packet.ts";
import { TunnelDecoder } from "./tunnels.ts";

export type PacketDecoderOptions = FragmentOptions;
export type { FragmentStats } from "./fragments.ts";

export class PacketDecoder extends TunnelDecoder {
  constructor(opts: PacketDecoderOptions = {}) {
    super(new FragmentReassembler(opts));
  }

  /** Drops datagrams whose first fragment is older than the timeout at packet time `tsSec`. */
  expireFragments(tsSec: number): void {
    this.reasm.expire(tsSec);
  }

  /** Drops every datagram still in progress (end of input); they count as timed out. */
  flushFragments(): void {
    this.reasm.flush();
  }

  decode(rec: CaptureRecord, out: Packet): void {
    out.reset(rec);
    this.p = out;
    const cap = rec.data.length;
    let wire = rec.origLen > cap ? rec.origLen : cap;
    let end = cap;
    if (rec.fcsLen > 0 && wire >= rec.fcsLen) {
      wire -= rec.fcsLen;
      if (end > wire) end = wire;
    }
    this.end = end;
    this.missing = wire - end;
    this.untrustedBefore = 0;
    this.tunnelLayer = 0;
    this.tunnelId = 0;
    this.tunnelBothWays = true;
    this.nest = 0;
    this.ts = rec.tsSec + rec.tsNsec * 1e-9;
    this.pendingFrame = null;
    this.link(rec.linkType);
    if (out.ipVersion === 0 && out.hasMac) this.macWords(out);
    // A fragment completed a datagram: decode the rebuilt frame in its place (nested fragmentation
    // inside a tunnel can complete a second one from it).
    for (let round = 0; this.pendingFrame !== null && round < 4; round++) {
      const frame: Uint8Array = this.pendingFrame;
      this.pendingFrame = null;
      out.reset(rec);
      out.data = frame;
      out.reassembled = true;
      this.end = frame.length;
      this.missing = 0;
      this.untrustedBefore = this.pendingL3Off;
      this.tunnelLayer = 0;
      this.tunnelId = 0;
      this.tunnelBothWays = true;
      this.nest = 0;
      this.link(rec.linkType);
      out.reassembled = true;
    }
  }

  /** Frames without IP are keyed on MAC addresses: words 0-1 of src/dst (Packet's contract). */
  private macWords(p: Packet): void {
    const b = p.data;
    let o = p.srcMacOff;
    if (o >= 0 && o + 6 <= b.length) {
      p.src[0] = ((b[o] << 24) >>> 0) + (b[o + 1] << 16) + (b[o + 2] << 8) + b[o + 3];
      p.src[1] = (b[o + 4] << 8) | b[o + 5];
    }
    o = p.dstMacOff;
    if (o >= 0 && o + 6 <= b.length) {
      p.dst[0] = ((b[o] << 24) >>> 0) + (b[o + 1] << 16) + (b[o + 2] << 8) + b[o + 3];
      p.dst[1] = (b[o + 4] << 8) | b[o + 5];
    }
  }

  private link(linkType: number): void {
    const p = this.p;
    const b = p.data;
    switch (linkType) {
      case 1:
        return this.ethernet(0);
      case 113: {
        p.pushLayer(Layer.SLL);
        p.l2Off = 0;
        if (this.end < 16) return this.short();
        if (((b[4] << 8) | b[5]) === 6) {
          p.hasMac = true;
          p.srcMacOff = 6;
        }
        return this.sllProto((b[2] << 8) | b[3], (b[14] << 8) | b[15], 16);
      }
      case 276: {
        p.pushLayer(Layer.SLL2);
        p.l2Off = 0;
        if (this.end < 20) return this.short();
        if (b[11] === 6) {
          p.hasMac = true;
          p.srcMacOff = 12;
        }
        return this.sllProto((b[8] << 8) | b[9], (b[0] << 8) | b[1], 20);
      }
      case 0:
      case 108: {
        p.pushLayer(Layer.NULL);
        p.l2Off = 0;
        if (this.end < 4) return this.short();
        let af = linkType === 108
          ? ((b[0] << 24) >>> 0) + (b[1] << 16) + (b[2] << 8) + b[3]
          : (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
        // DLT_NULL is in the capturing host's order; a value with high bits set was big-endian.
        if (af > 0xffff) af = ((b[0] << 24) >>> 0) + (b[1] << 16) + (b[2] << 8) + b[3];
        if (af === 2) return this.ipv4(4);
        if (af === 10 || af === 24 || af === 28 || af === 30) return this.ipv6(4);
        return this.rest(4);
      }
      case 101:
        p.pushLayer(Layer.RAW);
        return this.rawIp();
      case 228:
        return this.ipv4(0);
      case 229:
        return this.ipv6(0);
    }
  }

  private rawIp(): void {
    if (this.end === 0) return this.short();
    const v = this.p.data[0] >> 4;
    if (v === 4) this.ipv4(0);
    else if (v === 6) this.ipv6(0);
    else this.p.malformed = true;
  }

  /**
   * Linux cooked capture protocol field: an EtherType (also for ARPHRD_IPGRE, where it is the GRE
   * protocol type), 0x0004 for 802.2 LLC frames; netlink (ARPHRD 824) carries a netlink family.
   */
  private sllProto(arphrd: number, proto: number, off: number): void {
    if (arphrd === 824) return this.rest(off);
    if (proto >= 0x0600) return this.ether(proto, off);
    if (proto === 0x0004) {
      this.p.pushLayer(Layer.LLC);
      return this.rest(off);
    }
    this.rest(off);
  }

  ethernet(off: number): void {
    const p = this.p;
    const b = p.data;
    if (off >= this.end) return this.short();
    p.pushLayer(Layer.ETH);
    if (off + 14 > this.end) return this.short();
    if (p.l2Off < 0) p.l2Off = off;
    if (p.hasMac) {
      // Ethernet inside a tunnel: the outer pair is a conversation of its own, as in tshark.
      p.outerSrcMacOff = p.srcMacOff;
      p.outerDstMacOff = p.dstMacOff;
    }
    p.hasMac = true;
    p.dstMacOff = off;
    p.srcMacOff = off + 6;
    const type = (b[off + 12] << 8) | b[off + 13];
    if (type <= 1500) {
      // IEEE 802.3: a length, then 802.2 LLC; the length trims the Ethernet padding.
      p.pushLayer(Layer.LLC);
      const len = off + 14 + type;
      if (len > this.end + this.missing) p.malformed = true;
      else if (len > this.end) p.truncated = true;
      p.payloadOff = off + 14;
      p.payloadLen = (len < this.end ? len : this.end) - off - 14;
      p.payloadWireLen = type;
      return;
    }
    if (type < 0x0600) {
      p.malformed = true;
      return;
    }
    this.ether(type, off + 14);
  }

  /** EtherType dispatch after Ethernet / SLL: VLAN tags (any depth), then the network layer. */
  private ether(type: number, off: number): void {
    const p = this.p;
    const b = p.data;
    while (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
      p.pushLayer(type === 0x88a8 ? Layer.QINQ : Layer.VLAN);
      if (off + 4 > this.end) {
        p.etherType = type;
        return this.short();
      }
      if (p.vlanCount < 4) p.vlanIds[p.vlanCount++] = ((b[off] << 8) | b[off + 1]) & 0x0fff;
      type = (b[off + 2] << 8) | b[off + 3];
      off += 4;
    }
    p.etherType = type;
    switch (type) {
      case 0x0800:
        return this.ipv4(off);
      case 0x86dd:
        return this.ipv6(off);
      case 0x0806:
      case 0x8035: // RARP: tshark's arp dissector handles it too
        p.pushLayer(Layer.ARP);
        if (off + 8 > this.end || off + 8 + 2 * (b[off + 4] + b[off + 5]) > this.end) return this.short();
        return this.rest(off);
      case 0x8847:
      case 0x8848:
        return this.mpls(off);
      case 0x6558:
        return this.ethernet(off);
      case 0x880b:
        return this.ppp(off);
    }
    this.rest(off);
  }

  /** MPLS label stack to bottom-of-stack, then IPv4/IPv6 by first nibble, or an Ethernet pseudowire. */
  private mpls(off: number): void {
    const p = this.p;
    const b = p.data;
    p.pushLayer(Layer.MPLS);
    for (;;) {
      if (off + 4 > this.end) return this.short();
      if (p.mplsCount === 0) p.mplsLabel = (b[off] << 12) | (b[off + 1] << 4) | (b[off + 2] >> 4);
      p.mplsCount++;
      off += 4;
      if ((b[off - 2] & 1) !== 0) break;
    }
    if (off >= this.end) return this.short();
    const nibble = b[off] >> 4;
    if (nibble === 4) return this.ipv4(off);
    if (nibble === 6) return this.ipv6(off);
    if (nibble === 0 && off + 4 <= this.end && b[off + 1] === 0) {
      // RFC 4385 control word 0000: an Ethernet pseudowire follows.
      return this.ethernet(off + 4);
    }
    this.rest(off);
  }
}
