/**
 * Filter expressions are compiled by libpcap itself (pcap_open_dead for the link type, pcap_compile
 * with the optimizer), so mpp accepts exactly tcpdump's language and produces tcpdump's program.
 */
import { MppError } from "../errors.ts";
import { PcapHandle } from "../../ffi/libpcap.ts";
import { type BpfProgram, makeProgram } from "./program.ts";

/** Default snapshot length, as tcpdump's and dumpcap's. */
export const DEFAULT_SNAPLEN = 262144;

/**
 * pcap_open_dead takes a DLT_* value; files carry LINKTYPE_* values. They are equal except for the few
 * that libpcap remaps (pcap-common.c linktype_to_dlt): LINKTYPE_ATM_RFC1483 and LINKTYPE_RAW.
 */
export function linkTypeToDlt(linkType: number): number {
  if (linkType === 100) return 11; // LINKTYPE_ATM_RFC1483 → DLT_ATM_RFC1483
  if (linkType === 101) return 12; // LINKTYPE_RAW → DLT_RAW (Linux value)
  return linkType;
}

/**
 * Compiles `expr` for a LINKTYPE_* value. Errors: MppError("bad_usage") with libpcap's message
 * (e.g. `syntax error in filter expression`, `unknown host 'x'`) and a hint on the syntax.
 */
export function compileFilter(expr: string, linkType: number, snaplen: number = DEFAULT_SNAPLEN): BpfProgram {
  if (!Number.isInteger(linkType) || linkType < 0 || linkType > 0xffff) {
    throw new MppError(
      "bad_usage",
      `cannot compile a filter for link type ${linkType}`,
      "use a LINKTYPE_* value",
    );
  }
  if (!Number.isInteger(snaplen) || snaplen <= 0) {
    throw new MppError(
      "bad_usage",
      `bad snaplen ${snaplen} for the filter`,
      "use a positive number of bytes",
    );
  }
  using h = PcapHandle.openDead(linkTypeToDlt(linkType), snaplen);
  using code = h.compile(expr);
  return makeProgram(code.instructions(), { expr, linkType, snaplen });
}
