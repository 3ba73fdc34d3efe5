import { CaptureRecord } from "../capture/record.ts";

/**
 * One decoded frame. The decoder fills a single Packet per pipeline and overwrites it for every
 * frame (gopacket's DecodingLayerParser idea): no per-packet allocation on the common path.
 * Offsets index `data`; -1 means "layer absent". Consumers copy what they keep.
 *
 * Addresses are kept as numbers: IPv4 in word 0 of `src`/`dst` (words 1-3 zero), IPv6 as four
 * big-endian 32-bit words. For frames without IP, `src`/`dst` words 0-1 hold the MAC addresses
 * (32 high bits, 16 low bits) when `hasMac` is set and no IP layer exists.
 */
export class Packet {
  // --- record ---
  /** The bytes decoded: the captured frame, or a reassembled IP datagram's frame (see `reassembled`). */
  data: Uint8Array = new Uint8Array(0);
  caplen = 0;
  origLen = 0;
  tsSec = 0;
  tsNsec = 0;
  linkType = 0;
  interfaceId = 0;
  index = 0;
  /** Some layer ended before its header or declared length did because of the snaplen. */
  truncated = false;
  /** A header was inconsistent (bad version, length below minimum...): decoding stopped there. */
  malformed = false;

  // --- layer stack (outermost first), for io,phs and summaries ---
  readonly layers: Uint8Array = new Uint8Array(32);
  depth = 0;

  // --- link ---
  l2Off = -1;
  hasMac = false;
  /** Offsets of the destination and source MAC addresses (Ethernet, or SLL's source address). */
  dstMacOff = -1;
  srcMacOff = -1;
  /** EtherType after VLAN/MPLS tags: what the network layer is (0 if unknown). */
  etherType = 0;
  /** VLAN tags, outermost first (ids only, 12 bits). */
  vlanCount = 0;
  readonly vlanIds: Uint16Array = new Uint16Array(4);
  mplsCount = 0;
  /** Label of the top (first) MPLS entry. */
  mplsLabel = 0;

  // --- network ---
  l3Off = -1;
  /** 0 (none), 4 or 6 — of the innermost IP header. */
  ipVersion = 0;
  /** Transport protocol number after IPv6 extension headers; -1 without IP. */
  ipProto = -1;
  ipHdrLen = 0;
  /** IPv4 total length / IPv6 40 + payload length, as the header states it. */
  ipTotalLen = 0;
  ttl = 0;
  readonly src: Uint32Array = new Uint32Array(4);
  readonly dst: Uint32Array = new Uint32Array(4);
  /**
   * IPv6 with a routing header that has segments left: the final destination it names (type 0's
   * last address, type 2's home address, type 4's segment list[0]), which the transport checksum
   * covers and the transport conversation is between (RFC 8200 8.1). `routed` says it is set.
   */
  readonly finalDst: Uint32Array = new Uint32Array(4);
  routed = false;

  /** The transport's peer: the final destination behind a routing header, else the destination. */
  get transportDst(): Uint32Array {
    return this.routed ? this.finalDst : this.dst;
  }
  /** This frame is an IP fragment that did not (yet) complete a datagram: no transport layer. */
  isFragment = false;
  /** This frame completed an IP datagram; `data` now holds the reassembled frame. */
  reassembled = false;

  // --- tunnels: the outer addresses when the innermost IP came through GRE / VXLAN / GTP / IP-in-IP ---
  /** 0 none, else the Layer id of the tunnel (Layer.GRE, Layer.VXLAN, ...). */
  tunnel = 0;
  outerIpVersion = 0;
  readonly outerSrc: Uint32Array = new Uint32Array(4);
  readonly outerDst: Uint32Array = new Uint32Array(4);
  /** VXLAN VNI or GRE key, when present. */
  tunnelId = 0;
  /**
   * The tunnel id when it names the tunnel both ways (VXLAN VNI, GRE key), else 0: each direction
   * of a GTP-U bearer has its own TEID and PPTP's GRE carries the peer's call id, so keyed by
   * them a connection's two directions would be two flows (tshark's tcp.stream and Zeek ignore
   * the tunnel id altogether).
   */
  tunnelKey = 0;
  /** The outer UDP ports of a tunnel carried over UDP (VXLAN, GTP-U); -1 for GRE and IP-in-IP. */
  outerSrcPort = -1;
  outerDstPort = -1;
  /** The outer Ethernet's MAC offsets when the tunnel carries Ethernet (VXLAN, GRE 0x6558); else -1. */
  outerSrcMacOff = -1;
  outerDstMacOff = -1;

