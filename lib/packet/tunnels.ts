/**
 * Tunnels that lead back into an inner IP or Ethernet header: GRE (RFC 2784/2890 and PPTP's
 * enhanced GRE, RFC 2637) with PPP, VXLAN (RFC 7348) and GTP-U v1 (3GPP TS 29.281). Entering a
 * tunnel narrows the readable bytes to its payload and records the tunnel for the inner IP.
 */
import { Layer } from "./layers.ts";
import { NetworkDecoder } from "./network.ts";

export abstract class TunnelDecoder extends NetworkDecoder {
  protected gre(off: number, capEnd: number, wireEnd: number): void {
    const p = this.p;
    const b = p.data;
    p.pushLayer(Layer.GRE);
    p.l4Off = off;
    if (off + 4 > capEnd) {
      if (capEnd < wireEnd) p.truncated = true;
      else p.malformed = true;
      return;
    }
    const flags = (b[off] << 8) | b[off + 1];
    const proto = (b[off + 2] << 8) | b[off + 3];
    let i = off + 4;
    let key = 0;
    if ((flags & 7) === 0) {
      if ((flags & 0xc000) !== 0) i += 4; // checksum (C) or routing (R) brings checksum + offset
      if ((flags & 0x2000) !== 0) {
        if (i + 4 <= capEnd) key = ((b[i] << 24) >>> 0) + (b[i + 1] << 16) + (b[i + 2] << 8) + b[i + 3];
        i += 4;
      }
      if ((flags & 0x1000) !== 0) i += 4;
      if ((flags & 0x4000) !== 0) {
        // RFC 1701 source routing (deprecated): the payload's place is not worth chasing.
        this.rest(i);
        return;
      }
    } else if ((flags & 7) === 1) {
      // RFC 2637 enhanced GRE: key = payload length (16) + call id (16), optional seq and ack.
      if ((flags & 0x2000) === 0 || proto !== 0x880b) {
        p.malformed = true;
        return;
      }
      if (i + 4 <= capEnd) key = (b[i + 2] << 8) | b[i + 3];
      i += 4;
      if ((flags & 0x1000) !== 0) i += 4;
      if ((flags & 0x0080) !== 0) i += 4;
    } else {
      p.malformed = true;
      return;
    }
    if (i > capEnd) {
      if (i > wireEnd) p.malformed = true;
      else p.truncated = true;
      return;
    }
    p.tunnelId = key;
    p.payloadOff = i;
    p.payloadLen = capEnd - i;
    p.payloadWireLen = wireEnd - i;
    if (proto !== 0x0800 && proto !== 0x86dd && proto !== 0x6558 && proto !== 0x880b) return;
    if (i >= capEnd) {
      // PPTP acknowledgements carry no payload; anything else here was cut by the snaplen.
      if (wireEnd > capEnd) p.truncated = true;
      return;
    }
    // PPTP's enhanced GRE carries the peer's call id: not the same both ways (see Packet.tunnelKey).
    if (!this.enterTunnel(Layer.GRE, key, capEnd, wireEnd, (flags & 7) !== 1)) return;
    if (proto === 0x0800) this.ipv4(i);
    else if (proto === 0x86dd) this.ipv6(i);
    else if (proto === 0x6558) this.ethernet(i);
    else this.ppp(i);
  }

  /** PPP inside GRE (PPTP): optional address/control bytes, then a 1- or 2-byte protocol field. */
  ppp(off: number): void {
    const p = this.p;
    const b = p.data;
    p.pushLayer(Layer.PPP);
    let i = off;
    if (i + 2 <= this.end && b[i] === 0xff && b[i + 1] === 0x03) i += 2;
    if (i >= this.end) return this.short();
    let proto = b[i];
    if ((proto & 1) === 0) {
      if (i + 2 > this.end) return this.short();
      proto = (proto << 8) | b[i + 1];
      i += 2;
    } else i++;
    if (proto === 0x21) this.ipv4(i);
    else if (proto === 0x57) this.ipv6(i);
    else this.rest(i);
  }

  protected vxlan(off: number, capEnd: number): void {
    const p = this.p;
    const b = p.data;
    p.pushLayer(Layer.VXLAN);
    const wireEnd = off + p.payloadWireLen;
    if (off + 8 > capEnd) {
      if (capEnd < wireEnd) p.truncated = true;
      else p.malformed = true;
      return;
    }
    const vni = (b[off + 4] << 16) | (b[off + 5] << 8) | b[off + 6];
    p.tunnelId = vni;
    if (!this.enterTunnel(Layer.VXLAN, vni, capEnd, wireEnd)) return;
    this.ethernet(off + 8);
  }

  /** GTP-U v1 (3GPP TS 29.281): T-PDUs carry an inner IP packet after optional extension headers. */
  protected gtpu(off: number, capEnd: number): void {
    const p = this.p;
    const b = p.data;
    const wireEnd = off + p.payloadWireLen;
    if (off >= capEnd || b[off] >> 5 !== 1 || (b[off] & 0x10) === 0) return; // not GTP-U v1: leave as UDP payload
    p.pushLayer(Layer.GTP);
    if (off + 8 > capEnd) {
      if (capEnd < wireEnd) p.truncated = true;
      else p.malformed = true;
      return;
    }
    const type = b[off + 1];
    const teid = ((b[off + 4] << 24) >>> 0) + (b[off + 5] << 16) + (b[off + 6] << 8) + b[off + 7];
    p.tunnelId = teid;
    let i = off + 8;
    if ((b[off] & 0x07) !== 0) {
      if (i + 4 > capEnd) return this.cut(capEnd, wireEnd);
      let next = b[i + 3];
      i += 4;
      while (next !== 0) {
        if (i >= capEnd) return this.cut(capEnd, wireEnd);
        const len = b[i] * 4;
        if (len === 0) {
          p.malformed = true;
          return;
        }
        if (i + len > capEnd) return this.cut(capEnd, wireEnd);
        next = b[i + len - 1];
        i += len;
      }
    }
    p.payloadOff = i;
    p.payloadLen = capEnd - i;
    p.payloadWireLen = wireEnd - i;
    if (type !== 0xff) return;
    if (i >= capEnd) {
      if (wireEnd > capEnd) p.truncated = true;
      return;
    }
    const v = b[i] >> 4;
    if (v !== 4 && v !== 6) return;
    // Each direction of a bearer has its own TEID (see Packet.tunnelKey).
    if (!this.enterTunnel(Layer.GTP, teid, capEnd, wireEnd, false)) return;
    if (v === 4) this.ipv4(i);
    else this.ipv6(i);
  }
}
