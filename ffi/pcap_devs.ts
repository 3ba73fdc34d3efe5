/** Listing capture interfaces (pcap_findalldevs) with their addresses and flags. */
import { MppError } from "../lib/errors.ts";
import { cstr, ERRBUF_SIZE, errbufText, libpcap, PERMISSION_HINT } from "./libpcap_lib.ts";

export interface PcapAddress {
  family: "inet" | "inet6" | "packet" | number;
  /** Dotted quad, IPv6 text, or MAC address for AF_PACKET. */
  addr: string;
  netmask?: string;
}

export interface PcapInterface {
  name: string;
  description?: string;
  addresses: PcapAddress[];
  loopback: boolean;
  up: boolean;
  running: boolean;
  wireless: boolean;
}

/** pcap_findalldevs: pcap_if {next 0, name 8, description 16, addresses 24, flags 32}. */
export function findAllDevs(): PcapInterface[] {
  const { pcap } = libpcap();
  const pp = new BigUint64Array(1);
  const err = new Uint8Array(ERRBUF_SIZE);
  if (pcap.pcap_findalldevs(pp, err) !== 0) {
    throw new MppError("bad_capture", `cannot list interfaces: ${errbufText(err)}`, PERMISSION_HINT);
  }
  const head = Deno.UnsafePointer.create(pp[0]);
  const out: PcapInterface[] = [];
  for (let p = head; p;) {
    const v = new Deno.UnsafePointerView(p);
    const flags = v.getUint32(32);
    const addresses: PcapAddress[] = [];
    // pcap_addr {next 0, addr 8, netmask 16, broadaddr 24, dstaddr 32}
    for (let a = v.getPointer(24); a;) {
      const av = new Deno.UnsafePointerView(a);
      const addr = sockaddrText(av.getPointer(8));
      if (addr) {
        const mask = sockaddrText(av.getPointer(16));
        addresses.push(mask ? { ...addr, netmask: mask.addr } : addr);
      }
      a = av.getPointer(0);
    }
    out.push({
      name: cstr(v.getPointer(8)) ?? "",
      description: cstr(v.getPointer(16)),
      addresses,
      loopback: (flags & 1) !== 0,
      up: (flags & 2) !== 0,
      running: (flags & 4) !== 0,
      wireless: (flags & 8) !== 0,
    });
    p = v.getPointer(0);
  }
  if (head) pcap.pcap_freealldevs(head);
  return out;
}

function sockaddrText(p: Deno.PointerValue): PcapAddress | undefined {
  if (!p) return undefined;
  const v = new Deno.UnsafePointerView(p);
  const family = v.getUint16(0);
  if (family === 2) {
    return { family: "inet", addr: [4, 5, 6, 7].map((i) => v.getUint8(i)).join(".") };
  }
  if (family === 10) {
    const words: string[] = [];
    for (let i = 0; i < 8; i++) {
      words.push(((v.getUint8(8 + 2 * i) << 8) | v.getUint8(9 + 2 * i)).toString(16));
    }
    return { family: "inet6", addr: words.join(":").replace(/(^|:)0(:0)+(:|$)/, "::") };
  }
  if (family === 17) {
    // sockaddr_ll: sll_halen at 11, sll_addr at 12
    const n = Math.min(v.getUint8(11), 8);
    const bytes: string[] = [];
    for (let i = 0; i < n; i++) bytes.push(v.getUint8(12 + i).toString(16).padStart(2, "0"));
    return { family: "packet", addr: bytes.join(":") };
  }
  return { family, addr: "" };
}
