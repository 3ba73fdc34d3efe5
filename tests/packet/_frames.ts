/** Shared helpers for the packet tests: records from bytes, decode in one call, layer names. */
import { CaptureRecord } from "../../lib/capture/record.ts";
import { PacketDecoder, type PacketDecoderOptions } from "../../lib/packet/decoder.ts";
import { LAYER_NAMES } from "../../lib/packet/layers.ts";
import { Packet } from "../../lib/packet/packet.ts";

export function record(
  data: Uint8Array,
  o: { linkType?: number; origLen?: number; tsSec?: number; fcsLen?: number; index?: number } = {},
): CaptureRecord {
  const r = new CaptureRecord();
  r.data = data;
  r.origLen = o.origLen ?? data.length;
  r.linkType = o.linkType ?? 1;
  r.tsSec = o.tsSec ?? 1;
  r.fcsLen = o.fcsLen ?? 0;
  r.index = o.index ?? 0;
  return r;
}

export function decode(
  data: Uint8Array,
  o: { linkType?: number; origLen?: number; fcsLen?: number } = {},
  dec: PacketDecoder = new PacketDecoder(),
): Packet {
  const p = new Packet();
  dec.decode(record(data, o), p);
  return p;
}

export function decodeWith(opts: PacketDecoderOptions): PacketDecoder {
  return new PacketDecoder(opts);
}

/** Layer stack as tshark-like names joined by ":". */
export function stack(p: Packet): string {
  return Array.from(p.layers.subarray(0, p.depth)).map((id) => LAYER_NAMES[id] ?? `#${id}`).join(":");
}

export function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g) ?? [], (x) => parseInt(x, 16));
}
