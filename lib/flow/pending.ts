import { Packet } from "../packet/packet.ts";
import type { PhsNode } from "./phs.ts";

/** Bytes of frames a flow may hold while its classification is pending. */
export const PENDING_BYTES_PER_FLOW = 4096;

/**
 * Frames a flow saw before its decoder was known (RTP needs two packets to be sure, a port hint
 * needs several). They are copied (only on this rare path, bounded per flow) so that once the
 * classifier settles they are decoded and counted like every later frame; otherwise the first
 * packets of every stream would be missing from the encoding and packet-type statistics.
 */
export class PendingFrames {
  readonly packets: Packet[] = [];
  readonly times: number[] = [];
  readonly phsNodes: PhsNode[] = [];
  bytes = 0;
  /** Frames that did not fit in the budget: they stay uncounted at the encoding level. */
  dropped = 0;

  keep(p: Packet, t: number, phsLeaf: PhsNode): void {
    if (this.bytes + p.data.length > PENDING_BYTES_PER_FLOW) {
      this.dropped++;
      return;
    }
    this.bytes += p.data.length;
    this.packets.push(snapshot(p));
    this.times.push(t);
    this.phsNodes.push(phsLeaf);
  }
}

/** A deep copy of a decoded Packet: its own data buffer and typed arrays. */
export function snapshot(p: Packet): Packet {
  const q = new Packet();
  const src = p as unknown as Record<string, unknown>;
  const dst = q as unknown as Record<string, unknown>;
  for (const k of Object.keys(src)) {
    const v = src[k];
    if (k === "data") dst[k] = (v as Uint8Array).slice();
    else if (ArrayBuffer.isView(v)) (dst[k] as Uint8Array).set(v as Uint8Array);
    else dst[k] = v;
  }
  return q;
}
