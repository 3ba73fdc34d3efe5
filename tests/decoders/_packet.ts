/**
 * Test helper: fill a Packet by hand around payload bytes (as the packet decoder would for a UDP,
 * TCP or raw-Ethernet payload), so decoder tests need no link/network layer code.
 */
import { Packet } from "../../lib/packet/packet.ts";

export interface FakeOpts {
  proto?: "udp" | "tcp" | "ether";
  srcPort?: number;
  dstPort?: number;
  etherType?: number;
  /** Arrival time in seconds (split into tsSec/tsNsec). */
  t?: number;
  /** Bytes on the wire when the capture cut the payload (defaults to the payload length). */
  wireLen?: number;
  /** Bytes before the payload (to check that decoders honour payloadOff). */
  headroom?: number;
}

export function fakePacket(payload: Uint8Array, o: FakeOpts = {}): Packet {
  const p = new Packet();
  const head = o.headroom ?? 42;
  const data = new Uint8Array(head + payload.length);
  data.set(payload, head);
  p.data = data;
  p.caplen = data.length;
  p.origLen = head + (o.wireLen ?? payload.length);
  const t = o.t ?? 1000;
  p.tsSec = Math.floor(t);
  p.tsNsec = Math.round((t - Math.floor(t)) * 1e9);
  const proto = o.proto ?? "udp";
  if (proto === "ether") {
    p.etherType = o.etherType ?? 0x88f7;
    p.ipVersion = 0;
    p.ipProto = -1;
  } else {
    p.etherType = 0x0800;
    p.ipVersion = 4;
    p.ipProto = proto === "udp" ? 17 : 6;
    p.srcPort = o.srcPort ?? 40000;
    p.dstPort = o.dstPort ?? 40002;
    p.l4Off = head - (proto === "udp" ? 8 : 20);
  }
  p.payloadOff = head;
  p.payloadLen = payload.length;
  p.payloadWireLen = o.wireLen ?? payload.length;
  return p;
}

/** Big-endian byte writer for building protocol messages in tests. */
export class Bytes {
  readonly a: number[] = [];
  u8(...v: number[]): this {
    for (const x of v) this.a.push(x & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v >> 8, v);
  }
  u32(v: number): this {
    return this.u8(v >>> 24, v >>> 16, v >>> 8, v);
  }
  zeros(n: number): this {
    for (let i = 0; i < n; i++) this.a.push(0);
    return this;
  }
  ascii(s: string): this {
    for (let i = 0; i < s.length; i++) this.a.push(s.charCodeAt(i));
    return this;
  }
  get length(): number {
    return this.a.length;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.a);
  }
}
