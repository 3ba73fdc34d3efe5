/// <reference lib="deno.worker" />
/**
 * One shard of bench/shard_experiment.ts: reads the whole file, decodes every frame to find its
 * flow, and analyses only the flows whose symmetric key hash falls in this shard.
 */
import { readCapture } from "../../lib/capture/mod.ts";
import { PacketDecoder } from "../../lib/packet/decoder.ts";
import { Packet } from "../../lib/packet/packet.ts";
import { KeyBuilder } from "../../lib/flow/key.ts";
import { Analyzer } from "../../lib/flow/analyzer.ts";
import { buildReport } from "../../lib/flow/report.ts";

self.onmessage = async (e: MessageEvent<{ file: string; index: number; count: number }>) => {
  const { file, index, count } = e.data;
  const a = new Analyzer();
  const d = new PacketDecoder();
  const p = new Packet();
  const kb = new KeyBuilder();
  await readCapture(file, (rec) => {
    d.decode(rec, p);
    const owned = kb.build(p) ? kb.hash % count === index : index === 0;
    if (owned) a.record(rec);
  });
  a.finish();
  const r = buildReport(a, { files: [] });
  self.postMessage({ packets: r.summary.packets, flows: r.summary.flows });
};
