/**
 * Test helper: run a capture through lib/capture, lib/packet and the decoder registry the way the
 * flow table does (one FlowClassifier per flow, replaying what was probed before settling), and
 * ask tshark for its RTP streams. Flow keys are strings here: simple, and fast enough for tests.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { readCapture } from "../../lib/capture/mod.ts";
import type { CaptureRecord } from "../../lib/capture/record.ts";
import { Packet } from "../../lib/packet/packet.ts";
import type { Carrier, Decoder } from "../../decoders/decoder.ts";
import { defaultRegistry, type FlowClassifier } from "../../decoders/registry.ts";

interface FrameDecoder {
  decode(rec: CaptureRecord, out: Packet): void;
}

const decoderUrl = new URL("../../lib/packet/decoder.ts", import.meta.url);
export const havePacketDecoder = existsSync(fileURLToPath(decoderUrl));

async function frameDecoder(): Promise<FrameDecoder> {
  // Imported by URL so this file still type-checks while lib/packet is being written.
  const mod = await import(decoderUrl.href) as { PacketDecoder: new () => FrameDecoder };
  return new mod.PacketDecoder();
}

export interface FlowRun {
  classifier: FlowClassifier;
  decoder: Decoder | null;
  state: unknown;
}

export interface Run {
  /** Packets each decoder decoded (type >= 0), by phsName. */
  packets: Record<string, number>;
  /** Per phsName, per packet type name. */
  types: Record<string, Record<string, number>>;
  malformed: Record<string, number>;
  flows: FlowRun[];
}

function addType(run: Run, d: Decoder, type: number): void {
  if (type < 0) {
    run.malformed[d.phsName] = (run.malformed[d.phsName] ?? 0) + 1;
    return;
  }
  run.packets[d.phsName] = (run.packets[d.phsName] ?? 0) + 1;
  const t = (run.types[d.phsName] ??= {});
  const name = d.packetTypes[type];
  t[name] = (t[name] ?? 0) + 1;
}

function flowKey(p: Packet, carrier: Carrier): string {
  if (carrier === "ether") {
    const b = p.data;
    const mac = (o: number) => o < 0 ? "" : Array.from(b.subarray(o, o + 6)).join(":");
    const [x, y] = [mac(p.srcMacOff), mac(p.dstMacOff)].sort();
    return `ether ${p.etherType} ${x} ${y}`;
  }
  const a = `${Array.from(p.src).join(".")}/${p.srcPort}`;
  const b = `${Array.from(p.dst).join(".")}/${p.dstPort}`;
  return `${carrier} ${p.tunnel} ${a < b ? a + " " + b : b + " " + a}`;
}

export async function analyze(path: string): Promise<Run> {
  const registry = defaultRegistry();
  const dec = await frameDecoder();
  const p = new Packet();
  const flows = new Map<string, FlowRun>();
  const run: Run = { packets: {}, types: {}, malformed: {}, flows: [] };
  const settle = (f: FlowRun) => {
    const r = f.classifier.result;
    if (r === null) return;
    f.decoder = r.decoder;
    f.state = f.classifier.primedState;
    for (const x of f.classifier.replayed) addType(run, r.decoder, x.type);
  };
  await readCapture(path, (rec) => {
    dec.decode(rec, p);
    if (p.payloadOff < 0 || p.payloadLen === 0 || p.isFragment) return;
    let carrier: Carrier;
    if (p.ipVersion === 0) carrier = "ether";
    else if (p.ipProto === 17) carrier = "udp";
    else if (p.ipProto === 6) carrier = "tcp";
    else return;
    const key = flowKey(p, carrier);
    let f = flows.get(key);
    if (f === undefined) {
      f = { classifier: registry.classifier(carrier, undefined, true), decoder: null, state: undefined };
      flows.set(key, f);
      run.flows.push(f);
    }
    if (f.decoder === null) {
      if (f.classifier.settled) return;
      f.classifier.offer(p);
      if (!f.classifier.settled) return;
      settle(f);
      if (f.decoder === null) return;
    }
    addType(run, f.decoder!, f.decoder!.decode(p, f.state));
  });
  for (const f of run.flows) {
    if (!f.classifier.settled) {
      f.classifier.finish();
      settle(f);
    }
  }
  return run;
}

export interface StreamFact {
  ssrc: number;
  packets: number;
  lost: number;
}

export function tsharkRtpStreams(path: string): StreamFact[] {
  const out = new Deno.Command("tshark", {
    // T.38 is disabled because SDP in the fax call moves the RTP port to T.38 and tshark then
    // decodes 27 packets that are RTP on the wire (version 2, same SSRC, next sequence) as malformed T.38.
    args: [
      "-r",
      path,
      "-q",
      "--enable-heuristic",
      "rtp_udp",
      "--disable-protocol",
      "t38",
      "-z",
      "rtp,streams",
    ],
    stdout: "piped",
    stderr: "null",
  }).outputSync();
  const facts: StreamFact[] = [];
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    // ... SrcPort DstIP DstPort 0xSSRC Payload... Pkts Lost (x%) ...
    const m = /\s(0x[0-9A-Fa-f]{8})\s+.*?\s(\d+)\s+(-?\d+)\s+\((-?[\d.]+)%\)/.exec(line);
    if (m !== null) facts.push({ ssrc: parseInt(m[1], 16), packets: Number(m[2]), lost: Number(m[3]) });
  }
  return facts.sort((a, b) => a.ssrc - b.ssrc);
}