  // --- transport ---
  l4Off = -1;
  srcPort = 0;
  dstPort = 0;
  /** TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20, ECE 0x40, CWR 0x80). */
  tcpFlags = 0;
  /** Unsigned 32-bit sequence and acknowledgement numbers. */
  tcpSeq = 0;
  tcpAck = 0;
  tcpWindow = 0;
  tcpHdrLen = 0;
  /** TCP options of this segment; -1 when absent. */
  tcpMss = -1;
  tcpWscale = -1;
  tcpSackPermitted = false;
  tcpTsVal = -1;
  tcpTsEcr = -1;
  /** SACK blocks: left/right edges pairwise. */
  tcpSackCount = 0;
  readonly tcpSack: Uint32Array = new Uint32Array(8);
  icmpType = -1;
  icmpCode = -1;
  igmpType = -1;
  /** Group address of an IGMP message (IPv4, host order as a number) or 0. */
  igmpGroup = 0;

  // --- payload of the innermost transport (or of the link layer for non-IP ethertypes) ---
  payloadOff = -1;
  /** Bytes of payload actually captured. */
  payloadLen = 0;
  /** Bytes of payload on the wire (from IP/UDP lengths), >= payloadLen when truncated. */
  payloadWireLen = 0;

  /** Reset every field a decode may set; called by the decoder at the start of each frame. */
  reset(rec: CaptureRecord): void {
    this.data = rec.data;
    this.caplen = rec.data.length;
    this.origLen = rec.origLen;
    this.tsSec = rec.tsSec;
    this.tsNsec = rec.tsNsec;
    this.linkType = rec.linkType;
    this.interfaceId = rec.interfaceId;
    this.index = rec.index;
    this.truncated = false;
    this.malformed = false;
    this.depth = 0;
    this.l2Off = -1;
    this.hasMac = false;
    this.dstMacOff = -1;
    this.srcMacOff = -1;
    this.etherType = 0;
    this.vlanCount = 0;
    this.mplsCount = 0;
    this.mplsLabel = 0;
    this.l3Off = -1;
    this.ipVersion = 0;
    this.ipProto = -1;
    this.ipHdrLen = 0;
    this.ipTotalLen = 0;
    this.ttl = 0;
    // Element stores: TypedArray.fill costs a builtin call per array, a third of reset's time.
    const s = this.src;
    const d = this.dst;
    s[0] =
      s[1] =
      s[2] =
      s[3] =
        0;
    d[0] =
      d[1] =
      d[2] =
      d[3] =
        0;
    this.routed = false;
    this.isFragment = false;
    this.reassembled = false;
    this.tunnel = 0;
    this.outerIpVersion = 0;
    this.tunnelId = 0;
    this.tunnelKey = 0;
    this.outerSrcPort = -1;
    this.outerDstPort = -1;
    this.outerSrcMacOff = -1;
    this.outerDstMacOff = -1;
    this.l4Off = -1;
    this.srcPort = 0;
    this.dstPort = 0;
    this.tcpFlags = 0;
    this.tcpSeq = 0;
    this.tcpAck = 0;
    this.tcpWindow = 0;
    this.tcpHdrLen = 0;
    this.tcpMss = -1;
    this.tcpWscale = -1;
    this.tcpSackPermitted = false;
    this.tcpTsVal = -1;
    this.tcpTsEcr = -1;
    this.tcpSackCount = 0;
    this.icmpType = -1;
    this.icmpCode = -1;
    this.igmpType = -1;
    this.igmpGroup = 0;
    this.payloadOff = -1;
    this.payloadLen = 0;
    this.payloadWireLen = 0;
  }

  pushLayer(id: number): void {
    if (this.depth < this.layers.length) this.layers[this.depth++] = id;
  }

  /** The payload bytes as a view (allocates a view object: use payloadOff/payloadLen on hot paths). */
  payload(): Uint8Array {
    return this.payloadOff < 0
      ? this.data.subarray(0, 0)
      : this.data.subarray(this.payloadOff, this.payloadOff + this.payloadLen);
  }
}

export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;
