/**
 * mpp as a library: the pieces the CLI is built from, for scripts and plugins.
 *
 * ```ts
 * import { analyzeFiles } from "./mod.ts";
 * const { report } = await analyzeFiles(["capture.pcapng"]);
 * console.log(report.summary.packets, report.flows[0].label);
 * ```
 */
export { MppError } from "./lib/errors.ts";
export * from "./lib/capture/mod.ts";
export { Packet, TcpFlag } from "./lib/packet/packet.ts";
export { EtherType, IpProto, Layer, LAYER_NAMES, LinkType } from "./lib/packet/layers.ts";
export { PacketDecoder } from "./lib/packet/decoder.ts";
export type { Carrier, Decoder, Evidence, Probe } from "./decoders/decoder.ts";
export { DecoderRegistry, defaultRegistry, FlowClassifier } from "./decoders/registry.ts";
export { Analyzer, type AnalyzerOptions, type TcpSegmentHook } from "./lib/flow/analyzer.ts";
export { analyzeFiles, type AnalyzeFilesOptions } from "./lib/flow/analyze_files.ts";
export { buildReport } from "./lib/flow/report.ts";
export { AnalyzeReport } from "./lib/flow/report_schema.ts";
export { Flow } from "./lib/flow/flow.ts";
export { TimingStats } from "./lib/flow/timing.ts";
export { frameFilter } from "./lib/flow/frame_filter.ts";
