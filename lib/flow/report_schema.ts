import { z } from "zod";

/**
 * The versioned JSON report of `mpp analyze --json` (schema "mpp.analyze/1"). Timestamps are exact
 * epoch strings ("1700000000.123456789"); durations and inter-arrival statistics are seconds as
 * numbers, rounded to the nanosecond (the timestamps' resolution). Additive changes keep the
 * version; renames or removals bump it.
 */
export const Timing = z.object({
  packets: z.number().int(),
  bytes: z.number(),
  first: z.string().describe("epoch seconds with 9 decimals"),
  last: z.string(),
  duration: z.number().describe("seconds, rounded to the nanosecond like every timing figure here"),
  iatMin: z.number().nullable().describe("minimum inter-arrival time, s (null below 2 packets)"),
  iatMean: z.number().nullable(),
  iatMax: z.number().nullable(),
  iatStddev: z.number().nullable(),
  jitter: z.number().nullable().describe("RFC 3550-style smoothed |Δ inter-arrival|, s"),
});

export const PacketTypeReport = Timing.extend({ name: z.string() });

export const EncodingReport = Timing.extend({
  first: z.string().nullable().describe(
    "epoch seconds with 9 decimals; null when the decoder counted no message (HTTP with --no-reassembly)",
  ),
  last: z.string().nullable(),
  name: z.string(),
  label: z.string(),
  confidence: z.number(),
  evidence: z.string().describe("decode-as | structure | payload | port | ethertype"),
  detail: z.string(),
  malformed: z.number().int(),
  packetTypes: z.array(PacketTypeReport),
  session: z.record(z.string(), z.unknown()).optional(),
});

export const EndpointSide = z.object({
  address: z.string(),
  port: z.number().int().nullable(),
  packets: z.number().int(),
  bytes: z.number(),
  payloadBytes: z.number(),
  ipBytes: z.number(),
});

export const TransportReport = Timing.extend({
  name: z.string().describe("TCP, UDP, ICMP, ICMPv6, IGMP, GRE, IP fragments, or the EtherType for L2 flows"),
  connState: z.string().optional().describe("Zeek conn_state"),
  history: z.string().optional().describe("Zeek history letters"),
});

/** lib/tcp's reassembly counters (per flow: summed over its connections, both directions). */
export const TcpCountersReport = z.object({
  streams: z.number().int().describe("connections (a reused 4-tuple counts again)"),
  segments: z.number().int(),
  dataSegments: z.number().int(),
  bytes: z.number().describe("payload bytes delivered in order"),
  retransmitted: z.number().int().describe("segments whose data was all seen before"),
  retransmittedBytes: z.number(),
  duplicates: z.number().int().describe("segments repeating the previous one exactly"),
  outOfOrder: z.number().int(),
  overlapSegments: z.number().int(),
  overlapBytes: z.number().describe("bytes received again with new ranges (first data wins)"),
  gaps: z.number().int(),
  missedBytes: z.number().describe("bytes never captured (Zeek missed_bytes)"),
  capSkips: z.number().int().describe("holes given up because a memory cap was reached"),
  zeroWindow: z.number().int(),
});

export const HttpTransactionReport = z.object({
  flow: z.number().int(),
  stream: z.number().int().nullable().describe("tshark's tcp.stream"),
  method: z.string().nullable().describe("null: response without its request"),
  host: z.string(),
  uri: z.string(),
  version: z.string(),
  status: z.number().int().nullable().describe("null: no response seen"),
  interim: z.array(z.number().int()).describe("1xx responses before the final one"),
  reqHeaderBytes: z.number().int(),
  reqBodyBytes: z.number(),
  respHeaderBytes: z.number().int(),
  respBodyBytes: z.number().describe("body bytes after de-chunking, before content decoding"),
  contentType: z.string(),
  contentEncoding: z.string(),
  start: z.number().nullable().describe("request start, seconds since the capture's first packet"),
  firstByte: z.number().nullable().describe("request end to first response byte, s"),
  total: z.number().nullable().describe("request start to response end, s"),
  complete: z.boolean().describe("both messages seen whole"),
});

