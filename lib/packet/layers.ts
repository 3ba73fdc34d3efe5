/**
 * Numeric layer ids. A decoded Packet records the stack of layers it passed through (outermost
 * first) as these numbers, so protocol-hierarchy statistics and flow summaries work on integers
 * instead of strings. `LAYER_NAMES` gives the short names tshark's io,phs uses.
 */
export const Layer = {
  ETH: 1,
  VLAN: 2,
  MPLS: 3,
  SLL: 4,
  SLL2: 5,
  NULL: 6,
  RAW: 7,
  ARP: 8,
  IPV4: 9,
  IPV6: 10,
  ICMP: 11,
  ICMPV6: 12,
  IGMP: 13,
  TCP: 14,
  UDP: 15,
  GRE: 16,
  VXLAN: 17,
  LLC: 18,
  PPP: 19,
  IPV6_FRAG: 20,
  SCTP: 21,
  GTP: 22,
  ESP: 23,
  ETHERTYPE_OTHER: 24,
  FCS: 25,
  /** An 802.1ad (0x88a8) service tag; tshark names it ieee8021ad, a 0x8100 tag stays VLAN. */
  QINQ: 26,
  /** Pseudo-layer for payload no decoder claimed (tshark's "data"), e.g. non-final IP fragments. */
  DATA: 27,
  /** IP-in-IP (protocol 4 or 41): only used as `Packet.tunnel`, never pushed as a layer. */
  IPIP: 28,
  /** Application layers are numbered from here on by the decoder registry. */
  APP_BASE: 64,
} as const;

export type LayerId = number;

/** Short names as in `tshark -z io,phs` (eth, vlan, mpls, sll, ip, ipv6, tcp, udp, ...). */
export const LAYER_NAMES: Record<number, string> = {
  [Layer.ETH]: "eth",
  [Layer.VLAN]: "vlan",
  [Layer.MPLS]: "mpls",
  [Layer.SLL]: "sll",
  [Layer.SLL2]: "sll",
  [Layer.NULL]: "null",
  [Layer.RAW]: "raw",
  [Layer.ARP]: "arp",
  [Layer.IPV4]: "ip",
  [Layer.IPV6]: "ipv6",
  [Layer.ICMP]: "icmp",
  [Layer.ICMPV6]: "icmpv6",
  [Layer.IGMP]: "igmp",
  [Layer.TCP]: "tcp",
  [Layer.UDP]: "udp",
  [Layer.GRE]: "gre",
  [Layer.VXLAN]: "vxlan",
  [Layer.LLC]: "llc",
  [Layer.PPP]: "ppp",
  [Layer.IPV6_FRAG]: "ipv6.fraghdr",
  [Layer.SCTP]: "sctp",
  [Layer.GTP]: "gtp",
  [Layer.ESP]: "esp",
  [Layer.ETHERTYPE_OTHER]: "data",
  [Layer.FCS]: "fcs",
  [Layer.QINQ]: "ieee8021ad",
  [Layer.DATA]: "data",
  [Layer.IPIP]: "ipip",
};

/** LINKTYPE_* values mpp decodes (https://www.tcpdump.org/linktypes.html). */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

/** EtherTypes the link layer and decoders dispatch on. */
export const EtherType = {
  IPV4: 0x0800,
  ARP: 0x0806,
  RARP: 0x8035,
  VLAN: 0x8100,
  QINQ: 0x88a8,
  QINQ_OLD: 0x9100,
  IPV6: 0x86dd,
  MPLS: 0x8847,
  MPLS_MC: 0x8848,
  PTP: 0x88f7,
  ETHERCAT: 0x88a4,
  PROFINET: 0x8892,
  TEB: 0x6558,
  PPP: 0x880b,
  LLDP: 0x88cc,
} as const;

export const IpProto = {
  HOPOPT: 0,
  ICMP: 1,
  IGMP: 2,
  IPIP: 4,
  TCP: 6,
  UDP: 17,
  IPV6: 41,
  ROUTING: 43,
  FRAGMENT: 44,
  GRE: 47,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  NONE: 59,
  DSTOPTS: 60,
  SCTP: 132,
} as const;
