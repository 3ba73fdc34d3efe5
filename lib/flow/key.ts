import type { Packet } from "../packet/packet.ts";

/**
 * The canonical bidirectional flow key, as KEY_WORDS unsigned 32-bit words:
 *   0      meta: kind (2 bits) | ipVersion flag | proto (8) | outer VLAN id (12)
 *   1..4   endpoint A address (IPv4 in word 1; IPv6 in 1..4; MACs for L2 flows)
 *   5..8   endpoint B address
 *   9      portA << 16 | portB (EtherType in the low half for L2 flows)
 *   10     tunnel id (VXLAN VNI, GRE key) so equal inner tuples in different tunnels stay apart; 0
 *          for GTP-U TEIDs and PPTP call ids, which differ by direction (Packet.tunnelKey)
 * A is the lower (address, port) pair, so both directions of a conversation hash alike; the
 * builder reports whether the packet's source is A.
 */
export const KEY_WORDS = 11;

export const FlowKind = { IP: 1, L2: 2 } as const;

/** Reusable key scratch: `words` is overwritten by every build. */
export class KeyBuilder {
  readonly words: Uint32Array = new Uint32Array(KEY_WORDS);
  /** True when the packet's source endpoint is endpoint A of the key. */
  srcIsA = true;
  hash = 0;

  /** Fills `words` from a decoded packet; returns false when the packet has no usable endpoints. */
  build(p: Packet): boolean {
    const w = this.words;
    const vlan = p.vlanCount > 0 ? p.vlanIds[0] & 0xfff : 0;
    if (p.ipVersion !== 0) {
      // Non-final fragments have no ports: key them apart (proto 255) so they never pose as a
      // UDP/TCP conversation; the frame completing the datagram joins the real flow.
      const proto = p.ipProto < 0 || p.isFragment ? 255 : p.ipProto & 0xff;
      w[0] = (FlowKind.IP << 30) | ((p.ipVersion === 6 ? 1 : 0) << 29) | (proto << 12) | vlan;
      // An IPv6 routing header's final destination is the transport's peer (what tshark's TCP and
      // UDP conversations and Zeek's connections use): both directions of an SRv6 path meet.
      const s = p.src, d = p.transportDst;
      const sp = p.srcPort, dp = p.dstPort;
      // Order endpoints: compare addresses word by word, then ports.
      let cmp = 0;
      for (let i = 0; i < 4 && cmp === 0; i++) cmp = s[i] === d[i] ? 0 : (s[i] < d[i] ? -1 : 1);
      if (cmp === 0) cmp = sp === dp ? 0 : (sp < dp ? -1 : 1);
      const a = cmp <= 0;
      this.srcIsA = a;
      if (a) {
        w[1] = s[0], w[2] = s[1], w[3] = s[2], w[4] = s[3];
        w[5] = d[0], w[6] = d[1], w[7] = d[2], w[8] = d[3];
        w[9] = ((sp << 16) | dp) >>> 0;
      } else {
        w[1] = d[0], w[2] = d[1], w[3] = d[2], w[4] = d[3];
        w[5] = s[0], w[6] = s[1], w[7] = s[2], w[8] = s[3];
        w[9] = ((dp << 16) | sp) >>> 0;
      }
      w[10] = p.tunnelKey >>> 0;
    } else {
      // Non-IP frame: key on the MAC pair and the EtherType (ARP, PTP over Ethernet, EtherCAT...).
      const b = p.data;
      let s0 = 0, s1 = 0, d0 = 0, d1 = 0;
      if (p.srcMacOff >= 0 && p.srcMacOff + 6 <= b.length) {
        const o = p.srcMacOff;
        s0 = ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
        s1 = (b[o + 4] << 8) | b[o + 5];
      }
      if (p.dstMacOff >= 0 && p.dstMacOff + 6 <= b.length) {
        const o = p.dstMacOff;
        d0 = ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
        d1 = (b[o + 4] << 8) | b[o + 5];
      }
      if (s0 === 0 && s1 === 0 && d0 === 0 && d1 === 0 && p.etherType === 0) return false;
      w[0] = (FlowKind.L2 << 30) | vlan;
      const a = s0 < d0 || (s0 === d0 && s1 <= d1);
      this.srcIsA = a;
      if (a) w[1] = s0, w[2] = s1, w[5] = d0, w[6] = d1;
      else w[1] = d0, w[2] = d1, w[5] = s0, w[6] = s1;
      w[3] =
        w[4] =
        w[7] =
        w[8] =
          0;
      w[9] = p.etherType & 0xffff;
      w[10] = 0;
    }
    let h = 0x811c9dc5 | 0;
    for (let i = 0; i < KEY_WORDS; i++) {
      h = Math.imul(h ^ w[i], 0x01000193);
      h ^= h >>> 15;
    }
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h ^= h >>> 13;
    this.hash = h >>> 0;
    return true;
  }
}

export function keyKind(meta: number): number {
  return meta >>> 30;
}
export function keyIsIpv6(meta: number): boolean {
  return ((meta >>> 29) & 1) === 1;
}
export function keyProto(meta: number): number {
  return (meta >>> 12) & 0xff;
}
export function keyVlan(meta: number): number {
  return meta & 0xfff;
}