export const FlowReport = z.object({
  id: z.number().int(),
  label: z.string().describe("orig → resp as one line"),
  traffic: z.enum(["unicast", "multicast", "broadcast"]),
  vlan: z.number().int().nullable(),
  tunnelId: z.number().int().nullable(),
  orig: EndpointSide,
  resp: EndpointSide,
  packets: z.number().int(),
  bytes: z.number(),
  first: z.string(),
  last: z.string(),
  duration: z.number(),
  transport: TransportReport,
  encodings: z.array(EncodingReport),
  tcpStreams: TcpCountersReport.optional().describe("TCP reassembly counters (lib/tcp)"),
});

export const ConversationReport = z.object({
  a: z.string(),
  b: z.string(),
  aToBPackets: z.number().int(),
  aToBBytes: z.number(),
  bToAPackets: z.number().int(),
  bToABytes: z.number(),
  packets: z.number().int(),
  bytes: z.number(),
  relStart: z.number(),
  duration: z.number(),
});

export const EndpointReport = z.object({
  address: z.string(),
  packets: z.number().int(),
  bytes: z.number(),
  txPackets: z.number().int(),
  txBytes: z.number(),
  rxPackets: z.number().int(),
  rxBytes: z.number(),
});

export const ConvType = z.enum(["eth", "ip", "ipv6", "tcp", "udp"]);
export type ConvType = z.infer<typeof ConvType>;

export const RtpStreamReport = z.object({
  flow: z.number().int(),
  src: z.string(),
  dst: z.string(),
  ssrc: z.number().int(),
  payloadType: z.number().int().optional(),
  packets: z.number().int(),
  lost: z.number().int(),
}).loose();

export const FileReport = z.object({
  path: z.string(),
  format: z.string().nullable(),
  packets: z.number().int(),
  bytesRead: z.number(),
  compressed: z.boolean(),
  linkTypes: z.array(z.number().int()),
  issues: z.array(z.object({ offset: z.number(), message: z.string(), fatal: z.boolean() })),
});

export const AnalyzeReport = z.object({
  schema: z.literal("mpp.analyze/1"),
  generator: z.object({ name: z.literal("mpp"), version: z.string() }),
  files: z.array(FileReport),
  summary: z.object({
    packets: z.number().int(),
    bytes: z.number(),
    first: z.string().nullable(),
    last: z.string().nullable(),
    duration: z.number(),
    flows: z.number().int(),
    flowsShown: z.number().int(),
    truncated: z.number().int(),
    malformed: z.number().int(),
    filteredOut: z.number().int(),
  }),
  flows: z.array(FlowReport),
  phs: z.array(z.object({ path: z.string(), packets: z.number().int(), bytes: z.number() })),
  conversations: z.record(ConvType, z.array(ConversationReport)),
  endpoints: z.record(ConvType, z.array(EndpointReport)),
  io: z.object({
    interval: z.number(),
    rows: z.array(z.object({ start: z.number(), end: z.number(), frames: z.number(), bytes: z.number() })),
    outOfRange: z.number().int().describe(
      "frames not counted: earlier than the first frame, or past the last of 1,000,000 intervals",
    ),
  }).optional(),
  rtp: z.object({ streams: z.array(RtpStreamReport) }),
  tcp: z.object({
    counters: TcpCountersReport,
    limits: z.object({
      perDirection: z.number().int(),
      globalLimit: z.number().int(),
      gapWindow: z.number().int(),
      gapTimeout: z.number(),
      idleTimeout: z.number(),
    }),
    peakBuffered: z.number().int().describe(
      "most out-of-order bytes held at once, all connections (with --threads: the sum of the shards' peaks)",
    ),
  }).optional(),
  http: z.object({
    requests: z.number().int(),
    responses: z.number().int(),
    count: z.number().int().describe("transactions (request/response pairs, or unpaired messages) seen"),
    dropped: z.number().int().describe("transactions not listed (per-flow cap)"),
    transactions: z.array(HttpTransactionReport).describe(
      "listed with --http (analyzeFiles httpTransactions)",
    ),
  }).optional(),
});
export type AnalyzeReport = z.infer<typeof AnalyzeReport>;
export type FlowReport = z.infer<typeof FlowReport>;
export type TcpCountersReport = z.infer<typeof TcpCountersReport>;
export type HttpTransactionReport = z.infer<typeof HttpTransactionReport>;
export type ConversationReport = z.infer<typeof ConversationReport>;
export type EndpointReport = z.infer<typeof EndpointReport>;
