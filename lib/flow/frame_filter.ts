import { BpfFilter, compileFilter } from "../filter/mod.ts";

/**
 * A tcpdump filter expression as the Analyzer's frame filter: compiled by libpcap once per link
 * type (a pcapng file may mix several), then run in TypeScript with no FFI call per packet, so
 * `mpp analyze -f EXPR` keeps exactly tcpdump's semantics.
 */
export function frameFilter(expr: string): (data: Uint8Array, origLen: number, linkType: number) => boolean {
  const byLinkType = new Map<number, BpfFilter>();
  let lastType = -1;
  let last: BpfFilter | undefined;
  // Compile for Ethernet up front so a syntax error stops the run before any file is read.
  byLinkType.set(1, new BpfFilter(compileFilter(expr, 1)));
  return (data, origLen, linkType) => {
    if (linkType !== lastType) {
      let f = byLinkType.get(linkType);
      if (f === undefined) byLinkType.set(linkType, f = new BpfFilter(compileFilter(expr, linkType)));
      last = f;
      lastType = linkType;
    }
    return last!.matches(data, origLen);
  };
}
